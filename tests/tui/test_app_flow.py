"""The whole app, headless, against the real tiny-model llama-server: send, stream, stop, switch
sessions, change a knob, restart and find everything as it was."""

from __future__ import annotations

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.screens.main import MainScreen
from llama_tui.server_state import ServerState
from llama_tui.store import Store
from llama_tui.widgets.chat_pane import ChatPane
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.sidebar import Sidebar
from llama_tui.widgets.status_bar import StatusBar
from tests.harness.app import wait_for, wait_for_answer


def main(app) -> MainScreen:
    return app.main


async def type_and_send(pilot, text: str) -> None:
    composer = pilot.app.screen.query_one(Composer)
    composer.focus()
    composer.insert(text)
    await pilot.press("enter")


async def test_send_streams_answer_with_figures_and_saves_both_turns(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 48, "seed": 7})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
        await type_and_send(pilot, "Hello there")
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
        await wait_for(
            pilot, lambda: not screen.is_generating and screen.query(MessageView)[-1].message.state != "streaming"
        )
        user_view, answer_view = screen.query(MessageView)
        assert user_view.message.content == "Hello there"
        answer = answer_view.message
        assert answer.state == "complete" and answer.content
        footer = str(answer_view.query_one(".footer").render())
        assert " tok" in footer and "t/s" in footer and "stop:" in footer
        # Both turns are in the store, the answer with the server's own timings and settings.
        path = app.store.active_path(screen.session.id)
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[1].content == answer.content
        assert path[1].timings["predicted_n"] <= 48
        assert path[1].settings["seed"] == 7
        assert app.store.get_session(screen.session.id).title == "Hello there"
        assert screen.query_one(Composer).text == ""


async def test_escape_stops_generation_and_keeps_the_partial_answer(llama_server, make_app, monkeypatch) -> None:
    # The random tiny model may hit EOS at once: make it run until stopped.
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(llama_server.url, default_settings={"n_predict": 100_000})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
        screen.session.settings.set("n_predict", 100_000)
        await type_and_send(pilot, "go on forever")
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2 and screen.query(MessageView)[-1].text)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.is_generating)
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.state == "interrupted")
        shown = screen.query(MessageView)[-1]
        stored = app.store.active_path(screen.session.id)[-1]
        assert stored.state == "interrupted"
        assert stored.content and stored.content == shown.message.content
        assert "interrupted" in str(shown.query_one(".footer").render())


async def test_keyboard_session_switching(llama_server, make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    ids = []
    for title in ("alpha", "bravo", "charlie"):
        session = store.create_session(Session(title=title))
        store.add_message(ChatMessage(role="user", content=f"message in {title}", session_id=session.id))
        ids.append(session.id)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None)
        assert screen.session.title == "charlie"  # newest activity first
        await pilot.press("ctrl+down")
        await wait_for(pilot, lambda: screen.session.title == "bravo")
        assert screen.query(MessageView)[0].message.content == "message in bravo"
        await pilot.press("ctrl+up")
        await wait_for(pilot, lambda: screen.session.title == "charlie")
        await pilot.press("alt+3")
        await wait_for(pilot, lambda: screen.session.title == "alpha")
        # The fuzzy switcher: ctrl+k, type, Enter.
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"brv", "enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.session.title == "bravo")
        # ctrl+b hides and shows the sidebar.
        await pilot.press("ctrl+b")
        assert not screen.query_one(Sidebar).display
        await pilot.press("ctrl+b")
        assert screen.query_one(Sidebar).display
    store.close()


async def test_changed_knob_is_carried_by_the_next_request(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 8})
    async with app.run_test(size=(140, 50)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
        await pilot.press("ctrl+t")
        knob = screen.query_one("#knob-temperature")
        knob.focus()
        await pilot.press(*"0.33", "enter")
        await wait_for(pilot, lambda: screen.session.settings.get("temperature") == 0.33)
        # Invalid input is refused inline and never applied.
        top_k = screen.query_one("#knob-top_k")
        top_k.focus()
        await pilot.press(*"abc")
        await pilot.pause()
        assert screen.session.settings.get("top_k") is None
        assert top_k.has_class("-invalid")
        await type_and_send(pilot, "hi")
        await wait_for_answer(pilot)
        stored = app.store.active_path(screen.session.id)[-1]
        # The final event's generation_settings echo what the server used.
        assert round(stored.settings["temperature"], 3) == 0.33
        assert app.store.get_session(screen.session.id).settings.get("temperature") == 0.33


async def test_restart_finds_everything_as_it_was(llama_server, make_app, tmp_path) -> None:
    path = tmp_path / "restart.sqlite3"
    store = Store.open(path)
    app = make_app(llama_server.url, store=store, default_settings={"n_predict": 8})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
        await type_and_send(pilot, "remember me")
        await wait_for_answer(pilot)
        answer = screen.query(MessageView)[-1].message.content
        screen.session.settings.set("top_k", 5)
        app.store.update_session(screen.session)
        screen.query_one(Composer).insert("half-written draft")
        await pilot.pause(0.7)  # the draft is saved after a short pause in typing
        session_id = screen.session.id
    store.close()

    store = Store.open(path)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None)
        assert screen.session.id == session_id
        views = screen.query(MessageView)
        assert [v.message.content for v in views] == ["remember me", answer]
        assert screen.query_one(Composer).text == "half-written draft"
        assert screen.session.settings.get("top_k") == 5
    store.close()


