"""chat/sessions.py and chat/writes.py: session operations, and writes the store refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.chat.sessions import Sessions
from llama_tui.chat.writes import FAILED, WriteGuard
from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store, StoreError


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "sessions.sqlite3")
    yield s
    s.close()


class Reports:
    def __init__(self) -> None:
        self.failures: list[tuple[str, bool]] = []
        self.recovered = 0

    def failed(self, error: StoreError, first: bool) -> None:
        self.failures.append((str(error), first))

    def recover(self) -> None:
        self.recovered += 1


def test_create_open_rename_pin_delete_and_undo(store: Store) -> None:
    sessions = Sessions(store, WriteGuard(store, lambda e, f: None), clock=lambda: 0.0)
    session = sessions.create("chatml", {"temperature": 0.5}, None)
    assert session.id is not None and session.settings.to_dict() == {"temperature": 0.5}
    sessions.rename(session, "Llamas")
    sessions.set_pinned(session, True)
    assert store.get_session(session.id).title == "Llamas" and store.get_session(session.id).pinned
    assert sessions.last_used() == session.id
    assert sessions.delete(session.id) and sessions.get(session.id) is None
    assert sessions.undo_delete() == session.id and sessions.get(session.id) is not None
    assert sessions.undo_delete() is None


def test_draft_is_kept_as_saved_only_once_it_is(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = Reports()
    sessions = Sessions(store, WriteGuard(store, reports.failed, reports.recover), clock=lambda: 0.0)
    session = sessions.create("chatml", {}, None)
    real = store.save_draft

    def full(session_id: int, text: str) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(store, "save_draft", full)
    sessions.save_draft(session, "unsent words")
    assert session.draft == "" and reports.failures == [("the disk is full", True)]
    monkeypatch.setattr(store, "save_draft", real)
    sessions.save_draft(session, "unsent words")  # tried again, since it was not saved
    assert store.get_session(session.id).draft == "unsent words" and reports.recovered == 1


def test_a_write_guard_says_it_once_and_saves_kept_answers_when_writing_works(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = Reports()
    writes = WriteGuard(store, reports.failed, reports.recover)
    session = store.create_session(Session())
    answer = store.add_message(ChatMessage(role="assistant", content="", session_id=session.id, state="streaming"))
    real = store.update_message

    def full(message: ChatMessage) -> None:
        raise StoreError("read-only")

    monkeypatch.setattr(store, "update_message", full)
    assert writes.run(store.update_message, answer.replace(content="x")) is FAILED
    writes.keep_answer(answer.replace(content="the whole answer", state="complete"))
    assert writes.run(store.update_message, answer) is FAILED
    assert reports.failures == [("read-only", True), ("read-only", False)]  # the user is told once
    monkeypatch.setattr(store, "update_message", real)
    writes.run(store.rename_session, session.id, "works again")
    saved = store.get_message(answer.id)
    assert saved.content == "the whole answer" and saved.state == "complete"
    assert reports.recovered == 1 and not writes.unsaved


def test_the_trash_lists_restores_purges_and_empties_and_a_gone_session_is_no_failure(store: Store) -> None:
    reports = Reports()
    sessions = Sessions(store, WriteGuard(store, reports.failed), clock=lambda: 0.0)
    kept, purged, emptied = (sessions.create("chatml", {}, None) for _ in range(3))
    for session, title in ((kept, "kept"), (purged, "purged"), (emptied, "emptied")):
        assert session.id is not None
        sessions.rename(session, title)
        assert sessions.delete(session.id)
    assert [t.title for t in sessions.trash()] == ["emptied", "purged", "kept"]
    assert kept.id is not None and purged.id is not None
    assert sessions.restore(kept.id) and store.get_session(kept.id).title == "kept"
    assert sessions.purge(purged.id)
    # Gone already (another instance purged or restored it): False, and no "cannot save".
    assert not sessions.purge(purged.id) and not sessions.restore(purged.id) and not sessions.purge(kept.id)
    assert sessions.empty_trash() == 1
    assert sessions.trash() == [] and reports.failures == []


def test_a_blank_session_left_is_gone_for_good_not_in_the_trash(store: Store) -> None:
    """Leaving a blank session this instance made drops it (no pile of "New session" entries):
    in the trash it would make the same pile there, so it is deleted for good."""
    reports = Reports()
    sessions = Sessions(store, WriteGuard(store, reports.failed), clock=lambda: 0.0)
    blank, used = (sessions.create("chatml", {}, None) for _ in range(2))
    assert blank.id is not None and used.id is not None
    sessions.rename(used, "used")
    assert sessions.drop_if_blank(blank) and sessions.get(blank.id) is None
    assert not sessions.drop_if_blank(used) and sessions.get(used.id) is not None
    assert sessions.trash() == [] and reports.failures == []
