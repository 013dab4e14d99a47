"""Long sessions (issue 14, item 7): only a window of messages is mounted, a page at a time in both
directions, so Home, End and a search hit far back work on 20,000 messages without freezing, and
the number of widgets stays bounded however far the user scrolls."""

from __future__ import annotations

import asyncio

from llama_tui.domain import ChatMessage, Session
from llama_tui.screens.search import SearchScreen
from llama_tui.store import Store
from llama_tui.widgets.chat_pane import MAX_VIEWS, ChatPane
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.faults import ready

LONG = 20_000
# Widgets per mounted message (role, text, footer, the view itself), the two markers, some slack.
WIDGET_BOUND = 5 * MAX_VIEWS + 10


def build(store: Store, count: int, template: str = "server") -> Session:
    """A session of `count` alternating messages, one transaction; message i says "message i"."""
    messages = [
        ChatMessage(
            id=i + 1,
            parent_id=i or None,
            role="user" if i % 2 == 0 else "assistant",
            content=f"message {i}: " + "some words here. " * (i % 5 + 1) + ("zygomorphic" if i == count - 1700 else ""),
            created_at=1_700_000_000 + i,
        )
        for i in range(count)
    ]
    session = Session(
        title="long", head_id=count, template=template, created_at=1_700_000_000, updated_at=1_700_000_000 + count
    )
    return store.import_session(session, messages)


def number(view: MessageView) -> int:
    return int(view.message.content.split(":")[0].removeprefix("message "))


async def answers_a_key(pilot, screen) -> None:
    """The app is not frozen: a key typed into the composer shows up."""
    composer = screen.query_one(Composer)
    composer.focus()
    before = composer.text
    await pilot.press("x")
    await wait_for(pilot, lambda: composer.text == before + "x")


async def test_20000_messages_open_at_the_end_and_home_and_end_jump(llama_server, make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "long.sqlite3")
    build(store, LONG)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.query(MessageView), timeout=30)
        chat = screen.query_one(ChatPane)
        assert number(chat.views()[-1]) == LONG - 1
        assert len(chat.views()) <= MAX_VIEWS
        assert len(chat.messages) == LONG

        chat.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: number(chat.views()[0]) == 0 and chat.scroll_y == 0)
        assert len(chat.views()) <= MAX_VIEWS
        assert "message 0:" in chat.views()[0].markdown.source
        await answers_a_key(pilot, screen)

        chat.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: number(chat.views()[-1]) == LONG - 1 and chat.scroll_y == chat.max_scroll_y)
        assert len(list(chat.query("*"))) <= WIDGET_BOUND
        await answers_a_key(pilot, screen)
    store.close()


async def test_a_search_hit_1700_messages_back_opens_there(llama_server, make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "long.sqlite3")
    build(store, LONG)
    store.create_session(Session(title="another one"))  # the app opens this one first
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.session.title == "another one")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"zygomorphic")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.focused, MessageView), timeout=30)
        assert number(app.focused) == LONG - 1700
        chat = screen.query_one(ChatPane)
        assert len(chat.views()) <= MAX_VIEWS
        await wait_for(pilot, lambda: chat.scroll_y <= app.focused.virtual_region.y < chat.scroll_y + chat.size.height)
        await answers_a_key(pilot, screen)
    store.close()


async def test_scrolling_pages_older_and_newer_messages_in_with_a_bounded_window(
    llama_server, make_app, tmp_path
) -> None:
    store = Store.open(tmp_path / "long.sqlite3")
    build(store, 2_000)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and screen.query(MessageView), timeout=30)
        chat = screen.query_one(ChatPane)
        firsts = [number(chat.views()[0])]
        for _ in range(12):
            top = chat.views()[0]
            chat.scroll_home(animate=False)
            await wait_for(pilot, lambda top=top: chat.views()[0] is not top and not chat._paging)
            await pilot.pause()
            # The message that was at the top is still on screen (the view did not jump).
            assert top.is_attached and chat.scroll_y <= top.virtual_region.y < chat.scroll_y + chat.size.height
            firsts.append(number(chat.views()[0]))
            assert len(chat.views()) <= MAX_VIEWS
            assert len(list(chat.query("*"))) <= WIDGET_BOUND
        assert firsts == sorted(firsts, reverse=True) and firsts[-1] < firsts[0] - 12 * 5
        assert number(chat.views()[-1]) < 1_999  # the newest ones were unmounted meanwhile

        # Up on the first message of the window pages in the one before it and moves there.
        first = chat.views()[0]
        first.focus()
        await pilot.press("up")
        await wait_for(pilot, lambda: isinstance(app.focused, MessageView) and number(app.focused) == number(first) - 1)

        # Back down to the end, a page at a time.
        for _ in range(40):
            if number(chat.views()[-1]) == 1_999:
                break
            bottom = chat.views()[-1]
            chat.scroll_end(animate=False)
            await wait_for(pilot, lambda bottom=bottom: chat.views()[-1] is not bottom and not chat._paging)
            assert len(chat.views()) <= MAX_VIEWS
        assert number(chat.views()[-1]) == 1_999
    store.close()


async def test_a_streaming_answer_survives_jumping_away_and_back(make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "long.sqlite3")
    session = build(store, 400, template="chatml")
    pieces = [f"word{i} " for i in range(120)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.02)
        app = make_app(fs.url, store=store, default_template="chatml")
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await ready(pilot)
            assert screen.session.id == session.id
            screen.query_one(Composer).insert("one more")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.is_generating and fs.hits.get("/completion") == 1)
            chat = screen.query_one(ChatPane)
            live = chat.views()[-1]
            chat.focus()
            await pilot.press("home")
            await wait_for(pilot, lambda: number(chat.views()[0]) == 0)
            assert live.is_attached and not live.display  # kept (its generation writes into it), hidden
            await wait_for(pilot, lambda: not screen.is_generating, timeout=30)
            await asyncio.sleep(0)
            chat.focus()
            await pilot.press("end")
            await wait_for(pilot, lambda: chat.views()[-1].message.role == "assistant" and chat.views()[-1].display)
            shown = chat.views()[-1]
            assert shown is live and shown.message.state == "complete"
            assert shown.markdown.source == "".join(pieces)
            assert app.store.active_path(session.id)[-1].content == "".join(pieces)
    store.close()
