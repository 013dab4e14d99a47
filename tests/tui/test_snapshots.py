"""SVG snapshots of every screen and pane state, against a scripted fake llama-server.

Update them after an intended visual change with
    .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update
and look at the new SVGs in tests/tui/__snapshots__/ before committing them.

What keeps them deterministic:
- the app and the store run on a fixed clock (FIXED_NOW), so the sidebar's ages never change;
- the fake server (a FaultServer in a thread of its own: `snap_compare` runs the app in its own
  event loop) always gives the same answer with the same server-side timings, and its random port
  is shown as SHOWN_URL in the status bar;
- the client-side time to first token comes from a fake `perf_counter` (always TTFT_MS);
- the session switcher's ages use FIXED_NOW (it reads `time.time()` itself);
- cursors do not blink (pytest-textual-snapshot does not turn blinking off; a blinking cursor
  would be caught on or off depending on timing);
- each state is waited for (answer complete, context meter updated) before the snapshot.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

import llama_tui.chat.compare as compare_module
import llama_tui.client.api as client_api
import llama_tui.screens.session_switcher as session_switcher
from llama_tui.app import LlamaTui
from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.screens.compare import CompareScreen
from llama_tui.screens.main import MainScreen
from llama_tui.server_state import ServerState
from llama_tui.store import Store
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.status_bar import StatusBar
from tests.harness.app import FIXED_NOW, wait_for
from tests.harness.demo_server import COMPARE_SPEC, COMPARE_VARIANTS, DemoServer, answer_chunks

SIZE = (120, 36)
SHOWN_URL = "http://127.0.0.1:8080"  # what the status bar shows instead of the fake server's random port
UNREACHABLE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
TTFT_MS = 38.0

QUESTION = "How do I keep a llama happy?"
ANSWER = """\
## Keeping a llama happy

Llamas are herd animals, so the basics are:

- **Company**: never keep just one; two or three is a good start.
- **Space**: about an acre of pasture for a small herd.
- **Food**: grass hay, fresh water and a mineral supplement.

Track feeding with a few lines of Python:

