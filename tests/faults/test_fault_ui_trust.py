"""Issue 14, the UI side of items 3, 6, 12 and 13: what the screen does with what the reliability
work made available (the clipboard, redacted URLs, retry and keep-alive events, plain-worded
failures, a read-only store at start-up).

Each test: what is injected -> what the user sees (screen, footer, notifications, clipboard) ->
what did not happen (a control character on the clipboard, a password on screen, Python's words).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from llama_tui.chat import generation
from llama_tui.config import ServerProfile
from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, json_error, token
from tests.harness.faults import Notes, footer, ready, screen_text, settled, status_text, type_and_send, views

FAST = {"health_interval": 0.25, "default_template": "chatml"}

# What a message shown to a person must never contain: Python's or aiohttp's own words.
PYTHON_WORDS = re.compile(r"Error\b|Exception|message=|payload|<[A-Za-z]+Error|Traceback|aiohttp|unexpected failure")

# A bracketed-paste end marker (both forms), a title change, a clipboard write, a bell.
HOSTILE = "before\x1b[201~echo pwned\x9b201~\x1b]0;title\x07\x1b]52;c;aGk=\x07after"


def _clean(text: str) -> bool:
    """No terminal control at all (newlines and tabs are fine)."""
    return not any((ord(ch) < 0x20 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F for ch in text)


# -- item 3 (UI): copy never puts terminal controls on the clipboard --------------------------------


async def test_copy_and_copy_code_never_put_controls_or_paste_end_markers_on_the_clipboard(make_app) -> None:
    answer = f"text {HOSTILE}\n\n```sh\nls {HOSTILE}\n```\n"
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(answer), final(1)])
        app = make_app(fs.url, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, settled(screen, 2))
            view = views(screen)[-1]
            assert view.message.content == answer  # stored and kept as the server sent it
            view.focus()
            await pilot.press("y")
            await wait_for(pilot, lambda: app.clipboard != "")
            copied = app.clipboard
            assert _clean(copied), repr(copied)
            assert "\x1b[201~" not in copied and "\x9b201~" not in copied
            # Still all of it, with the controls shown as visible stand-ins.
            assert copied.startswith("text before") and "␛[201~echo pwned\\x9b201~" in copied
            assert "after" in copied and "```sh" in copied
            await pilot.press("b")
            await wait_for(pilot, lambda: app.clipboard != copied)
            code = app.clipboard
            assert _clean(code), repr(code)
            assert code.startswith("ls before␛[201~") and "\x1b" not in code
            assert notes.errors() == []


# -- item 13 (UI): a password in the server URL is never on screen ---------------------------------


def _with_password(url: str, password: str) -> str:
    return url.replace("http://", f"http://alice:{password}@", 1)


async def test_a_password_in_the_server_url_never_reaches_the_screen(llama_server, make_app) -> None:
    secret, other = "s3cretPW", "0therPW"
    app = make_app(
        _with_password(llama_server.url, secret),
        servers={"work": ServerProfile(url=_with_password(llama_server.url, other))},
    )
    notes = Notes(app)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        # The status bar: the address, with the password as ***.
        assert "alice:***@" in status_text(screen) or "***@" in status_text(screen)
        assert secret not in screen_text(app)
        # The palette lists the profile with its address: redacted too.
        palette = [(c.title, c.help) for c in app.get_system_commands(screen)]
        work = [help_text for title, help_text in palette if title == "Use server: work"]
        assert work and "***@" in work[0] and other not in work[0]
        await pilot.press("ctrl+p")
        await pilot.press(*"Use server")
        await pilot.pause(0.5)
        assert other not in screen_text(app) and secret not in screen_text(app)
        await pilot.press("escape")
        # Switching servers: the notification names the address, redacted.
        await screen.server.switch_server("work")
        await ready(pilot)
        assert any("***@" in message for _, _, message in notes.items)
        assert other not in notes.text() and secret not in notes.text()
        assert other not in status_text(screen) and "***@" in status_text(screen)
        # The monitor's title.
        await pilot.press("f9")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "Server monitor" in text and "***@" in text
        assert other not in text and secret not in text


# -- item 12: rate limits and keep-alive pings are said in the answer's footer ----------------------


async def test_a_rate_limited_answer_says_so_in_its_footer_while_it_waits(make_app) -> None:
    attempts = 0

    async def limited_then_fine(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return json_error(429, "busy", "unavailable_error", headers={"Retry-After": "3"})
        return await fs.stream(request, [token("fine"), final(1)])

    async with FaultServer() as fs:
        fs.completion = limited_then_fine
        app = make_app(fs.url, **FAST)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, lambda: len(views(screen)) == 2)
            answer = views(screen)[-1]
            await wait_for(pilot, lambda: "rate limited (429)" in footer(answer), timeout=3)
            assert "retrying in 3 s (retry 1 of 2)" in footer(answer)
            await wait_for(pilot, settled(screen, 2), timeout=15)
            assert views(screen)[-1].message.content == "fine" and attempts == 2
            assert "rate limited" not in footer(views(screen)[-1])  # the figures replace it


async def test_a_server_that_only_pings_is_shown_waiting_with_the_time(make_app) -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [b": ping\n\n"] * 12 + [token("late"), final(1)], delay=0.25)
        app = make_app(fs.url, **FAST)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, lambda: len(views(screen)) == 2)
            answer = views(screen)[-1]
            await wait_for(pilot, lambda: "no text yet" in footer(answer), timeout=3)
            assert re.search(r"waiting for llama-server: \d+ s", footer(answer)), footer(answer)
            await wait_for(pilot, settled(screen, 2), timeout=15)
            assert views(screen)[-1].message.content == "late"


# -- item 12: an unexpected failure is told in plain words ------------------------------------------


async def test_an_unexpected_failure_while_streaming_is_told_in_plain_words(make_app, monkeypatch) -> None:
    class Boom(Exception):
        pass

    real_feed = generation.AnswerText.feed
    fed = 0

    def feed(self: generation.AnswerText, text: str, tokens: int, now: float) -> tuple[str, str]:
        nonlocal fed
        fed += 1
        if fed == 2:  # injected: a bug in the middle of the answer
            raise Boom("list index out of range <object at 0x7f>")
        return real_feed(self, text, tokens, now)

    monkeypatch.setattr(generation.AnswerText, "feed", feed)
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("kept"), token(" lost"), final(2)])
        app = make_app(fs.url, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, settled(screen, 2))
            answer = views(screen)[-1]
            stored = app.store.active_path(screen.session.id)[-1]
            # Kept, marked, and told in words for a person; the detail is kept for a bug report.
            assert stored.content == "kept" and stored.state == "interrupted"
            for text in (footer(answer), stored.error or "", *notes.errors(), screen_text(app)):
                assert not PYTHON_WORDS.search(text), text
                assert "Boom" not in text and "0x7f" not in text
            assert "unexpected problem" in (stored.error or "")
            assert "Boom: list index out of range" in str((stored.meta or {}).get("failure_detail"))


# -- item 6 (UI): a read-only store is said at start-up, and marked ----------------------------------


async def test_a_read_only_store_is_told_at_start_up_and_marked_unsaved(make_app, tmp_path: Path) -> None:
    path = tmp_path / "ro" / "sessions.sqlite3"
    with Store.open(path) as writable:
        session = writable.create_session(Session(title="kept"))
        writable.add_message(ChatMessage(role="user", content="hello", session_id=session.id))
    store = Store.open(path, read_only=True)
    try:
        async with FaultServer() as fs:
            app = make_app(fs.url, store=store, **FAST)
            notes = Notes(app)
            async with app.run_test(size=(120, 40)) as pilot:
                screen = await ready(pilot)
                await wait_for(pilot, lambda: any(isinstance(v, MessageView) for v in views(screen)))
                assert screen.status_bar().unsaved
                assert "unsaved" in screen_text(app)
                told = [m for _, _, m in notes.items if "read" in m.lower()]
                assert told and "opened for reading only" in told[0] and "nothing will be saved" in told[0]
    finally:
        store.close()
