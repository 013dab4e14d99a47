"""Keys in the composer as a terminal sends them: alt+enter is a new line (never a send), and keys
typed right after Enter are kept (issue 13, items 2 and 3)."""

from __future__ import annotations

import time

from textual import events
from textual._xterm_parser import XTermParser
from textual.message import Message

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.sidebar import Sidebar
from tests.harness.app import wait_for, wait_for_answer


def terminal_input(*chunks: str) -> list[Message]:
    """What Textual's driver makes of these reads from the terminal, each read on its own (as
    tmux delivers a key press): the parser's events, timeouts included (a lone ESC waits)."""
    parser = XTermParser()
    out: list[Message] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
        time.sleep(0.12)  # longer than Textual's ESCAPE_DELAY: a pending ESC sequence times out
        out.extend(parser.tick())
    return out


def test_the_terminal_sequence_of_alt_enter_is_the_alt_enter_key() -> None:
    import llama_tui.app  # noqa: F401  (it teaches the parser ESC+CR)

    keys = [e.key for e in terminal_input("\x1b\r") if isinstance(e, events.Key)]
    assert keys == ["alt+enter"]


async def test_alt_enter_typed_in_a_terminal_makes_a_new_line_and_sends_nothing(make_app) -> None:
    app = make_app("http://127.0.0.1:9", default_template="chatml")  # nothing listens: nothing may be sent
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.query_one(Composer).has_focus)
        for event in terminal_input("Roses are red,", "\x1b\r", "violets are blue,"):
            app.post_message(event)
        composer = screen.query_one(Composer)
        await wait_for(pilot, lambda: composer.text.endswith("blue,"))
        assert composer.text == "Roses are red,\nviolets are blue,"
        assert not screen.query(MessageView)
        assert screen.session is not None and screen.session.head_id is None


async def test_keys_typed_right_after_enter_stay_in_the_composer(make_app, llama_server) -> None:
    app = make_app(llama_server.url, default_template="chatml")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.query_one(Composer).has_focus)
        composer = screen.query_one(Composer)
        composer.insert("Test A")
        # Enter and the next words arrive together, before the app has handled the send.
        for key in ["enter", *"next draft"]:
            app.post_message(events.Key("space" if key == " " else key, key if len(key) == 1 else None))
        await wait_for_answer(pilot)
        assert composer.text == "next draft"
        assert screen.query(MessageView)[0].message.content == "Test A"


async def test_a_refused_send_gives_the_text_back_before_what_was_typed_since(
    make_app, big_context_server, monkeypatch
) -> None:
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # an answer long enough to type during
    app = make_app(big_context_server.url, default_template="chatml")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.query_one(Composer).has_focus)
        composer = screen.query_one(Composer)
        composer.insert("first")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.is_generating)
        composer.insert("second")
        for key in ["enter", *"more"]:  # refused: still answering
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        # Nothing lost, whichever the app handled first (the refusal or the keys typed after it).
        await wait_for(pilot, lambda: composer.text.replace("\n", "") == "secondmore")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.is_generating)


async def test_keys_typed_during_a_session_switch_go_after_the_new_sessions_draft(
    make_app, llama_server, tmp_path
) -> None:
    """The composer got the next session's draft after the switch's own work, wiping what was
    typed meanwhile (alt+2 then typing at once lost the first letters)."""
    from llama_tui.domain import Session
    from llama_tui.store import Store

    store = Store.open(tmp_path / "switch" / "sessions.sqlite3")
    one = store.create_session(Session(title="one", draft="draft one"))
    two = store.create_session(Session(title="two", draft="draft two"))
    app = make_app(llama_server.url, store=store, default_template="chatml")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: screen.session is not None and screen.query_one(Composer).has_focus)
            shown = screen.session
            other = one if shown.id == two.id else two
            composer = screen.query_one(Composer)
            assert composer.text == shown.draft
            # The switch and the next letters arrive together, before the app has handled the switch.
            index = screen.query_one(Sidebar).session_list.get_option_index(str(other.id))
            for key in [f"alt+{index + 1}", *" more"]:
                app.post_message(events.Key("space" if key == " " else key, key if len(key) == 1 else None))
            await wait_for(pilot, lambda: screen.session.id == other.id and composer.text.endswith("more"))
            await pilot.pause(0.1)
            assert composer.text == f"{other.draft} more"
            assert store.get_session(shown.id).draft == shown.draft  # the session left keeps its own
    finally:
        store.close()
