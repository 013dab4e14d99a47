"""Issue 14, item 1 (the store side): two instances on one store file, as two Store objects (two
connections), which is what two llama-tui processes are to SQLite. The trash, restoring from any
instance, writes into a session the other deleted (resurrected, and reported), and noticing that
the other instance changed the session on screen."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_tui.domain import ChatMessage, Session
from llama_tui.store import SessionStamp, Store, StoreNotFound, StoreWriteError
from llama_tui.transfer import export_sessions_json


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions.sqlite3"


@pytest.fixture
def pair(path: Path) -> Iterator[tuple[Store, Store]]:
    clock = Clock()
    a, b = Store.open(path, clock=clock), Store.open(path, clock=clock)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _chat(store: Store, title: str = "bravo") -> tuple[int, ChatMessage]:
    session = store.create_session(Session(title=title))
    assert session.id is not None
    question = store.add_message(ChatMessage(role="user", content="question from A", session_id=session.id))
    return session.id, question


def test_a_write_into_a_session_the_other_deleted_resurrects_it_and_says_so(pair: tuple[Store, Store]) -> None:
    a, b = pair
    sid, question = _chat(a)
    restored: list[int] = []
    a.on_restored = restored.append
    answer = a.add_message(
        ChatMessage(role="assistant", content="", session_id=sid, parent_id=question.id, state="streaming")
    )
    b.delete_session(sid)  # B deletes while A streams
    assert [s.id for s in b.list_sessions()] == [] and [t.id for t in b.list_trash()] == [sid]
    a.update_message(answer.replace(content="partial answer"))  # A's next checkpoint
    # Nothing written is out of reach: the session is back, everywhere, with A's answer.
    assert restored == [sid]
    assert [s.id for s in b.list_sessions()] == [sid] and b.list_trash() == []
    assert [m.content for m in b.active_path(sid)] == ["question from A", "partial answer"]
    assert [s["title"] for s in export_sessions_json(b)["sessions"]] == ["bravo"]
    # Said once: later writes into a live session report nothing.
    a.update_message(answer.replace(content="partial answer, more", state="complete"))
    assert restored == [sid]


@pytest.mark.parametrize("write", ["add_message", "update_session", "rename_session", "set_head"])
def test_every_content_write_resurrects(pair: tuple[Store, Store], write: str) -> None:
    a, b = pair
    sid, question = _chat(a)
    restored: list[int] = []
    a.on_restored = restored.append
    shown = a.get_session(sid)  # what A has on screen
    b.delete_session(sid)
    if write == "add_message":
        a.add_message(ChatMessage(role="user", content="more", session_id=sid, parent_id=question.id))
    elif write == "update_session":
        a.update_session(shown)
    elif write == "rename_session":
        a.rename_session(sid, "renamed")
    else:
        a.set_head(sid, question.id)
    assert restored == [sid] and [s.id for s in b.list_sessions()] == [sid]


def test_drafts_and_pins_do_not_resurrect(pair: tuple[Store, Store]) -> None:
    a, b = pair
    sid, _ = _chat(a)
    restored: list[int] = []
    a.on_restored = restored.append
    b.delete_session(sid)
    a.save_draft(sid, "typing...")
    a.set_pinned(sid, True)
    assert restored == [] and b.list_sessions() == [] and [t.id for t in b.list_trash()] == [sid]


def test_the_trash_lists_restores_from_any_instance_and_purges_only_on_request(pair: tuple[Store, Store]) -> None:
    a, b = pair
    first, _ = _chat(a, "first")
    second, _ = _chat(a, "second")
    a.delete_session(first)
    a.delete_session(second)
    trash = b.list_trash()
    assert [(t.id, t.title, t.message_count) for t in trash] == [(second, "second", 1), (first, "first", 1)]
    assert trash[0].deleted_at > trash[1].deleted_at
    b.restore_session(first)  # the other instance restores it
    assert [s.id for s in a.list_sessions()] == [first]
    with pytest.raises(StoreNotFound):
        a.purge_session(first)  # not in the trash: never purged by mistake
    a.purge_session(second)
    assert b.list_trash() == []
    with pytest.raises(StoreNotFound):
        b.stamp(second)


def test_an_instance_notices_that_the_other_changed_its_session(pair: tuple[Store, Store]) -> None:
    a, b = pair
    sid, question = _chat(a)
    seen_a, seen_b = a.watch(sid), b.watch(sid)
    assert seen_a == seen_b and seen_a.deleted_at is None
    # A's own writes never count as "changed elsewhere" for A ...
    answer = a.add_message(ChatMessage(role="assistant", content="x", session_id=sid, parent_id=question.id))
    a.update_message(answer.replace(content="xy"))
    assert a.changed_elsewhere(sid) is None
    # ... but B sees them, before it sends.
    changed = b.changed_elsewhere(sid)
    assert isinstance(changed, SessionStamp) and changed.revision > seen_b.revision
    b.watch(sid)  # B re-read the session
    assert b.changed_elsewhere(sid) is None
    # A delete shows too, with when.
    b.delete_session(sid)
    deleted = a.changed_elsewhere(sid)
    assert deleted is not None and deleted.deleted_at is not None
    # Drafts and pins are not content: typing in one instance does not disturb the other.
    a.watch(sid)
    b.save_draft(sid, "draft")
    b.set_pinned(sid, True)
    assert a.changed_elsewhere(sid) is None


def test_a_write_that_races_the_other_instance_still_reports_its_change(pair: tuple[Store, Store]) -> None:
    a, b = pair
    sid, question = _chat(a)
    a.watch(sid)
    b.rename_session(sid, "B was here")  # B changes it first ...
    a.add_message(ChatMessage(role="user", content="A", session_id=sid, parent_id=question.id))  # ... then A writes
    assert a.changed_elsewhere(sid) is not None  # A's own write does not hide B's change


def test_a_failed_write_does_not_count_as_seen(pair: tuple[Store, Store], path: Path) -> None:
    a, b = pair
    sid, _ = _chat(a)
    a.watch(sid)
    assert a._conn is not None
    a._conn.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreWriteError):
        a.rename_session(sid, "never saved")
    a._conn.execute("PRAGMA query_only = OFF")
    b.rename_session(sid, "B")  # brings the revision to what A's failed write would have made
    assert a.changed_elsewhere(sid) is not None


def test_a_store_of_version_1_migrates_and_keeps_everything(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    from llama_tui.store import schema

    for statement in schema.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO sessions (title, created_at, updated_at) VALUES ('old', 1, 2)")
    conn.close()
    with Store.open(path) as store:
        (summary,) = store.list_sessions()
        assert summary.title == "old" and store.stamp(summary.id) == SessionStamp(0, None)
