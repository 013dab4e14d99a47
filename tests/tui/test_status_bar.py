"""StatusBar: texts per server state, context meter classes, no markup from server text."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from llama_tui.server_state import ServerState
from llama_tui.widgets.status_bar import StatusBar, context_meter


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


def _text(app: App[None], name: str) -> str:
    return str(app.query_one(f"#status-{name}", Static).visual)


@pytest.mark.parametrize(
    ("state", "label", "css"),
    [
        (ServerState.OK, "ok", "-ok"),
        (ServerState.LOADING, "loading model", "-loading"),
        (ServerState.UNREACHABLE, "unreachable", "-unreachable"),
        (ServerState.AUTH_ERROR, "auth error", "-auth-error"),
        (ServerState.SLEEPING, "sleeping", "-sleeping"),
        (ServerState.UNKNOWN, "…", "-unknown"),
    ],
)
async def test_server_states(state: ServerState, label: str, css: str) -> None:
    app = BarApp()
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_server("http://127.0.0.1:8080", ServerState.OK)  # a previous state's class must go
        bar.set_server("http://127.0.0.1:8080", state)
        await pilot.pause()
        assert _text(app, "server") == f"http://127.0.0.1:8080 {label}"
        dot = app.query_one("#status-dot")
        assert dot.has_class(css)
        assert [s for s in ServerState if dot.has_class(s.css_class)] == [state]


async def test_detail_is_plain_text() -> None:
    app = BarApp()
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_server("http://h:1", ServerState.UNREACHABLE, "refused [bold]x[/bold]\x1b]0;evil\x07")
        bar.set_model("[red]model[/red].gguf", 4096)
        await pilot.pause()
        server = _text(app, "server")
        assert "[bold]x[/bold]" in server
        assert "\x1b" not in server and "\x07" not in server
        assert _text(app, "model") == "[red]model[/red].gguf"


async def test_model_slots_generation() -> None:
    app = BarApp()
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_model("qwen2.5-0.5b-instruct-q4_k_m.gguf", 4096)
        bar.set_slots(1, 4)
        bar.set_generation("gen 87 t/s")
        await pilot.pause()
        assert _text(app, "model") == "qwen2.5-0.5b-instruct-q4_k_m.gguf"
        assert _text(app, "context") == "ctx – / 4,096"
        assert _text(app, "slots") == "slots 1/4"
        assert _text(app, "generation") == "gen 87 t/s"
        bar.set_generation("")
        bar.set_model("", 0)
        await pilot.pause()
        assert _text(app, "generation") == ""
        assert _text(app, "model") == "no model"


@pytest.mark.parametrize(
    ("used", "warn", "full"),
    [(3235, False, False), (3482, True, False), (4096, False, True), (5000, False, True)],  # 79%, 85%, 100%, over
)
async def test_context_meter_classes(used: int, warn: bool, full: bool) -> None:
    app = BarApp()
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_context(used, 4096)
        await pilot.pause()
        context = app.query_one("#status-context")
        assert context.has_class("-warn") is warn
        assert context.has_class("-full") is full
        assert f"{used:,} / 4,096" in _text(app, "context")


def test_context_meter_text() -> None:
    assert context_meter(1234, 4096) == "██░░░░░░ 1,234 / 4,096"
    assert context_meter(None, 4096) == "– / 4,096"
    assert context_meter(10, 0) == "10"
    assert context_meter(9000, 4096).startswith("████████ ")
