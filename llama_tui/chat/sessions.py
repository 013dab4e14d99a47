"""The sessions themselves: create, open, rename, pin, duplicate, delete and undo, the trash
(restore, purge, empty), settings and drafts. No Textual. Every write goes through the
`WriteGuard`, so a refused write is reported once and the app goes on in memory.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import SamplingSettings, Session, SessionSummary
from ..store import Store, StoreError, StoreNotFound, TrashedSession
from .conversation import Conversation
from .writes import FAILED, Failed, WriteGuard

LAST_USED_AMONG = 1000  # more pinned sessions than this, and the newest unpinned one is not found


class Sessions:
    def __init__(self, store: Store, writes: WriteGuard, clock: Callable[[], float]) -> None:
        self.store = store
        self.writes = writes
        self.clock = clock
        self._deleted: list[int] = []  # this instance's deletes, newest last, for undo
        # Sessions this instance made, with what they were made with (see drop_if_blank).
        self._made: dict[int, tuple[str, dict[str, Any], str | None, str | None]] = {}

    def list(self, filter_text: str = "", limit: int | None = None) -> list[SessionSummary]:
        return self.store.list_sessions(filter_text, limit=limit)

    def last_used(self) -> int | None:
        """The session used last, pinned or not: among the first LAST_USED_AMONG of the list
        (pinned ones first, then the most recent), not by reading every session (100,000 of them
        took seconds at start-up)."""
        sessions = self.store.list_sessions(limit=LAST_USED_AMONG)
        return max(sessions, key=lambda s: s.updated_at).id if sessions else None

    def create(self, template: str, settings: Mapping[str, Any], server: str | None) -> Session:
        """A new empty session. If the store refuses it, the session lives in memory only
        (id None): it can be looked at but not sent from."""
        session = Session(template=template, settings=SamplingSettings.from_dict(dict(settings)), server=server)
        created = self.writes.run(self.store.create_session, session)
        if created is FAILED:
            return session
        if created.id is not None:
            self._made[created.id] = (created.template, created.settings.to_dict(), created.server, created.model)
        return created

    def drop_if_blank(self, session: Session) -> bool:
        """Leaving a session this instance made that is still blank (no title, messages, draft or
        system prompt, and the template, settings, server and model it was made with): delete it
        for good, so that ctrl+n pressed again and again leaves no pile of empty "New session"
        entries (in the list or in the trash).
        Checked against the store first: another instance may have written to it."""
        made = self._made.get(session.id) if session.id is not None else None
        if made is None or session.id is None:
            return False
        blank = (
            not session.title
            and session.head_id is None
            and not session.draft
            and not session.system_prompt
            and (session.template, session.settings.to_dict(), session.server, session.model) == made
        )
        stored = self.get(session.id)
        if not blank or stored is None or stored.head_id is not None or stored.draft or stored.title:
            return False
        del self._made[session.id]
        # For good, not into the trash: there it would make the same pile of "New session"s.
        return self.writes.run(self.store.drop_blank_session, session.id) is True

    def open(self, session: Session) -> Conversation:
        return Conversation(self.store, session, self.writes)

    def get(self, session_id: int) -> Session | None:
        """The session, or None if it no longer exists (deleted here or by another instance)."""
        try:
            return self.store.get_session(session_id)
        except KeyError:
            return None

    def rename(self, session: Session, title: str) -> None:
        session.title = title
        if session.id is not None:
            self.writes.run(self.store.rename_session, session.id, title)

    def set_pinned(self, session: Session, pinned: bool) -> None:
        session.pinned = pinned
        if session.id is not None:
            self.writes.run(self.store.set_pinned, session.id, pinned)

    def save(self, session: Session) -> bool:
        """Save the template, system prompt, settings, server and model; False if refused."""
        return session.id is not None and self.writes.run(self.store.update_session, session) is not FAILED

    def save_draft(self, session: Session, text: str) -> None:
        """Remember the composer's text; remembered as saved only once it is (a failed write is
        tried again next time)."""
        if session.id is None or text == session.draft:
            return
        if self.writes.run(self.store.save_draft, session.id, text) is not FAILED:
            session.draft = text

    def duplicate(self, session_id: int) -> Session | None:
        copy = self.writes.run(self.store.duplicate_session, session_id)
        return None if copy is FAILED else copy

    def delete(self, session_id: int) -> bool:
        if self.writes.run(self.store.delete_session, session_id) is FAILED:
            return False
        self._deleted.append(session_id)
        return True

    def undo_delete(self) -> int | Failed | None:
        """Bring back the last session deleted here: its id, None if there is none."""
        if not self._deleted:
            return None
        session_id = self._deleted.pop()
        if self.writes.run(self.store.restore_session, session_id) is FAILED:
            return FAILED
        return session_id

    # -- the trash (shared by every instance on the store) --------------------------------------

    def trash(self) -> builtins.list[TrashedSession]:  # (`list` is a method here)
        """Sessions in the trash, most recently deleted first ([] if the store cannot be read)."""
        try:
            return self.store.list_trash()
        except StoreError:
            return []

    def restore(self, session_id: int) -> bool:
        """Take a session out of the trash; False if it is gone (purged, perhaps by another
        instance) or the store refused (reported)."""
        return self.writes.run(_unless_gone, self.store.restore_session, session_id) is True

    def purge(self, session_id: int) -> bool:
        """Delete one session of the trash for good; False if it is no longer there (restored or
        purged meanwhile, perhaps by another instance) or the store refused (reported)."""
        return self.writes.run(_unless_gone, self.store.purge_session, session_id) is True

    def empty_trash(self) -> int | Failed:
        """Delete every session of the trash for good; how many."""
        return self.writes.run(self.store.purge_deleted, 0)


def _unless_gone(write: Callable[[int], None], session_id: int) -> bool:
    """Run `write(session_id)`; False if the session is not there: a session another instance
    purged is an answer, not a failure to save."""
    try:
        write(session_id)
    except StoreNotFound:
        return False
    return True
