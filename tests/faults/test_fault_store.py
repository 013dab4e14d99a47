"""Issue #5, cases 11 and 13: the store refuses writes (read-only, disk full) while the app runs,
and two instances share one store.

Tests run as root, so chmod cannot make a file read-only and the disk cannot be filled for real:
these use the same SQLite conditions tests/unit/test_store.py uses (PRAGMA query_only gives
SQLITE_READONLY, PRAGMA max_page_count gives SQLITE_FULL), at the whole-app level.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from llama_tui.domain import ChatMessage, Session
from llama_tui.server_state import ServerState
from llama_tui.store import Store
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.status_bar import StatusBar
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.faults import Notes, integrity, ready, settled, type_and_send, views

FAST = {"health_interval": 0.25, "default_template": "chatml"}


def _earlier(store: Store) -> tuple[int, list[str]]:
    """A session saved before the trouble starts: it must come out of it unchanged."""
    session = store.create_session(Session(title="saved before", template="chatml"))
    assert session.id is not None
    question = store.add_message(ChatMessage(role="user", content="old question", session_id=session.id))
    store.add_message(ChatMessage(role="assistant", content="old answer", session_id=session.id, parent_id=question.id))
    return session.id, ["old question", "old answer"]


# -- 11. read-only store, disk full ---------------------------------------------------------------


async def test_read_only_store_says_so_keeps_the_text_and_damages_nothing(make_app, tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.sqlite3"
    store = Store.open(path)
    earlier_id, earlier = _earlier(store)
    async with FaultServer() as fs:
        app = make_app(fs.url, store=store, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            assert screen.session.id == earlier_id
            # Injected: every write now fails with SQLITE_READONLY.
            assert store._conn is not None
            store._conn.execute("PRAGMA query_only = ON")
            await type_and_send(pilot, "new question")
            await wait_for(pilot, lambda: len(notes.errors()) >= 2)
            # Seen: a clear error naming the file and the cause, that changes are kept in memory;
            # the question was not sent and is still in the composer.
            text = "\n".join(notes.errors())
            assert f"Cannot save to {path}" in text and "read-only" in text
            assert "Unsaved changes are kept in memory" in text
            assert "it is still in the composer" in text
            assert screen.query_one(Composer).text == "new question"
            assert [v.message.content for v in views(screen)] == earlier
            assert fs.hits.get("/completion", 0) == 0
            # The app keeps working: the composer takes more text, sessions can be opened.
            await pilot.press("!")
            assert screen.query_one(Composer).text == "new question!"
            # Writes work again: the next send goes through, and the app says saving works again.
            store._conn.execute("PRAGMA query_only = OFF")
            await pilot.press("enter")
            await wait_for(pilot, settled(screen, 4))
            assert any("Saving works again" in m for _, _, m in notes.items)
            assert [m.content for m in store.active_path(earlier_id)] == [*earlier, "new question!", "Hello world"]
    store.close()
    # Stored: a sound file; the earlier session as it was, plus the new turn.
    assert integrity(path) == "ok"


async def _disk_full_during_an_answer(make_app, tmp_path: Path, pilot_steps) -> None:
    path = tmp_path / "data" / "sessions.sqlite3"
    store = Store.open(path)
    earlier_id, earlier = _earlier(store)
    pieces = [f"{i:02d}" + "x" * 3000 + "\n\n" for i in range(16)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [*(token(p) for p in pieces), final(16)], delay=0.08)
        app = make_app(fs.url, store=store, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: screen.session.id != earlier_id)
            await type_and_send(pilot, "write a lot")
            await wait_for(pilot, lambda: len(views(screen)) == 2 and views(screen)[-1].text)
            # Injected: the disk is full (the file may not grow by one page).
            assert store._conn is not None
            pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
            store._conn.execute(f"PRAGMA max_page_count = {pages}")
            await wait_for(pilot, settled(screen, 2), timeout=15)
            answer = views(screen)[-1]
            # Seen: the whole answer (kept in memory), one clear error that says so.
            assert answer.message.content == "".join(pieces) and answer.message.state == "complete"
            errors = notes.errors()
            assert len(errors) == 1, errors
            assert f"Cannot save to {path}" in errors[0] and "the disk is full" in errors[0]
            assert "Unsaved changes are kept in memory" in errors[0]
            # Stored: the question, and nothing already saved damaged.
            session_id = screen.session.id
            stored = store.active_path(session_id)
            assert stored[0].content == "write a lot"
            assert "".join(pieces).startswith(stored[1].content)
            assert [m.content for m in store.active_path(earlier_id)] == earlier
            assert integrity(path) == "ok"
            await pilot_steps(pilot, app, screen, store, notes, session_id, "".join(pieces))
    store.close()
    assert integrity(path) == "ok"


async def test_disk_full_while_answering_keeps_the_answer_in_memory_and_says_so_once(make_app, tmp_path) -> None:
    async def room_again(pilot, app, screen, store, notes, session_id, full_text) -> None:
        # Room again: the next write works and the app says so.
        store._conn.execute("PRAGMA max_page_count = 1073741823")
        screen.query_one(Composer).insert("more")
        await wait_for(pilot, lambda: any("Saving works again" in m for _, _, m in notes.items))
        assert store.get_session(session_id).draft == "more"

    await _disk_full_during_an_answer(make_app, tmp_path, room_again)


async def test_unsaved_answer_is_marked_and_saved_once_there_is_room_again(make_app, tmp_path) -> None:
    async def room_again(pilot, app, screen, store, notes, session_id, full_text) -> None:
        # Seen while the store refuses writes: a lasting marker, not only a toast that expires.
        assert screen.query_one(StatusBar).unsaved
        store._conn.execute("PRAGMA max_page_count = 1073741823")
        screen.query_one(Composer).insert("more")
        await wait_for(pilot, lambda: any("Saving works again" in m for _, _, m in notes.items))
        assert not screen.query_one(StatusBar).unsaved
        # Nothing lost: the answer that was only in memory is in the store now, complete.
        stored = store.active_path(session_id)[-1]
        assert stored.content == full_text and stored.state == "complete"

    await _disk_full_during_an_answer(make_app, tmp_path, room_again)


# -- 13. two instances on one store --------------------------------------------------------------


async def test_two_instances_share_one_store_and_lose_nothing(llama_server, make_app, tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    store_a, store_b = Store.open(path), Store.open(path)
    a = make_app(llama_server.url, store=store_a, default_settings={"n_predict": 24})
    b = make_app(llama_server.url, store=store_b, default_settings={"n_predict": 24})
    notes_a, notes_b = Notes(a), Notes(b)
    async with a.run_test(size=(120, 40)) as pa, b.run_test(size=(120, 40)) as pb:
        sa = await ready(pa)
        sb = await ready(pb)
        await pb.press("ctrl+n")  # B starts a session of its own
        await wait_for(pb, lambda: sb.session.id not in (None, sa.session.id))
        # Both answer at the same time (the server has two slots): both checkpoint into one file.
        await type_and_send(pa, "question from A")
        await type_and_send(pb, "question from B")
        await wait_for(pa, lambda: settled(sa, 2)() and settled(sb, 2)())
        answer_a = views(sa)[-1].message.content
        answer_b = views(sb)[-1].message.content
        with Store.open(path) as check:  # a third connection sees both, whole
            assert [m.content for m in check.active_path(sa.session.id)] == ["question from A", answer_a]
            assert [m.content for m in check.active_path(sb.session.id)] == ["question from B", answer_b]
            assert {m.state for s in (sa, sb) for m in check.active_path(s.session.id)} == {"complete"}

        # A session edited in one instance shows up in the other at the latest on switch.
        await pb.press("ctrl+k")
        await wait_for(pb, lambda: b.screen is not sb)
        await pb.press(*"question from A", "enter")
        await wait_for(pb, lambda: b.screen is sb and sb.session.id == sa.session.id)
        await wait_for(pb, lambda: [v.message.content for v in views(sb)] == ["question from A", answer_a])

        # Both send into that same session at once: every turn is kept. The one that comes second
        # is shown the other's turn first (its text waits in the composer, and it says why) and is
        # sent with another Enter once the other's answer has ended: never on top of a partial one.
        await type_and_send(pa, "again from A")
        await type_and_send(pb, "again from B")
        for pilot, screen in ((pa, sa), (pb, sb), (pa, sa)):
            for _ in range(4):
                await wait_for(pilot, lambda screen=screen: not screen.is_generating, timeout=30)
                if not screen.query_one(Composer).text:
                    break
                await pilot.press("enter")
                await pilot.pause(0.3)
            assert screen.query_one(Composer).text == ""
        assert any("another window" in m for _, _, m in notes_a.items + notes_b.items)
        await wait_for(pa, lambda: not sa.is_generating and not sb.is_generating, timeout=30)
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(
                "SELECT role, content, state FROM messages WHERE session_id = ? ORDER BY id", (sa.session.id,)
            ).fetchall()
        finally:
            conn.close()
        users = [content for role, content, _ in rows if role == "user"]
        assert sorted(users) == ["again from A", "again from B", "question from A"]
        answers = [(content, state) for role, content, state in rows if role == "assistant"]
        assert len(answers) == 3 and all(state == "complete" and content for content, state in answers)
        assert sa.server_state is ServerState.OK and sb.server_state is ServerState.OK
    assert notes_a.errors() == [] and notes_b.errors() == []
    store_a.close()
    store_b.close()
    assert integrity(path) == "ok"
