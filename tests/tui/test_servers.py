"""Server integration in the app, against real llama-servers: a managed server started by
llama-tui, and named server profiles that sessions remember."""

from __future__ import annotations

from llama_tui.config import ServerProfile
from llama_tui.screens.monitor import ServerMonitorScreen
from llama_tui.server import ManagedServer
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from tests.harness.app import wait_for, wait_for_answer


async def test_managed_server_serves_the_app_and_the_monitor_shows_its_log(
    llama_server_bin, chatml_model, make_app, tmp_path
) -> None:
    server = ManagedServer(
        chatml_model, binary=str(llama_server_bin), args=["-c", "2048", "-t", "1"], log_path=tmp_path / "server.log"
    )
    server.start()
    try:
        app = make_app(server.url, default_settings={"n_predict": 4})
        app.managed_server = server
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.props is not None)
            assert screen.props.model_path == str(chatml_model)
            screen.query_one(Composer).insert("hello")
            await pilot.press("enter")
            view = await wait_for_answer(pilot)
            assert view.message.state == "complete"
            await pilot.press("f9")
            await wait_for(pilot, lambda: isinstance(app.screen, ServerMonitorScreen))
            monitor = app.screen
            await wait_for(
                pilot,
                lambda: (
                    "model loaded" in "\n".join(server.recent_lines(500)).lower()
                    or "listening" in "\n".join(server.recent_lines(500)).lower()
                ),
            )
            assert monitor.is_mounted
            await pilot.press("escape")
            assert app.screen is screen
    finally:
        server.terminate(2.0)
    assert server.returncode is not None


async def test_profiles_switch_servers_and_sessions_remember_theirs(llama_server, llama3_server, make_app) -> None:
    app = make_app(
        llama_server.url,
        default_settings={"n_predict": 4},
        servers={
            "chatml": ServerProfile(url=llama_server.url),
            "llama3": ServerProfile(url=llama3_server.url, default_template="llama3"),
        },
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.props is not None)
        first = screen.session.id
        await screen.server.switch_server("chatml")
        await wait_for(pilot, lambda: screen.props is not None and "chatml" in screen.props.model_path)
        assert app.store.get_session(first).server == "chatml"

        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        second = screen.session.id
        await screen.server.switch_server("llama3")
        await wait_for(pilot, lambda: screen.props is not None and "llama3" in screen.props.model_path)
        assert app.client.base_url == llama3_server.url
        assert "llama3" in str(screen.query_one("#status-model").render())
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id not in (first, second))
        assert screen.session.template == "llama3"  # the profile's default template

        await screen.open_session(first)  # remembers "chatml"
        await wait_for(pilot, lambda: app.client.base_url == llama_server.url and screen.props is not None)
        assert "chatml" in screen.props.model_path
        await screen.open_session(second)
        await wait_for(pilot, lambda: app.client.base_url == llama3_server.url)
