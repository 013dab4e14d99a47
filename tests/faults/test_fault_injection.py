"""Issue #5, case 9: markup and escape injection. Model output, session titles and server error
messages are untrusted: shown as literal text, never interpreted as Textual markup, never sent to
the terminal as control sequences, never able to trigger an app action; links open only when the
user chooses to.

"Sent to the terminal" is checked on exactly what Textual's driver would write for the screen
(`terminal_output`): after removing Textual's own cursor/colour sequences, no control character
may be left.
"""

from __future__ import annotations

from aiohttp import web
from textual.app import App, ComposeResult
from textual.widgets import Static

from llama_tui.domain import ChatMessage, Session
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.sidebar import Sidebar
from llama_tui.widgets.terminal_guard import ControlCharFilter
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, json_error, token
from tests.harness.faults import (
    Notes,
    footer,
    ready,
    screen_text,
    settled,
    stray_controls,
    terminal_output,
    type_and_send,
    views,
)

FAST = {"health_interval": 0.25, "default_template": "chatml"}

# Each paragraph short enough to stay on one screen line.
MARKUP_LINES = [
    "[bold]bold?[/] and [/] alone",
    "[link=https://evil.example/x]link?[/link]",
    "[@click=app.quit]quit?[/]",
    "[unterminated bracket",
]
CONTROL_LINES = [
    "csi \x1b[31mRED\x1b[0m",
    "osc0 \x1b]0;pwned-title\x07",
    "osc52 \x1b]52;c;SGVsbG8=\x07",
    "osc8 \x1b]8;;https://evil.example/o\x1b\\x\x1b]8;;\x1b\\",
    "c1 \x9b31mC1 \x9d0;t\x9c bell\x07",
]
MD_LINK = "[click me](https://evil.example/md)"
PAYLOAD = "\n\n".join([*MARKUP_LINES, *CONTROL_LINES, MD_LINK]) + "\n"
# Two titles short enough for the sidebar: controls, then markup and an action.
CONTROL_TITLE = "\x1b]0;pwn\x07\x9b1m[b]T[/]"
ACTION_TITLE = "[@click=app.quit]q[/] ["