```python
herd = {"Dolly": 2.5, "Pedro": 3.0}  # kg of hay a day
print(sum(herd.values()), "kg a day")
```
"""
# The answer ends on its own (eos) with these server-side figures.
TIMINGS = {
    "cache_n": 0,
    "prompt_n": 31,
    "prompt_ms": 25.7,
    "prompt_per_token_ms": 0.83,
    "prompt_per_second": 1204.3,
    "predicted_n": 118,
    "predicted_ms": 1351.7,
    "predicted_per_token_ms": 11.45,
    "predicted_per_second": 87.3,
}
# What arrives of an answer that then stalls until the user presses Escape.
PARTIAL = "Llamas are calm, social animals. Start with **two or more** of them and"

# (title, age in seconds, pinned) of the older sessions in the sidebar.
OLDER_SESSIONS = [
    ("System prompt experiments", 9 * 86400, True),
    ("Rust lifetimes, explained simply", 2 * 3600, False),
    ("Q4_K_M vs Q8_0 quantization", 26 * 3600, False),
    ("Three days in Lisbon", 3 * 86400, False),
    ("Regex for ISO 8601 dates", 15 * 86400, False),
    ("SQL window functions", 40 * 86400, False),
]


class SnapshotServer(DemoServer):
    """The demo server with this file's answer, or a partial one that stalls until cancelled."""

    def __init__(self) -> None:
        super().__init__(ANSWER, TIMINGS)

    async def stalled_answer(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for chunk in answer_chunks(PARTIAL):
            await resp.write(chunk)
        for _ in range(600):  # until the client hangs up (at most 30 s)
            if request.transport is None or request.transport.is_closing():
                break
            await asyncio.sleep(0.05)
        return resp


class ServerThread:
    """Runs a SnapshotServer on an event loop of its own: snap_compare runs the app with
    `App.run`, which makes (and ends) its own loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="snapshot-server", daemon=True)
        self.server: SnapshotServer | None = None

    def __enter__(self) -> SnapshotServer:
        self.thread.start()

        async def start() -> SnapshotServer:
            server = SnapshotServer()
            await server.__aenter__()
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.__aexit__(None, None, None), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(autouse=True)
def _fixed_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Client-side TTFT: every perf_counter() reading is TTFT_MS after the previous one.
    ticks = itertools.count()
    fake_perf_counter = lambda: next(ticks) * TTFT_MS / 1000.0  # noqa: E731
    monkeypatch.setattr(client_api, "time", types.SimpleNamespace(**{**vars(time), "perf_counter": fake_perf_counter}))
    # The switcher is built without `now` and falls back to time.time().
    monkeypatch.setattr(session_switcher, "time", types.SimpleNamespace(**{**vars(time), "time": lambda: FIXED_NOW}))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SnapshotServer]:
    with ServerThread() as fake:
        real_set_server = StatusBar.set_server

        def set_server(bar: StatusBar, url: str, state: ServerState, detail: str = "") -> None:
            shown = SHOWN_URL if url == fake.url else url
            real_set_server(bar, shown, state, detail.replace(fake.url, SHOWN_URL))

        monkeypatch.setattr(StatusBar, "set_server", set_server)
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Older sessions (one pinned) with fixed timestamps, and an empty newest session that the app
    opens at start. Writes made while the app runs are stamped FIXED_NOW."""
    now = [0.0]
    store = Store.open(tmp_path / "snapshots.sqlite3", clock=lambda: now[0])
    for title, age, pinned in reversed(OLDER_SESSIONS):
        now[0] = FIXED_NOW - age
        session = store.create_session(Session(title=title, template="chatml", pinned=pinned))
        store.add_message(ChatMessage(role="user", content=f"About {title.lower()}", session_id=session.id))
    now[0] = FIXED_NOW - 30
    store.create_session(
        Session(
            template="chatml",
            system_prompt="You are a friendly expert on camelids. Answer briefly.",
            settings=SamplingSettings.from_dict({"temperature": 0.7, "n_predict": 512}),
        )
    )
    now[0] = FIXED_NOW
    yield store
    store.close()


def add_conversation(store: Store) -> None:
    """Give the newest session a finished exchange, as if answered earlier."""
    session_id = newest_session(store)
    store.rename_session(session_id, QUESTION.rstrip("?"))
    user = store.add_message(ChatMessage(role="user", content=QUESTION, session_id=session_id))
    store.add_message(
        ChatMessage(
            role="assistant",
            content=ANSWER,
            session_id=session_id,
            parent_id=user.id,
            timings=TIMINGS,
            stop_type="eos",
            ttft_ms=TTFT_MS,
        )
    )


@pytest.fixture
def app(make_app: Callable[..., LlamaTui], server: SnapshotServer, store: Store) -> LlamaTui:
    return open_newest(
        make_app(
            server.url,
            store=store,
            clock=lambda: FIXED_NOW,
            default_template="chatml",
            presets={"precise": {"temperature": 0.2, "top_p": 0.9}},
        )
    )


def open_newest(app: LlamaTui) -> LlamaTui:
    """Start in the newest session (by default the app opens the first listed: a pinned one)."""
    app.initial_session = newest_session(app.store)
    return app


def newest_session(store: Store) -> int:
    return max(s.id for s in store.list_sessions())


# -- driving the app ---------------------------------------------------------------------------

RunBefore = Callable[[Pilot[Any]], Awaitable[None]]


def main_screen(app: LlamaTui) -> MainScreen | None:
    try:
        return app.main
    except LookupError:
        return None


def steady_cursors(app: LlamaTui) -> None:
    """Stop every cursor blinking (a focused one stays visible), on all screens."""
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            assert isinstance(widget, Input | TextArea)
            widget.cursor_blink = False


def context_settled(app: LlamaTui, server: SnapshotServer) -> bool:
    """The context meter shows the last /tokenize answer and no update is pending."""
    screen = app.main
    pending = [w for w in app.workers if w.node is screen and w.group == "context" and not w.is_finished]
    used = screen.query_one(StatusBar).context_used
    return not pending and used is not None and used == server.last_token_count


async def started(pilot: Pilot[Any], server: SnapshotServer | None) -> MainScreen:
    """Wait until the session is open and, with a server, everything it reports is shown."""
    app = pilot.app
    assert isinstance(app, LlamaTui)
    await wait_for(pilot, lambda: (s := main_screen(app)) is not None and s.session is not None)
    screen = app.main
    if server is None:
        await wait_for(pilot, lambda: screen.server_state is ServerState.UNREACHABLE)
    else:
        bar = screen.query_one(StatusBar)
        await wait_for(
            pilot,
            lambda: (
                screen.server_state is ServerState.OK
                and screen.props is not None
                and "slots" in str(bar.query_one("#status-slots").render())
                and context_settled(app, server)
            ),
        )
    steady_cursors(app)
    return screen


async def send(pilot: Pilot[Any], text: str) -> MainScreen:
    screen = pilot.app.main
    composer = screen.query_one(Composer)
    composer.focus()
    composer.insert(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
    return screen


async def settle(pilot: Pilot[Any]) -> None:
    """Last step of every run_before: no blinking cursors anywhere, and a full refresh."""
    steady_cursors(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def after_start(
    server: SnapshotServer | None, *keys: str, ready: Callable[[LlamaTui], bool] | None = None
) -> RunBefore:
    """Start, press `keys`, wait for `ready(app)`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, server)
        if keys:
            await pilot.press(*keys)
        if ready is not None:
            app = pilot.app
            await wait_for(pilot, lambda: ready(app))  # type: ignore[arg-type]
        await settle(pilot)

    return run_before


def modal_open(name: str) -> Callable[[LlamaTui], bool]:
    return lambda app: type(app.screen).__name__ == name and app.screen.is_mounted


# -- the snapshots -------------------------------------------------------------------------------


def test_conversation(snap_compare: Any, app: LlamaTui, server: SnapshotServer) -> None:
    """A question sent from the composer and the streamed markdown answer (heading, list, code
    fence), with the server's figures under it; sidebar with ages; context meter and slots."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await started(pilot, server)
        await send(pilot, QUESTION)
        await wait_for(
            pilot,
            lambda: (
                not screen.is_generating
                and screen.query(MessageView)[-1].message.state == "complete"
                and context_settled(app, server)
            ),
        )
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_settings_pane(snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store) -> None:
    """ctrl+t: the settings pane with the session's template, system prompt, two changed knobs
    (marked) and the server's defaults as placeholders."""
    add_conversation(store)
    assert snap_compare(app, terminal_size=SIZE, run_before=after_start(server, "ctrl+t"))


def test_help_screen(snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store) -> None:
    """F1: every key binding of the main screen and the app."""
    add_conversation(store)
    run_before = after_start(server, "f1", ready=modal_open("HelpScreen"))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_session_switcher(snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store) -> None:
    """ctrl+k and "ls": fuzzy matches with the matched letters highlighted, and their ages."""
    add_conversation(store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, server)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: modal_open("SessionSwitcher")(app))
        await pilot.press("l", "s")
        await wait_for(pilot, lambda: app.screen.query_one("#switcher-input", Input).value == "ls")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_delete_confirm(snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store) -> None:
    """F8: the delete question naming the session, Delete focused."""
    add_conversation(store)
    run_before = after_start(server, "f8", ready=modal_open("ConfirmScreen"))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rename_prompt(snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store) -> None:
    """F2: the rename prompt holding the current title."""
    add_conversation(store)
    run_before = after_start(server, "f2", ready=modal_open("TextPromptScreen"))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_interrupted_answer(snap_compare: Any, app: LlamaTui, server: SnapshotServer) -> None:
    """Escape while the answer streams: the partial text stays, the footer says interrupted."""
    server.completion = server.stalled_answer

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await started(pilot, server)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].text == PARTIAL)
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: not screen.is_generating and screen.query(MessageView)[-1].message.state == "interrupted",
        )
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_unreachable_server(snap_compare: Any, make_app: Callable[..., LlamaTui], store: Store) -> None:
    """Nothing listens at the server URL: red dot, "unreachable" and the reason; no model."""
    add_conversation(store)
    app = open_newest(make_app(UNREACHABLE_URL, store=store, clock=lambda: FIXED_NOW, default_template="chatml"))
    assert snap_compare(app, terminal_size=SIZE, run_before=after_start(None))


def test_compare_screen(
    snap_compare: Any, app: LlamaTui, server: SnapshotServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+o after an exchange: a temperature sweep with one seed for all, three answers side by
    side with the server's figures, the summary table, the second column focused."""
    add_conversation(store)
    server.variants = COMPARE_VARIANTS
    monkeypatch.setattr(compare_module, "SEEDS", random.Random(7))  # the shared seed in the header

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await started(pilot, server)
        composer = screen.query_one(Composer)
        composer.focus()
        composer.insert("And what do they eat?")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.is_mounted)
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        compare.query_one("#compare-targets", Input).value = COMPARE_SPEC
        await pilot.press("enter")  # in the prompt: run
        await wait_for(pilot, lambda: compare.ended)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
