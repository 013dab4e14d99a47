"""The session store: one SQLite file holding every session and its message tree.

Stdlib only (no Textual), so the CLI, the TUI and the tests share it. Design notes:

* The schema is versioned with ``PRAGMA user_version``; ``MIGRATIONS`` is applied in order, each
  in the same transaction as the version bump. A file from a newer llama-tui is refused untouched.
* A damaged file is moved aside (never deleted) and a fresh store started; ``recovered_from`` says
  where the old one went so the UI can tell the user.
* Messages form a tree (``parent_id``); a session's ``head_id`` is the end of the active path.
  A parent always exists before its child, so a child's id is always larger than its parent's.
* Full-text search uses an FTS5 table kept in sync by triggers. It is managed outside the numbered
  migrations because it depends on the SQLite build: without FTS5 the triggers are dropped (else
  every insert would fail) and search falls back to LIKE; with FTS5 they come back and the index
  is rebuilt. "Triggers present" therefore always means "index in sync".
* One connection shared across threads behind a lock: the TUI is single-threaded in practice, and
  SQLite is fast enough that a lock never waits long.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, get_args

from .domain import Message, MessageState, Role, SamplingSettings, Session, SessionSummary

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "StoreNotFound",
    "StoreTooNew",
    "StoreWriteError",
]


class StoreError(Exception):
    """The session store could not do what was asked; the message is fit to show the user."""


class StoreWriteError(StoreError):
    """A write failed (disk full, read-only file, busy, I/O error). Nothing was half-written: the
    transaction was rolled back. The caller keeps the data in memory and may retry later."""


class StoreNotFound(StoreError, KeyError):
    """No such session or message. Also a KeyError, so ``except KeyError`` works as documented."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class StoreTooNew(StoreError):
    """The file was written by a newer llama-tui with a schema this version does not know."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} was written by a newer llama-tui (store version {found}; this version knows up to "
            f"{supported}). It was left untouched: upgrade llama-tui, or use --data-dir for a separate store"
        )


class _Corrupt(Exception):
    """Internal: the file is not a usable SQLite database."""


# Each migration is a list of statements, applied in one transaction with its version bump.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: initial schema
    (
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            template TEXT NOT NULL DEFAULT 'server',
            system_prompt TEXT NOT NULL DEFAULT '',
            settings_json TEXT NOT NULL DEFAULT '{}',
            draft TEXT NOT NULL DEFAULT '',
            head_id INTEGER,  -- no FOREIGN KEY: it would be circular; kept valid by the store
            pinned INTEGER NOT NULL DEFAULT 0,
            server TEXT,
            model TEXT,
            deleted_at REAL
        )
        """,
        "CREATE INDEX sessions_list ON sessions(deleted_at, pinned, updated_at)",
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            -- no FOREIGN KEY on parent_id: cascading it would need an index of its own; the store
            -- checks that a parent exists in the same session, and messages only go with their session
            parent_id INTEGER,
            role TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'complete',
            timings_json TEXT,
            stop_type TEXT,
            stopping_word TEXT,
            truncated INTEGER NOT NULL DEFAULT 0,
            tokens_cached INTEGER,
            ttft_ms REAL,
            settings_json TEXT,
            error TEXT,
            reasoning TEXT,
            probs_json TEXT
        )
        """,
        "CREATE INDEX messages_tree ON messages(session_id, parent_id)",
        # Tiny partial index so the start-up sweep for dead streams does not scan every message.
        "CREATE INDEX messages_streaming ON messages(state) WHERE state = 'streaming'",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_FTS_TABLE: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id')"
)
_FTS_TRIGGERS: Final[dict[str, str]] = {
    "messages_fts_ai": """
        CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END""",
    "messages_fts_ad": """
        CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END""",
    "messages_fts_au": """
        CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END""",
}

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_CORRUPT_CODES: Final = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_WRITE_HINTS: Final[dict[int, str]] = {
    5: "another llama-tui is busy writing to it",  # SQLITE_BUSY
    8: "the file or its folder is read-only",  # SQLITE_READONLY
    10: "a disk I/O error occurred",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
}
_SIDE_FILES: Final = ("-wal", "-shm", "-journal")
_ROLES: Final = frozenset(get_args(Role))
_STATES: Final = frozenset(get_args(MessageState))

_MESSAGE_COLUMNS: Final = (
    "id, session_id, parent_id, role, content, created_at, state, timings_json, stop_type, stopping_word, "
    "truncated, tokens_cached, ttft_ms, settings_json, error, reasoning, probs_json"
)
_SESSION_COLUMNS: Final = (
    "id, title, created_at, updated_at, template, system_prompt, settings_json, draft, head_id, pinned, server, model"
)
_MESSAGE_COUNT: Final = "(SELECT count(*) FROM messages m WHERE m.session_id = s.id)"


@functools.cache
def _fts5_available() -> bool:
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x)")
        return True
    except sqlite3.Error:
        return False
    finally:
        probe.close()


def _is_corruption(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    return type(error) is sqlite3.DatabaseError


def _write_error(path: Path, error: sqlite3.Error) -> StoreWriteError:
    code = getattr(error, "sqlite_errorcode", None)
    hint = _WRITE_HINTS.get(code & 0xFF) if code is not None else None
    return StoreWriteError(f"Cannot save to {path}: {error}" + (f" ({hint})" if hint else ""))


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _casefold(text: str | None) -> str:
    return text.casefold() if text else ""


def _fts_query(text: str) -> str | None:
    """User text -> a safe FTS5 query: every word a quoted string (so punctuation and FTS syntax
    are just text), all required, the last one matched as a prefix for search-as-you-type."""
    terms = ['"' + t.replace('"', '""') + '"' for t in text.split() if any(ch.isalnum() for ch in t)]
    if not terms:
        return None
    terms[-1] += "*"
    return " ".join(terms)


def _like_snippet(content: str, terms: list[str], start: str, end: str, width: int = 60) -> str:
    lower = content.casefold()
    hits = [(i, t) for t in terms if (i := lower.find(t.casefold())) >= 0]
    at, term = min(hits) if hits else (0, "")
    lo, hi = max(0, at - width // 2), min(len(content), at + len(term) + width // 2)
    middle = content[at : at + len(term)]
    text = content[lo:at] + start + middle + end + content[at + len(term) : hi] if term else content[lo:hi]
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(content) else "")


def _message(row: sqlite3.Row) -> Message:
    return Message(
        role=row["role"],
        content=row["content"],
        id=row["id"],
        session_id=row["session_id"],
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        state=row["state"],
        timings=_loads(row["timings_json"]),
        stop_type=row["stop_type"],
        stopping_word=row["stopping_word"],
        truncated=bool(row["truncated"]),
        tokens_cached=row["tokens_cached"],
        ttft_ms=row["ttft_ms"],
        settings=_loads(row["settings_json"]),
        error=row["error"],
        reasoning=row["reasoning"],
        probs=_loads(row["probs_json"]),
    )


def _session(row: sqlite3.Row) -> Session:
    return Session(
        title=row["title"],
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        template=row["template"],
        system_prompt=row["system_prompt"],
        settings=SamplingSettings.from_dict(_loads(row["settings_json"])),
        draft=row["draft"],
        head_id=row["head_id"],
        pinned=bool(row["pinned"]),
        server=row["server"],
        model=row["model"],
    )


def _summary(row: sqlite3.Row) -> SessionSummary:
    return SessionSummary(
        id=row["s_id"],
        title=row["s_title"],
        updated_at=row["s_updated_at"],
        pinned=bool(row["s_pinned"]),
        message_count=row["s_count"],
    )


def _message_values(m: Message) -> tuple[Any, ...]:
    """The mutable message columns, in the order used by update_message (and inserts)."""
    return (
        m.content,
        m.state,
        _dumps(m.timings),
        m.stop_type,
        m.stopping_word,
        int(m.truncated),
        m.tokens_cached,
        m.ttft_ms,
        _dumps(m.settings),
        m.error,
        m.reasoning,
        _dumps(m.probs),
    )


def _insert_session(conn: sqlite3.Connection, session: Session, created: float, updated: float) -> int:
    cur = conn.execute(
        "INSERT INTO sessions (title, created_at, updated_at, template, system_prompt, settings_json, "
        "draft, head_id, pinned, server, model) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        (
            session.title,
            created,
            updated,
            session.template,
            session.system_prompt,
            _dumps(session.settings.to_dict()),
            session.draft,
            int(session.pinned),
            session.server,
            session.model,
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _insert_message(
    conn: sqlite3.Connection, m: Message, session_id: int, parent_id: int | None, created: float
) -> int:
    cur = conn.execute(
        "INSERT INTO messages (content, state, timings_json, stop_type, stopping_word, truncated, "
        "tokens_cached, ttft_ms, settings_json, error, reasoning, probs_json, session_id, parent_id, role, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*_message_values(m), session_id, parent_id, m.role, created),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _check_message(m: Message) -> None:
    if m.role not in _ROLES:
        raise ValueError(f"unknown message role {m.role!r}")
    if m.state not in _STATES:
        raise ValueError(f"unknown message state {m.state!r}")


def _move_aside(path: Path, now: float) -> Path:
    """Rename a damaged store (and its -wal/-shm/-journal) to a name that does not exist yet."""
    stamp = datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n else ""))
        if not any(Path(str(target) + s).exists() for s in ("", *_SIDE_FILES)):
            break
    else:  # pragma: no cover - a thousand damaged stores in one second
        raise StoreError(f"cannot move the damaged store {path} aside")
    for suffix in _SIDE_FILES:
        side = Path(str(path) + suffix)
        if side.exists():
            side.rename(str(target) + suffix)
    path.rename(target)
    return target


class Store:
    """Sessions and messages in one SQLite file. Open with ``Store.open(path)``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Callable[[], float]) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._clock = clock
        self.path = path
        self.recovered_from: Path | None = None  # where a damaged store was moved, if it was
        self.fts_enabled = False

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, clock: Callable[[], float] = time.time) -> Store:
        """Open (creating if needed) the store at `path`. Raises StoreTooNew for a newer schema
        and StoreError if the file cannot be opened; a damaged file is moved aside and replaced."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StoreError(f"cannot create the folder {path.parent}: {e}") from e
        recovered: Path | None = None
        try:
            conn = cls._open_checked(path)
        except (sqlite3.DatabaseError, _Corrupt) as e:
            if isinstance(e, sqlite3.Error) and not _is_corruption(e):
                raise StoreError(f"cannot open the session store {path}: {e}") from e
            try:
                recovered = _move_aside(path, clock())
                conn = cls._open_checked(path)
            except (sqlite3.Error, _Corrupt, OSError) as e2:
                raise StoreError(f"the session store {path} is damaged and could not be replaced: {e2}") from e2
        store = cls(conn, path, clock)
        store.recovered_from = recovered
        try:
            store.fts_enabled = store._ensure_fts()
        except sqlite3.Error as e:
            store.close()
            raise StoreError(f"cannot open the session store {path}: {e}") from e
        return store

    @classmethod
    def _connect(cls, path: Path, *, read_only: bool = False) -> sqlite3.Connection:
        """The one place connections are made (tests subclass it to simulate a read-only store)."""
        if read_only:
            uri = path.absolute().as_uri() + "?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None, check_same_thread=False)
        return sqlite3.connect(str(path), timeout=5.0, isolation_level=None, check_same_thread=False)

    @classmethod
    def _open_checked(cls, path: Path) -> sqlite3.Connection:
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as f:
                # SQLite would silently overwrite a short non-database file; check the magic first.
                if f.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                    raise _Corrupt("not an SQLite database")
            # Look with a read-only connection first: closing a read-write one would checkpoint a
            # leftover WAL into the file, and a store from a newer version must stay untouched.
            probe = cls._connect(path, read_only=True)
            try:
                probe.execute("PRAGMA busy_timeout = 5000")
                found = int(probe.execute("PRAGMA user_version").fetchone()[0])
                if found > SCHEMA_VERSION:
                    raise StoreTooNew(path, found, SCHEMA_VERSION)
                problems = [str(r[0]) for r in probe.execute("PRAGMA quick_check(5)")]
                if problems != ["ok"]:
                    raise _Corrupt("; ".join(problems))
            finally:
                probe.close()
        conn = cls._connect(path)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; only the last commit can be lost
            conn.execute("PRAGMA foreign_keys = ON")
            conn.row_factory = sqlite3.Row
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            cls._migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another instance may have won
            if found > SCHEMA_VERSION:
                raise StoreTooNew(path, found, SCHEMA_VERSION)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _ensure_fts(self) -> bool:
        """Make the FTS triggers match this SQLite build (see the module notes). Returns whether
        FTS search can be used. Failing to fix it (a read-only store) is not fatal."""
        conn = self._require_open()
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'messages_fts_%'")
        present = {str(r[0]) for r in rows}
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone() is not None
        available = _fts5_available()
        if available and has_table and present == set(_FTS_TRIGGERS):
            return True
        if not available and not present:
            return False
        try:
            with self._writing() as c:
                for name in present:
                    c.execute(f"DROP TRIGGER {name}")
                if available:
                    c.execute(_FTS_TABLE)
                    for sql in _FTS_TRIGGERS.values():
                        c.execute(sql)
                    c.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        except StoreWriteError:
            return False
        return available

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the session store {self.path} is closed")
        return self._conn

    @contextmanager
    def _writing(self, transaction: bool = True) -> Iterator[sqlite3.Connection]:
        """Run writes under the lock, in one transaction; any SQLite failure rolls back and is
        raised as StoreWriteError. Other exceptions (KeyError, ValueError) roll back and pass."""
        with self._lock:
            conn = self._require_open()
            try:
                if transaction:
                    conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    if transaction:
                        conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise _write_error(self.path, e) from e

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._require_open()
            try:
                yield conn
            except sqlite3.Error as e:
                raise StoreError(f"Cannot read {self.path}: {e}") from e

    @staticmethod
    def _session_exists(conn: sqlite3.Connection, session_id: int) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise StoreNotFound(f"no session {session_id}")

    @staticmethod
    def _check_in_session(conn: sqlite3.Connection, session_id: int, message_id: int) -> None:
        row = conn.execute("SELECT session_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise StoreNotFound(f"no message {message_id}")
        if row[0] != session_id:
            raise ValueError(f"message {message_id} belongs to session {row[0]}, not {session_id}")

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, session: Session) -> Session:
        """Insert a new session; returns it with id, created_at and updated_at set."""
        if session.id is not None:
            raise ValueError(f"session already has id {session.id}")
        now = self._clock()
        created = session.created_at or now
        with self._writing() as conn:
            new_id = _insert_session(conn, session, created, now)
        return dataclasses.replace(session, id=new_id, created_at=created, updated_at=now, head_id=None)

    def get_session(self, session_id: int) -> Session:
        """The session; StoreNotFound (a KeyError) if it does not exist or is deleted."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ? AND deleted_at IS NULL", (session_id,)
            ).fetchone()
        if row is None:
            raise StoreNotFound(f"no session {session_id}")
        return _session(row)

    def list_sessions(self, filter_text: str = "", limit: int | None = None) -> list[SessionSummary]:
        """Sessions not deleted, pinned first, then most recently updated. `filter_text` is a
        case-insensitive (Unicode) substring of the title. message_count counts the whole tree."""
        needle = filter_text.strip().casefold()
        where = "s.deleted_at IS NULL" + (" AND instr(casefold(s.title), :needle) > 0" if needle else "")
        sql = (
            f"SELECT s.id AS s_id, s.title AS s_title, s.updated_at AS s_updated_at, s.pinned AS s_pinned, "
            f"{_MESSAGE_COUNT} AS s_count FROM sessions s WHERE {where} "
            "ORDER BY s.pinned DESC, s.updated_at DESC, s.id DESC LIMIT :limit"
        )
        with self._reading() as conn:
            rows = conn.execute(sql, {"needle": needle, "limit": -1 if limit is None else limit}).fetchall()
        return [_summary(r) for r in rows]

    def update_session(self, session: Session) -> None:
        """Save title, template, system prompt, settings, head, pinned, server and model; bumps
        updated_at. (The draft has its own save_draft.)"""
        sid = self._id(session.id, "session")
        with self._writing() as conn:
            self._session_exists(conn, sid)
            if session.head_id is not None:
                self._check_in_session(conn, sid, session.head_id)
            conn.execute(
                "UPDATE sessions SET title = ?, template = ?, system_prompt = ?, settings_json = ?, head_id = ?, "
                "pinned = ?, server = ?, model = ?, updated_at = ? WHERE id = ?",
                (
                    session.title,
                    session.template,
                    session.system_prompt,
                    _dumps(session.settings.to_dict()),
                    session.head_id,
                    int(session.pinned),
                    session.server,
                    session.model,
                    self._clock(),
                    sid,
                ),
            )

    def rename_session(self, session_id: int, title: str) -> None:
        """Set the title; bumps updated_at."""
        self._update_one(
            "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, self._clock()), session_id
        )

    def save_draft(self, session_id: int, text: str) -> None:
        """Keep the unsent composer text. Does not bump updated_at (typing is not activity)."""
        self._update_one("UPDATE sessions SET draft = ? WHERE id = ?", (text,), session_id)

    def set_pinned(self, session_id: int, pinned: bool) -> None:
        """Pin or unpin; does not bump updated_at."""
        self._update_one("UPDATE sessions SET pinned = ? WHERE id = ?", (int(pinned),), session_id)

    def delete_session(self, session_id: int) -> None:
        """Soft delete: hidden from lists and get_session until restored or purged."""
        self._update_one(
            "UPDATE sessions SET deleted_at = coalesce(deleted_at, ?) WHERE id = ?", (self._clock(),), session_id
        )

    def restore_session(self, session_id: int) -> None:
        """Undo delete_session."""
        self._update_one("UPDATE sessions SET deleted_at = NULL WHERE id = ?", (), session_id)

    def purge_deleted(self, older_than_s: float = 30 * 86400) -> int:
        """Really delete sessions (and their messages) deleted more than `older_than_s` ago;
        returns how many. purge_deleted(0) empties the bin."""
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
                "draft, pinned, server, model) SELECT title || ' (copy)', ?, ?, template, system_prompt, "
                "settings_json, draft, 0, server, model FROM sessions WHERE id = ?",
                (now, now, session_id),
            )
            new_sid = cur.lastrowid
            mapping: dict[int, int] = {}
            # Parents have smaller ids than their children, so id order inserts parents first.
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
            for row in rows:
                parent = row["parent_id"]
                if parent is not None and parent not in mapping:
                    raise StoreError(f"message {row['id']} comes before its parent {parent}")
                cur = conn.execute(
                    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) SELECT NULL, ?, ?, role, content, created_at, state, "
                    "timings_json, stop_type, stopping_word, truncated, tokens_cached, ttft_ms, settings_json, error, "
                    "reasoning, probs_json FROM messages WHERE id = ?",
                    (new_sid, None if parent is None else mapping[parent], row["id"]),
                )
                assert cur.lastrowid is not None
                mapping[row["id"]] = cur.lastrowid
            head = None if source.head_id is None else mapping.get(source.head_id)
            conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (head, new_sid))
        assert new_sid is not None
        return self.get_session(new_sid)

    # -- messages -----------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        """Insert a message and make it the session's head; bumps the session's updated_at.
        Returns it with id (and created_at, unless one was given) set."""
        if message.id is not None:
            raise ValueError(f"message already has id {message.id}")
        sid = self._id(message.session_id, "message's session")
        _check_message(message)
        now = self._clock()
        created = message.created_at or now
        with self._writing() as conn:
            self._session_exists(conn, sid)
            if message.parent_id is not None:
                self._check_in_session(conn, sid, message.parent_id)
            new_id = _insert_message(conn, message, sid, message.parent_id, created)
            conn.execute("UPDATE sessions SET head_id = ?, updated_at = ? WHERE id = ?", (new_id, now, sid))
        return message.replace(id=new_id, created_at=created)

    def update_message(self, message: Message) -> None:
        """Save a message's content, state, timings, stop fields, ttft, settings, error, reasoning
        and probs: the streaming checkpoint, one UPDATE. Does not bump the session."""
        mid = self._id(message.id, "message")
        _check_message(message)
        with self._writing(transaction=False) as conn:
            cur = conn.execute(
                "UPDATE messages SET content = ?, state = ?, timings_json = ?, stop_type = ?, stopping_word = ?, "
                "truncated = ?, tokens_cached = ?, ttft_ms = ?, settings_json = ?, error = ?, reasoning = ?, "
                "probs_json = ? WHERE id = ?",
                (*_message_values(message), mid),
            )
            if cur.rowcount == 0:
                raise StoreNotFound(f"no message {mid}")

    def get_message(self, message_id: int) -> Message:
        with self._reading() as conn:
            row = conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise StoreNotFound(f"no message {message_id}")
        return _message(row)

    def active_path(self, session_id: int) -> list[Message]:
        """The messages from the root to the session's head, in order ([] if no head)."""
        sql = f"""
            WITH RECURSIVE path(id, depth) AS (
                SELECT head_id, 0 FROM sessions WHERE id = :sid AND head_id IS NOT NULL
                UNION ALL
                SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
                WHERE m.parent_id IS NOT NULL AND m.session_id = :sid
            )
            SELECT {_MESSAGE_COLUMNS} FROM path JOIN messages USING (id) ORDER BY path.depth DESC
        """
        with self._reading() as conn:
            rows = conn.execute(sql, {"sid": session_id}).fetchall()
        return [_message(r) for r in rows]

    def siblings(self, message_id: int) -> list[Message]:
        """Messages with the same parent in the same session (the message itself included),
        oldest first: the alternatives made by edit and regenerate."""
        sql = f"""
            SELECT {_MESSAGE_COLUMNS} FROM messages
            WHERE session_id = (SELECT session_id FROM messages WHERE id = :mid)
              AND parent_id IS (SELECT parent_id FROM messages WHERE id = :mid)
            ORDER BY id
        """
        with self._reading() as conn:
            rows = conn.execute(sql, {"mid": message_id}).fetchall()
        if not rows:
            raise StoreNotFound(f"no message {message_id}")
        return [_message(r) for r in rows]

    def set_head(self, session_id: int, message_id: int | None) -> None:
        """Make `message_id` the end of the active path (switching branch). Does not bump updated_at."""
        with self._writing() as conn:
            self._session_exists(conn, session_id)
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

    def session_messages(self, session_id: int) -> list[Message]:
        """Every message of the session's tree (all branches), in id order, so a parent always
        comes before its children. [] for a session without messages."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        return [_message(r) for r in rows]

    def import_session(self, session: Session, messages: Sequence[Message]) -> Session:
        """Insert a session and its whole message tree in one transaction, keeping every field as
        given, created_at/updated_at included (import, restore). Each message carries an id local to
        this call and comes after its parent; parent_id and session.head_id refer to those local
        ids and are remapped. Returns the new session."""
        if session.id is not None:
            raise ValueError(f"session already has id {session.id}")
        with self._writing() as conn:
            new_sid = _insert_session(conn, session, session.created_at, session.updated_at)
            mapping: dict[int, int] = {}
            for m in messages:
                _check_message(m)
                if m.id is None or m.id in mapping:
                    raise ValueError(f"imported messages need distinct ids, got {m.id!r}")
                if m.parent_id is not None and m.parent_id not in mapping:
                    raise ValueError(f"message {m.id} comes before its parent {m.parent_id}")
                parent = None if m.parent_id is None else mapping[m.parent_id]
                mapping[m.id] = _insert_message(conn, m, new_sid, parent, m.created_at)
            if session.head_id is not None and session.head_id not in mapping:
                raise ValueError(f"the head {session.head_id} is not one of the messages")
            head = None if session.head_id is None else mapping[session.head_id]
            conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (head, new_sid))
        assert new_sid is not None
        return self.get_session(new_sid)

    def search(
        self, query: str, limit: int = 50, *, highlight: tuple[str, str] = ("", "")
    ) -> list[tuple[SessionSummary, Message, str]]:
        """Messages (of sessions not deleted) containing every word of `query`, best match first,
        each with its session and a one-line snippet; matches are wrapped in `highlight`."""
        summary_cols = (
            f"s.id AS s_id, s.title AS s_title, s.updated_at AS s_updated_at, s.pinned AS s_pinned, "
            f"{_MESSAGE_COUNT} AS s_count"
        )
        message_cols = ", ".join(f"msg.{c.strip()} AS {c.strip()}" for c in _MESSAGE_COLUMNS.split(","))
        start, end = highlight
        if self.fts_enabled:
            fts = _fts_query(query)
            if fts is None:
                return []
            sql = f"""
                SELECT {summary_cols}, {message_cols},
                       snippet(messages_fts, 0, :start, :end, '…', 16) AS snip
                FROM messages_fts
                JOIN messages msg ON msg.id = messages_fts.rowid
                JOIN sessions s ON s.id = msg.session_id
                WHERE messages_fts MATCH :q AND s.deleted_at IS NULL
                ORDER BY messages_fts.rank, msg.id DESC LIMIT :limit
            """
            with self._reading() as conn:
                rows = conn.execute(sql, {"q": fts, "start": start, "end": end, "limit": limit}).fetchall()
            return [(_summary(r), _message(r), " ".join(r["snip"].split())) for r in rows]
        terms = [t for t in query.split() if t]
        if not terms:
            return []
        escaped = ["%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for t in terms]
        where = " AND ".join("msg.content LIKE ? ESCAPE '\\'" for _ in terms)
        sql = f"""
            SELECT {summary_cols}, {message_cols} FROM messages msg JOIN sessions s ON s.id = msg.session_id
            WHERE {where} AND s.deleted_at IS NULL ORDER BY msg.id DESC LIMIT ?
        """
        with self._reading() as conn:
            rows = conn.execute(sql, (*escaped, limit)).fetchall()
        return [
            (_summary(r), _message(r), " ".join(_like_snippet(r["content"], terms, start, end).split())) for r in rows
        ]

    def data_version(self) -> int:
        """Changes whenever another connection (another llama-tui) commits to the file."""
        with self._reading() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _id(value: int | None, what: str) -> int:
        if value is None:
            raise ValueError(f"the {what} has no id (not saved yet)")
        return value

    def _update_one(self, sql: str, params: tuple[Any, ...], session_id: int) -> None:
        with self._writing(transaction=False) as conn:
            if conn.execute(sql, (*params, session_id)).rowcount == 0:
                raise StoreNotFound(f"no session {session_id}")