async def test_status_bar_shows_model_context_and_unreachable_server(llama_server, make_app) -> None:
    app = make_app(llama_server.url)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.props is not None)
        bar = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "4,096" in str(bar.query_one("#status-context").render()))
        assert "ok" in str(bar.query_one("#status-server").render())
    app = make_app("http://127.0.0.1:9")  # nothing listens on the discard port
    async with app.run_test(size=(140, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.server_state is ServerState.UNREACHABLE)
        assert "unreachable" in str(screen.query_one("#status-server").render())


async def test_new_session_and_recall_last_message(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
        await type_and_send(pilot, "first question")
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2 and not screen.is_generating)
        await pilot.press("up")
        assert screen.query_one(Composer).text == "first question"
        first = screen.session.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        assert not screen.query(MessageView)
        assert len(app.store.list_sessions()) == 2


async def test_long_session_mounts_recent_messages_and_loads_older_on_scroll(llama_server, make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "long.sqlite3")
    session = store.create_session(Session(title="long", settings=SamplingSettings()))
    parent = None
    for i in range(150):  # five batches of 30: enough to page, small enough to mount all in a test
        parent = store.add_message(
            ChatMessage(
                role="user" if i % 2 == 0 else "assistant",
                content=f"message {i}",
                session_id=session.id,
                parent_id=parent.id if parent else None,
            )
        )
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None and screen.query(MessageView))
        views = screen.query(MessageView)
        assert len(views) < 100
        assert views[-1].message.content == "message 149"
        chat = screen.query_one(ChatPane)
        await wait_for(pilot, lambda: chat.max_scroll_y > 0)
        chat.scroll_home(animate=False)
        await wait_for(pilot, lambda: len(screen.query(MessageView)) > len(views))
        await pilot.press("ctrl+b")  # any key; then Home in the chat pane jumps to the first message
        chat.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: screen.query(MessageView)[0].message.content == "message 0")
        await wait_for(pilot, lambda: chat.scroll_y == 0)
        # A window of messages, not the whole session (a long one would freeze the app).
        assert len(screen.query(MessageView)) < 100
        await pilot.press("end")
        await wait_for(pilot, lambda: screen.query(MessageView).last().message.content == "message 149")
    store.close()


async def test_alt_keys_from_a_real_terminal_are_not_typed_into_the_composer(llama_server, make_app, tmp_path) -> None:
    """A terminal sends alt+u as ESC u, which Textual turns into Key("alt+u", character="u"); the
    focused composer would type that "u" unless the binding has priority (found in tmux)."""
    from textual import events

    store = Store.open(tmp_path / "alt.sqlite3")
    for title in ("one", "two", "three"):
        store.create_session(Session(title=title))
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None)
        assert screen.query_one(Composer).has_focus
        app.post_message(events.Key("alt+2", "2"))
        await wait_for(pilot, lambda: screen.session.title == "two")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and screen.session.title != "two")
        screen.query_one(Composer).focus()
        app.post_message(events.Key("alt+u", "u"))
        await wait_for(pilot, lambda: screen.session.title == "two")
        assert screen.query_one(Composer).text == ""
    store.close()


def test_escape_digit_from_a_terminal_parses_as_alt_digit() -> None:
    """tmux and xterm send Alt+2 as ESC 2; Textual alone would make that "™" (found in tmux)."""
    from textual._xterm_parser import XTermParser

    import llama_tui.app  # noqa: F401 - importing the app applies the fix

    for digit in "29":
        parser = XTermParser()
        # The key press, then end of input (which flushes it as a terminal's escape timeout would).
        events = [*parser.feed("\x1b" + digit), *parser.feed("")]
        assert [getattr(event, "key", None) for event in events] == [f"alt+{digit}"]


async def test_the_sidebar_lists_the_most_recent_sessions_and_the_filter_finds_the_rest(
    llama_server, make_app, tmp_path, monkeypatch
) -> None:
    import llama_tui.screens.main as main_module
    from llama_tui.widgets.sidebar import Sidebar

    monkeypatch.setattr(main_module, "SIDEBAR_LIMIT", 5)
    store = Store.open(tmp_path / "many.sqlite3")
    for i in range(8):
        store.create_session(Session(title=f"topic {i}"))
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main(app)
        await wait_for(pilot, lambda: screen.session is not None)
        assert screen.session.title == "topic 7"  # the newest opens
        listed = screen.query_one(Sidebar).session_list
        assert listed.option_count == 6  # five sessions and the row saying there are more
        assert "older sessions" in str(listed.get_option_at_index(5).prompt)
        screen.query_one(Sidebar).filter_input.focus()
        await pilot.press(*"topic 1")
        await wait_for(pilot, lambda: listed.option_count == 1)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: screen.session.title == "topic 1")
    store.close()
