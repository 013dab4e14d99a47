"""The session store: one SQLite file holding every session and its message tree.

Stdlib only (no Textual), so the CLI, the TUI and the tests share it. Design notes:

* Messages form a tree (``parent_id``); a session's ``head_id`` is the end of the active path.
  A parent always exists before its child, so a child's id is always larger than its parent's.
* A damaged file is moved aside (never deleted) and a fresh store started; ``recovered_from`` says
  where the old one went so the UI can tell the user (see schema.py for migrations and FTS).
* FTS triggers present always means "index in sync": without FTS5 in this SQLite build the
  triggers are dropped (else every insert would fail) and search falls back to LIKE.
* One connection shared across threads behind a lock: the TUI is single-threaded in practice, and
  SQLite is fast enough that a lock never waits long.
* A store that cannot be written (read-only folder or file) opens read-only (``read_only`` says
  why): everything reads, every write raises StoreWriteError, and the app keeps changes in memory.
* Two instances: deleting is soft (``deleted_at``; ``list_trash``, ``restore_session``,
  ``purge_session``, ``purge_deleted``). A write that adds to or changes a deleted session's
  content (add_message, update_message, update_session, rename_session, set_head) *resurrects*
  it: the session leaves the trash, so nothing written is ever out of reach, and ``on_restored``
  is called with its id so the UI can say so. Drafts and pins do not resurrect (not content).
  Every content write bumps the session's ``revision``; ``watch`` / ``changed_elsewhere`` tell an
  instance that another one changed the session it shows (one indexed read).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence

from ..domain import ChatMessage, Session, SessionSummary
from .connection import StoreBase
from .errors import StoreError, StoreNotFound
from .rows import (
    MESSAGE_COLUMNS,
    MESSAGE_COUNT,
    SESSION_COLUMNS,
    TrashedSession,
    check_message,
    dumps,
    insert_message,
    insert_session,
    message_from_row,
    message_values,
    session_from_row,
    summary_from_row,
)
from .search import search_messages


class Store(StoreBase):
    """Sessions and messages in one SQLite file. Open with ``Store.open(path)``."""

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, session: Session) -> Session:
        """Insert a new session; returns it with id, created_at and updated_at set."""
        if session.id is not None:
            raise ValueError(f"session already has id {session.id}")
        now = self._clock()
        created = session.created_at or now
        with self._writing() as conn:
            new_id = insert_session(conn, session, created, now)
        return dataclasses.replace(session, id=new_id, created_at=created, updated_at=now, head_id=None)

    def get_session(self, session_id: int) -> Session:
        """The session; StoreNotFound (a KeyError) if it does not exist or is deleted."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ? AND deleted_at IS NULL", (session_id,)
            ).fetchone()
        if row is None:
            raise StoreNotFound(f"no session {session_id}")
        return session_from_row(row)

    def list_sessions(self, filter_text: str = "", limit: int | None = None) -> list[SessionSummary]:
        """Sessions not deleted, pinned first, then most recently updated. `filter_text` is a
        case-insensitive (Unicode) substring of the title. message_count counts the whole tree."""
        needle = filter_text.strip().casefold()
        where = "s.deleted_at IS NULL" + (" AND instr(casefold(s.title), :needle) > 0" if needle else "")
        sql = (
            f"SELECT s.id AS s_id, s.title AS s_title, s.updated_at AS s_updated_at, s.pinned AS s_pinned, "
            f"{MESSAGE_COUNT} AS s_count FROM sessions s WHERE {where} "
            "ORDER BY s.pinned DESC, s.updated_at DESC, s.id DESC LIMIT :limit"
        )
        with self._reading() as conn:
            rows = conn.execute(sql, {"needle": needle, "limit": -1 if limit is None else limit}).fetchall()
        return [summary_from_row(r) for r in rows]

    def update_session(self, session: Session) -> None:
        """Save title, template, system prompt, settings, head, pinned, server and model; bumps
        updated_at. (The draft has its own save_draft.) Resurrects a deleted session."""
        sid = self._id(session.id, "session")
        with self._writing() as conn:
            self._bump(conn, sid)
            if session.head_id is not None:
                self._check_in_session(conn, sid, session.head_id)
            conn.execute(
                "UPDATE sessions SET title = ?, template = ?, system_prompt = ?, settings_json = ?, head_id = ?, "
                "pinned = ?, server = ?, model = ?, options_json = ?, updated_at = ? WHERE id = ?",
                (
                    session.title,
                    session.template,
                    session.system_prompt,
                    dumps(session.settings.to_dict()),
                    session.head_id,
                    int(session.pinned),
                    session.server,
                    session.model,
                    dumps(session.template_options),
                    self._clock(),
                    sid,
                ),
            )

    def rename_session(self, session_id: int, title: str) -> None:
        """Set the title; bumps updated_at. Resurrects a deleted session."""
        with self._writing() as conn:
            self._bump(conn, session_id)
            conn.execute(
                "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, self._clock(), session_id)
            )

    def save_draft(self, session_id: int, text: str) -> None:
        """Keep the unsent composer text. Does not bump updated_at (typing is not activity)."""
        self._update_one("UPDATE sessions SET draft = ? WHERE id = ?", (text,), session_id)

    def set_pinned(self, session_id: int, pinned: bool) -> None:
        """Pin or unpin; does not bump updated_at."""
        self._update_one("UPDATE sessions SET pinned = ? WHERE id = ?", (int(pinned),), session_id)

    def delete_session(self, session_id: int) -> None:
        """Soft delete: into the trash (hidden from lists, search, export and get_session) until
        restored (from any instance) or purged."""
        with self._writing() as conn:
            self._bump(conn, session_id, resurrect=False)
            conn.execute(
                "UPDATE sessions SET deleted_at = coalesce(deleted_at, ?) WHERE id = ?", (self._clock(), session_id)
            )

    def drop_blank_session(self, session_id: int) -> bool:
        """Really delete a session with nothing in it (no title, message, draft or system prompt),
        without the trash, in one statement: False (and kept) if anything was written to it, by
        any instance, or it is gone."""
        with self._writing() as conn:
            cur = conn.execute(
                "DELETE FROM sessions WHERE id = ? AND deleted_at IS NULL AND title = '' AND draft = '' "
                "AND system_prompt = '' AND head_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM messages WHERE session_id = ?)",
                (session_id, session_id),
            )
            return cur.rowcount == 1

    def restore_session(self, session_id: int) -> None:
        """Take a session out of the trash (undo delete_session), from any instance."""
        with self._writing() as conn:
            self._bump(conn, session_id, resurrect=False)
            conn.execute("UPDATE sessions SET deleted_at = NULL WHERE id = ?", (session_id,))

    def list_trash(self) -> list[TrashedSession]:
        """Sessions in the trash, most recently deleted first, with when."""
        sql = (
            f"SELECT s.id, s.title, s.deleted_at, s.updated_at, {MESSAGE_COUNT} AS n FROM sessions s "
            "WHERE s.deleted_at IS NOT NULL ORDER BY s.deleted_at DESC, s.id DESC"
        )
        with self._reading() as conn:
            rows = conn.execute(sql).fetchall()
        return [TrashedSession(int(r[0]), str(r[1]), float(r[2]), float(r[3]), int(r[4])) for r in rows]

    def purge_session(self, session_id: int) -> None:
        """Really delete one session of the trash, with its messages (no undo). StoreNotFound if
        it is not in the trash: a session in use is never purged by mistake."""
        with self._writing() as conn:
            cur = conn.execute("DELETE FROM sessions WHERE id = ? AND deleted_at IS NOT NULL", (session_id,))
            if cur.rowcount == 0:
                raise StoreNotFound(f"no session {session_id} in the trash")

    def purge_deleted(self, older_than_s: float = 30 * 86400) -> int:
        """Really delete sessions (and their messages) deleted more than `older_than_s` ago;
        returns how many. purge_deleted(0) empties the trash."""
        cutoff = self._clock() - older_than_s
        with self._writing() as conn:
            cur = conn.execute("DELETE FROM sessions WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,))
            return cur.rowcount

    def duplicate_session(self, session_id: int) -> Session:
        """A copy with every message of the tree (parent links and head remapped), titled
        "<title> (copy)", not pinned. Messages keep their created_at."""
        source = self.get_session(session_id)
        now = self._clock()
        with self._writing() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (title, created_at, updated_at, template, system_prompt, settings_json, "
                "draft, pinned, server, model, options_json) SELECT title || ' (copy)', ?, ?, template, system_prompt, "
                "settings_json, draft, 0, server, model, options_json FROM sessions WHERE id = ?",
                (now, now, session_id),
            )
            new_sid = cur.lastrowid
            mapping: dict[int, int] = {}
            # Parents have smaller ids than their children, so id order inserts parents first.
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
            for row in rows:
                parent = row["parent_id"]
                if parent is not None and parent not in mapping:
                    raise StoreError(f"message {row['id']} comes before its parent {parent}")
                cur = conn.execute(
                    f"INSERT INTO messages ({MESSAGE_COLUMNS}) SELECT NULL, ?, ?, role, content, created_at, state, "
                    "timings_json, stop_type, stopping_word, truncated, tokens_cached, ttft_ms, settings_json, error, "
                    "reasoning, probs_json, meta_json FROM messages WHERE id = ?",
                    (new_sid, None if parent is None else mapping[parent], row["id"]),
                )
                assert cur.lastrowid is not None
                mapping[row["id"]] = cur.lastrowid
            head = None if source.head_id is None else mapping.get(source.head_id)
            conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (head, new_sid))
        assert new_sid is not None
        return self.get_session(new_sid)

    # -- messages -----------------------------------------------------------------------------

    def add_message(self, message: ChatMessage) -> ChatMessage:
        """Insert a message and make it the session's head; bumps the session's updated_at.
        Returns it with id (and created_at, unless one was given) set. Resurrects a deleted
        session (see the module notes)."""
        if message.id is not None:
            raise ValueError(f"message already has id {message.id}")
        sid = self._id(message.session_id, "message's session")
        check_message(message)
        now = self._clock()
        created = message.created_at or now
        with self._writing() as conn:
            self._bump(conn, sid)
            if message.parent_id is not None:
                self._check_in_session(conn, sid, message.parent_id)
            new_id = insert_message(conn, message, sid, message.parent_id, created)
            conn.execute("UPDATE sessions SET head_id = ?, updated_at = ? WHERE id = ?", (new_id, now, sid))
        return message.replace(id=new_id, created_at=created)

    def update_message(self, message: ChatMessage) -> None:
        """Save a message's content, state, timings, stop fields, ttft, settings, error, reasoning
        and probs: the streaming checkpoint. Does not bump updated_at; resurrects a deleted session."""
        mid = self._id(message.id, "message")
        check_message(message)
        with self._writing() as conn:
            row = conn.execute("SELECT session_id FROM messages WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise StoreNotFound(f"no message {mid}")
            self._bump(conn, int(row[0]))
            conn.execute(
                "UPDATE messages SET content = ?, state = ?, timings_json = ?, stop_type = ?, stopping_word = ?, "
                "truncated = ?, tokens_cached = ?, ttft_ms = ?, settings_json = ?, error = ?, reasoning = ?, "
                "probs_json = ?, meta_json = ? WHERE id = ?",
                (*message_values(message), mid),
            )

    def get_message(self, message_id: int) -> ChatMessage:
        with self._reading() as conn:
            row = conn.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise StoreNotFound(f"no message {message_id}")
        return message_from_row(row)

    def active_path(self, session_id: int) -> list[ChatMessage]:
        """The messages from the root to the session's head, in order ([] if no head)."""
        sql = f"""
            WITH RECURSIVE path(id, depth) AS (
                SELECT head_id, 0 FROM sessions WHERE id = :sid AND head_id IS NOT NULL
                UNION ALL
                SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
                WHERE m.parent_id IS NOT NULL AND m.session_id = :sid
            )
            SELECT {MESSAGE_COLUMNS} FROM path JOIN messages USING (id) ORDER BY path.depth DESC
        """
        with self._reading() as conn:
            rows = conn.execute(sql, {"sid": session_id}).fetchall()
        return [message_from_row(r) for r in rows]

    def siblings(self, message_id: int) -> list[ChatMessage]:
        """Messages with the same parent in the same session (the message itself included),
        oldest first: the alternatives made by edit and regenerate."""
        sql = f"""
            SELECT {MESSAGE_COLUMNS} FROM messages
            WHERE session_id = (SELECT session_id FROM messages WHERE id = :mid)
              AND parent_id IS (SELECT parent_id FROM messages WHERE id = :mid)
            ORDER BY id
        """
        with self._reading() as conn:
            rows = conn.execute(sql, {"mid": message_id}).fetchall()
        if not rows:
            raise StoreNotFound(f"no message {message_id}")
        return [message_from_row(r) for r in rows]

    def set_head(self, session_id: int, message_id: int | None) -> None:
        """Make `message_id` the end of the active path (switching branch). Does not bump updated_at;
        resurrects a deleted session."""
        with self._writing() as conn:
            self._bump(conn, session_id)
            if message_id is not None:
                self._check_in_session(conn, session_id, message_id)
            conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (message_id, session_id))

    def latest_leaf(self, message_id: int) -> int:
        """The most recently created leaf below `message_id` (itself if it has no children), so
        switching to an alternative shows that branch's latest continuation."""
        sql = """
            WITH RECURSIVE below(id, session_id) AS (
                SELECT id, session_id FROM messages WHERE id = :mid
                UNION ALL
                SELECT m.id, m.session_id FROM messages m JOIN below b
                ON m.session_id = b.session_id AND m.parent_id = b.id
            )
            SELECT b.id FROM below b WHERE NOT EXISTS (
                SELECT 1 FROM messages c WHERE c.session_id = b.session_id AND c.parent_id = b.id
            ) ORDER BY b.id DESC LIMIT 1
        """
        with self._reading() as conn:
            row = conn.execute(sql, {"mid": message_id}).fetchone()
        if row is None:
            raise StoreNotFound(f"no message {message_id}")
        return int(row[0])

    def mark_streaming_interrupted(self) -> int:
        """At start-up: answers left "streaming" by a crash become "interrupted". Returns how many.
        (Another instance streaming right now would flip its answer back at its next checkpoint.)"""
        with self._writing() as conn:
            cur = conn.execute("UPDATE messages SET state = 'interrupted' WHERE state = 'streaming'")
            return cur.rowcount

    # -- search and change detection ----------------------------------------------------------

    def session_messages(self, session_id: int) -> list[ChatMessage]:
        """Every message of the session's tree (all branches), in id order, so a parent always
        comes before its children. [] for a session without messages."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def import_session(self, session: Session, messages: Sequence[ChatMessage]) -> Session:
        """Insert a session and its whole message tree in one transaction, keeping every field as
        given, created_at/updated_at included (import, restore). Each message carries an id local to
        this call and comes after its parent; parent_id and session.head_id refer to those local
        ids and are remapped. Returns the new session."""
        (new_sid,) = self.import_sessions([(session, messages)])
        return self.get_session(new_sid)

    def import_sessions(self, plans: Sequence[tuple[Session, Sequence[ChatMessage]]]) -> list[int]:
        """import_session for many sessions in ONE transaction: either every one is written, or
        (StoreWriteError, ValueError) none is, so a failed import (a full disk) can simply be
        run again without duplicating what had gone in. Returns the new session ids in order."""
        ids: list[int] = []
        with self._writing() as conn:
            for session, messages in plans:
                ids.append(self._insert_tree(conn, session, messages))
        return ids

    @staticmethod
    def _insert_tree(conn: sqlite3.Connection, session: Session, messages: Sequence[ChatMessage]) -> int:
        if session.id is not None:
            raise ValueError(f"session already has id {session.id}")
        new_sid = insert_session(conn, session, session.created_at, session.updated_at)
        mapping: dict[int, int] = {}
        for m in messages:
            check_message(m)
            if m.id is None or m.id in mapping:
                raise ValueError(f"imported messages need distinct ids, got {m.id!r}")
            if m.parent_id is not None and m.parent_id not in mapping:
                raise ValueError(f"message {m.id} comes before its parent {m.parent_id}")
            parent = None if m.parent_id is None else mapping[m.parent_id]
            mapping[m.id] = insert_message(conn, m, new_sid, parent, m.created_at)
        if session.head_id is not None and session.head_id not in mapping:
            raise ValueError(f"the head {session.head_id} is not one of the messages")
        head = None if session.head_id is None else mapping[session.head_id]
        conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (head, new_sid))
        return new_sid

    def search(
        self, query: str, limit: int = 50, *, highlight: tuple[str, str] = ("", "")
    ) -> list[tuple[SessionSummary, ChatMessage, str]]:
        """Messages (of sessions not deleted) containing every word of `query`, best match first,
        each with its session and a one-line snippet; matches are wrapped in `highlight`."""
        with self._reading() as conn:
            return search_messages(conn, query, limit, highlight, fts=self.fts_enabled)
