"""Issue #5, case 14: huge input. A 1 MB paste into the composer and a 50,000-token session: the
app stays responsive (a key press is handled within a bound while it holds that content), nothing
is lost, and the context meter warns before the context overflows.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import events

from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.status_bar import StatusBar
from tests.harness.app import wait_for
from tests.harness.faults import ready, views

# Seconds for a key press to be handled (the fastest of a few), on a loaded 2-core machine. Typing
# into an empty composer takes about 0.05 s; a 1 MB line that is re-wrapped on every key, 1-2 s.
KEY_BOUND = 0.5


async def _press_time(pilot, key: str) -> float:
    started = time.perf_counter()
    await pilot.press(key)
    return time.perf_counter() - started


async def _paste_then_type(pilot, screen, pasted: str) -> float:
    composer = screen.query_one(Composer)
    composer.focus()
    pilot.app.post_message(events.Paste(pasted))  # as the driver does: the app forwards it to the focus
    await wait_for(pilot, lambda: len(composer.text) == len(pasted))
    await pilot.pause()
    fastest = min(await _press_time(pilot, "a"), await _press_time(pilot, "b"))
    assert composer.text == pasted + "ab"
    return fastest


async def test_one_megabyte_paste_keeps_typing_responsive_and_is_kept_as_draft(llama_server, make_app) -> None:
    pasted = "".join(f"line {i:05d} " + "0123456789abcdef" * 3 + "\n" for i in range(17_000))
    assert len(pasted) > 1_000_000
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        typical = await _paste_then_type(pilot, screen, pasted)
        assert typical < KEY_BOUND, f"a key press took {typical:.2f} s with 1 MB in the composer"
        # Nothing lost: the whole text is saved as the session's draft.
        await wait_for(pilot, lambda: app.store.get_session(screen.session.id).draft == pasted + "ab")


async def test_one_megabyte_single_line_paste_keeps_typing_responsive(llama_server, make_app) -> None:
    pasted = '{"minified": "json", "words": "' + "word " * 210_000 + '"}'
    assert len(pasted) > 1_000_000 and "\n" not in pasted
    app = make_app(llama_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        typical = await _paste_then_type(pilot, screen, pasted)
        assert typical < KEY_BOUND, f"a key press took {typical:.2f} s with a 1 MB line in the composer"
        await wait_for(pilot, lambda: app.store.get_session(screen.session.id).draft == pasted + "ab")


def _session_of(store: Store, title: str, messages: int, words: int) -> int:
    """A session of `messages` turns of `words` tokens each ("hello " is one token of the tiny model)."""
    session = store.create_session(Session(title=title))
    assert session.id is not None
    parent = None
    for i in range(messages):
        parent = store.add_message(
            ChatMessage(
                role="user" if i % 2 == 0 else "assistant",
                content=f"turn {i} " + "hello " * words,
                session_id=session.id,
                parent_id=parent.id if parent else None,
            )
        )
    return session.id


def _meter(screen) -> tuple[str, bool, bool]:
    segment = screen.query_one("#status-context")
    return str(segment.render()), segment.has_class("-warn"), segment.has_class("-full")


async def test_fifty_thousand_token_session_stays_responsive_and_the_meter_warns(
    llama_server, make_app, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "big.sqlite3")
    near = _session_of(store, "nearly full", messages=7, words=500)  # ~3,550 of 4,096 tokens
    huge = _session_of(store, "huge", messages=100, words=500)  # ~50,000 tokens
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        bar = screen.query_one(StatusBar)
        # The 50,000-token session: open, the meter says full, typing stays quick.
        assert screen.session.id == huge
        await wait_for(pilot, lambda: bar.context_used is not None and bar.context_used > 45_000, timeout=30)
        text, warn, full = _meter(screen)
        assert full and not warn and "/ 4,096" in text
        assert len(views(screen)) < 100  # only the recent messages are mounted
        screen.query_one(Composer).focus()
        typical = min([await _press_time(pilot, k) for k in "xyz"])
        assert typical < KEY_BOUND, f"a key press took {typical:.2f} s in a 50,000-token session"
        assert screen.query_one(Composer).text == "xyz"
        # The nearly full one: the meter warns before it overflows.
        await screen.open_session(near)
        await wait_for(pilot, lambda: screen.session.id == near and bar.context_used is not None)
        await wait_for(pilot, lambda: bar.context_used < 4096, timeout=30)
        text, warn, full = _meter(screen)
        assert warn and not full, text
        assert 0.8 * 4096 < bar.context_used < 4096
    store.close()


async def test_sending_a_megabyte_message_keeps_it_whole_and_shows_a_capped_view(make_app) -> None:
    # Injected: a 1 MB message sent. Seen: the first DISPLAY_LIMIT characters and a note; the app
    # answers keys promptly afterwards. Stored: all of it.
    from llama_tui.widgets.message_view import DISPLAY_LIMIT
    from tests.harness.fault_server import FaultServer

    big = ("word " * 200_000)[:1_000_000]
    async with FaultServer() as fs:
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            composer = screen.query_one(Composer)
            composer.load_text(big)
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(views(screen)) == 2 and not screen.is_generating, timeout=60)
            shown = views(screen)[0].markdown.source
            assert len(shown) < DISPLAY_LIMIT + 200 and shown.endswith("(y copies the whole message)")
            assert "936,000 more characters" in shown
            assert app.store.active_path(screen.session.id)[0].content == big
            assert await _press_time(pilot, "x") < 1.0
