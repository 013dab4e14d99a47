"""Router mode against a real llama-server started with --models-dir over two tiny models: the
model picker lists them with their state, loads and unloads on request, requests name the chosen
model, and each session remembers its model."""

from __future__ import annotations

from llama_tui.client import LlamaCppClient
from llama_tui.screens.model_picker import ModelPickerScreen
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for, wait_for_answer


async def statuses(url: str) -> dict[str, str]:
    async with LlamaCppClient(url) as client:
        return {m.id: m.status for m in await client.models()}


async def test_model_picker_loads_unloads_and_sessions_remember_models(router_server, make_app) -> None:
    app = make_app(router_server.url, default_template="chatml", default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.router_mode)
        # Sending without a model is refused with a clear message, and the text stays.
        screen.query_one(Composer).insert("hello")
        await pilot.press("enter")
        assert screen.query_one(Composer).text == "hello" and not screen.query(MessageView)

        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen) and len(app.screen.models) == 2)
        picker = app.screen
        assert {m.id for m in picker.models} == {"chatml", "llama3"}
        picker.query_one("OptionList").highlighted = [m.id for m in picker.models].index("llama3")
        await pilot.press("l")
        await wait_for(pilot, lambda: any(m.id == "llama3" and m.status == "loaded" for m in picker.models), 30)
        await pilot.press("u")
        await wait_for(pilot, lambda: any(m.id == "llama3" and m.status == "unloaded" for m in picker.models), 30)
        picker.query_one("OptionList").highlighted = [m.id for m in picker.models].index("chatml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.session.model == "chatml")
        await wait_for(pilot, lambda: screen.props is not None and screen.props.n_ctx > 0)
        assert "chatml" in str(screen.query_one("#status-model").render())

        screen.query_one(Composer).focus()
        await pilot.press("enter")
        view = await wait_for_answer(pilot, 30)
        assert view.message.state == "complete"
        assert view.message.settings["model"] == "chatml"
        assert (await statuses(router_server.url))["chatml"] == "loaded"
        first = screen.session.id
        assert app.store.get_session(first).model == "chatml"

        # A second session on the other model; switching back restores the first one's model.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        screen.session.model = "llama3"
        app.store.update_session(screen.session)
        await screen.open_session(first)
        assert app.client.model == "chatml"
        second = next(s.id for s in app.store.list_sessions() if s.id != first)
        await screen.open_session(second)
        assert app.client.model == "llama3"