def _chunks(text: str, size: int = 3) -> list[bytes]:
    """The payload cut into small tokens, so escape sequences are split across tokens too."""
    return [token(text[i : i + size]) for i in range(0, len(text), size)] + [final(len(text) // size)]


def _find(text: str, needle: str) -> tuple[int, int]:
    for y, line in enumerate(text.splitlines()):
        x = line.find(needle)
        if x >= 0:
            return x, y
    raise AssertionError(f"{needle!r} is not on screen:\n{text}")


async def test_model_output_with_markup_and_terminal_controls_is_shown_literally_and_inert(make_app) -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, _chunks(PAYLOAD))
        app = make_app(fs.url, **FAST)
        opened: list[str] = []
        app.open_url = lambda url, **kw: opened.append(url)  # type: ignore[method-assign]
        async with app.run_test(size=(140, 50)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "say something nasty")
            await wait_for(pilot, settled(screen, 2))
            await pilot.pause()
            answer: MessageView = views(screen)[-1]
            # Stored: exactly what the server sent, controls and all (the store keeps the truth).
            assert app.store.active_path(screen.session.id)[-1].content == PAYLOAD
            assert answer.message.content == PAYLOAD
            # Seen: markup as literal text; controls as visible stand-ins.
            text = screen_text(app)
            for line in MARKUP_LINES:
                assert line in text
            for visible in ("␛[31mRED␛[0m", "␛]0;pwned-title␇", "␛]52;c;SGVsbG8=␇", "\\x9b31mC1", "bell␇"):
                assert visible in text
            # Never sent to the terminal: no control character but Textual's own sequences.
            output = terminal_output(app)
            assert stray_controls(output) == []
            assert "\x1b]52" not in output and "\x1b]0;" not in output and "\x1b[31m" not in output
            assert "\x1b]8;;" not in output  # no injected hyperlink (Rich writes its own with id=)

            # Clicking the would-be action does nothing; clicking the markdown link opens nothing.
            await pilot.click(offset=_find(text, "quit?"))
            await pilot.pause()
            await pilot.click(offset=_find(text, "click me"))
            await pilot.pause()
            assert app.is_running and app.return_code is None
            assert opened == []
            # The markdown link is shown, but no painted cell of the answer carries an action.
            body = answer.markdown
            painted = [body.render_line(y) for y in range(body.size.height)]
            assert any("click me" in strip.text for strip in painted)
            assert not any(seg.style and "@click" in seg.style.meta for strip in painted for seg in strip)


async def test_session_titles_with_markup_and_controls_are_literal_everywhere(make_app, tmp_path) -> None:
    from llama_tui.store import Store

    store = Store.open(tmp_path / "titles.sqlite3")
    action = store.create_session(Session(title=ACTION_TITLE))
    store.add_message(ChatMessage(role="user", content="hi", session_id=action.id))
    store.create_session(Session(title=CONTROL_TITLE))
    store.create_session(Session(title="plain"))
    async with FaultServer() as fs:
        app = make_app(fs.url, store=store, **FAST)
        async with app.run_test(size=(140, 40)) as pilot:
            screen = await ready(pilot)
            await pilot.pause()
            text = screen_text(app)
            # Seen in the sidebar: literal markup, visible controls; nothing reaches the terminal.
            assert "␛]0;pwn␇\\x9b1m[b]T[/]" in text
            assert ACTION_TITLE in text
            assert stray_controls(terminal_output(app)) == []
            # Clicking the title opens the session; the would-be action does nothing.
            x, y = _find(text, ACTION_TITLE)
            await pilot.click(offset=(x + 2, y))
            await wait_for(pilot, lambda: screen.session is not None and screen.session.id == action.id)
            await pilot.pause()
            assert app.is_running and app.return_code is None
            # The switcher shows them literally too.
            await pilot.press("ctrl+k")
            await wait_for(pilot, lambda: app.screen is not screen)
            await pilot.pause()
            text = screen_text(app)
            assert ACTION_TITLE in text and "␛]0;pwn␇\\x9b1m[b]T[/]" in text
            assert stray_controls(terminal_output(app)) == []
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            assert screen.query_one(Sidebar).display and app.is_running
    store.close()


async def test_server_error_message_with_controls_is_neutralised_on_the_answer_and_the_toast(make_app) -> None:
    evil = "boom \x1b]52;c;SGVsbG8=\x07 [bold]x[/]"

    async def refuse(request: web.Request) -> web.StreamResponse:
        return json_error(400, evil, "invalid_request_error")

    async with FaultServer() as fs:
        fs.completion = refuse
        app = make_app(fs.url, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, settled(screen, 2))
            await wait_for(pilot, lambda: bool(notes.errors()))
            await pilot.pause(0.3)
            answer = views(screen)[-1]
            assert "boom ␛]52;c;SGVsbG8=␇ [bold]x[/]" in footer(answer)
            assert notes.errors() == ["boom ␛]52;c;SGVsbG8=␇ [bold]x[/]"]
            assert "boom ␛]52;c;SGVsbG8=␇ [bold]x[/]" in screen_text(app)  # the toast, literally
            assert stray_controls(terminal_output(app)) == []


class _ToastApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("x")


async def test_control_char_filter_keeps_every_control_away_from_the_terminal() -> None:
    # Textual's toasts (and Rich) pass ESC and C1 through: the filter is the last line of defence.
    for guarded in (False, True):
        app = _ToastApp()
        if guarded:
            app._filters.append(ControlCharFilter())
        async with app.run_test(size=(100, 20), notifications=True) as pilot:
            app.notify("osc52 \x1b]52;c;SGVsbG8=\x07 c1 \x9b31m end", markup=False, timeout=30)
            await pilot.pause(0.3)
            output = terminal_output(app)
            assert "end" in screen_text(app)
            if guarded:
                assert stray_controls(output) == []
                assert "osc52 ]52;c;SGVsbG8= c1 31m end" in screen_text(app)
            else:
                assert stray_controls(output) != []  # what the filter is there for


async def test_toast_quoting_a_nasty_title_sends_no_controls_to_the_terminal(make_app, tmp_path) -> None:
    from llama_tui.store import Store

    store = Store.open(tmp_path / "toast.sqlite3")
    store.create_session(Session(title=CONTROL_TITLE))
    async with FaultServer() as fs:
        app = make_app(fs.url, store=store, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            screen = await ready(pilot)
            await pilot.press("f3")  # duplicate: the toast quotes the title
            await wait_for(pilot, lambda: any("Duplicated" in m for _, _, m in notes.items))
            await pilot.pause(0.3)
            assert "Duplicated" in screen_text(app)
            assert stray_controls(terminal_output(app)) == []
            assert app.is_running and screen.session is not None
    store.close()
