"""ctrl+f searches every session and opens the hit, even on a branch that was not shown."""

from __future__ import annotations

from llama_tui.domain import ChatMessage, Session
from llama_tui.screens.search import SearchScreen
from llama_tui.store import Store
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


async def test_search_opens_the_session_at_the_message(llama_server, make_app, tmp_path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    target = store.create_session(Session(title="about alpacas"))
    user = store.add_message(ChatMessage(role="user", content="tell me about alpacas", session_id=target.id))
    hidden = store.add_message(
        ChatMessage(
            role="assistant", content="Alpacas hum when they are zygomorphic", session_id=target.id, parent_id=user.id
        )
    )
    store.add_message(ChatMessage(role="assistant", content="A shown answer", session_id=target.id, parent_id=user.id))
    for i in range(5):
        store.create_session(Session(title=f"other {i}"))
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None)
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"zygomorph")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.session.id == target.id)
        await wait_for(pilot, lambda: any(v.message.id == hidden.id for v in screen.query(MessageView)))
        focused = app.focused
        assert isinstance(focused, MessageView) and focused.message.id == hidden.id
        assert focused.alternatives == (1, 2)
        assert store.get_session(target.id).head_id == hidden.id
    store.close()
