"""The store's connection: opening a file safely (or read-only), transactions, and the per-session
change counter that lets two instances notice each other's writes. Store (store.py) builds on it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .errors import Corrupt, StoreCorrupt, StoreError, StoreNotFound, StoreWriteError
from .rows import SessionStamp, casefold
from .schema import (
    FTS_TABLE,
    FTS_TRIGGERS,
    SCHEMA_VERSION,
    fts5_available,
    is_corruption,
    move_aside,
    open_checked,
    open_read_only,
    write_error,
)


class StoreBase:
    """One SQLite connection to a store file, shared across threads behind a lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Callable[[], float]) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._clock = clock
        self.path = path
        self.recovered_from: Path | None = None  # where a damaged store was moved, if it was
        self.fts_enabled = False
        self.read_only: str | None = None
        """Why the store was opened read-only (e.g. "the folder /x is read-only"), or None."""
        self.schema_version = SCHEMA_VERSION
        self.on_restored: Callable[[int], object] | None = None
        """Called with a session's id after a write of this store took it out of the trash
        (another instance had deleted it). In the thread that wrote, after the commit."""
        self._seen: dict[int, int] = {}  # session id -> the revision this instance last saw
        self._after_commit: list[int] = []  # sessions a write in progress takes out of the trash

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, clock: Callable[[], float] = time.time, *, recover: bool = True, read_only: bool = False
    ) -> Self:
        """Open (creating if needed) the store at `path`. Raises StoreTooNew for a newer schema
        and StoreError if the file cannot be opened. A damaged file is moved aside and replaced,
        or with recover=False left as it is (StoreCorrupt). A store that exists but cannot be
        written (read-only folder or file) opens read-only, as does every store with read_only=True
        (nothing is then created or changed): `read_only` says why."""
        path = Path(path)
        if read_only:
            return cls._open_read_only(path, clock, "opened for reading only")
        unwritable = _unwritable(path)
        if unwritable is not None:
            return cls._open_read_only(path, clock, unwritable)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StoreError(f"cannot create the folder {path.parent}: {e.strerror or e}") from e
        recovered: Path | None = None
        try:
            conn = cls._open_checked(path)
        except (sqlite3.DatabaseError, Corrupt) as e:
            if isinstance(e, sqlite3.Error) and not is_corruption(e):
                raise StoreError(f"cannot open the session store {path}: {e}") from e
            if not recover:
                raise StoreCorrupt(path, str(e)) from e
            try:
                recovered = move_aside(path, clock())
                conn = cls._open_checked(path)
            except (sqlite3.Error, Corrupt, OSError) as e2:
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
    def _open_read_only(cls, path: Path, clock: Callable[[], float], why: str) -> Self:
        if not path.exists():
            raise StoreNotFound(f"there is no session store at {path}")
        try:
            conn, version = open_read_only(path, cls._connect, casefold)
        except Corrupt as e:
            raise StoreCorrupt(path, str(e)) from e
        except sqlite3.Error as e:
            if is_corruption(e):
                raise StoreCorrupt(path, str(e)) from e
            raise StoreError(f"cannot open the session store {path}: {e}") from e
        except OSError as e:
            raise StoreError(f"cannot read the session store {path}: {e.strerror or e}") from e
        store = cls(conn, path, clock)
        store.read_only = why
        store.schema_version = version
        store.fts_enabled = store._ensure_fts()
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
        return open_checked(path, cls._connect, casefold)

    def _ensure_fts(self) -> bool:
        """Make the FTS triggers match this SQLite build (see the module notes). Returns whether
        FTS search can be used. Failing to fix it (a read-only store) is not fatal."""
        conn = self._require_open()
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'messages_fts_%'")
        present = {str(r[0]) for r in rows}
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone() is not None
        available = fts5_available()
        if available and has_table and present == set(FTS_TRIGGERS):
            return True
        if not available and not present:
            return False
        try:
            with self._writing() as c:
                for name in present:
                    c.execute(f"DROP TRIGGER {name}")
                if available:
                    c.execute(FTS_TABLE)
                    for sql in FTS_TRIGGERS.values():
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

    def __enter__(self) -> Self:
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
        raised as StoreWriteError. Other exceptions (KeyError, ValueError) roll back and pass.
        What _bump noted (seen revisions, resurrected sessions) takes effect only on commit."""
        with self._lock:
            conn = self._require_open()
            if self.read_only is not None:
                raise StoreWriteError(f"Cannot save to {self.path}: {self.read_only}")
            seen_before = dict(self._seen)
            self._after_commit = []
            try:
                if transaction:
                    conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    if transaction:
                        conn.execute("COMMIT")
                except BaseException:
                    self._seen = seen_before
                    self._after_commit = []
                    if conn.in_transaction:
                        with suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise write_error(self.path, e) from e
            restored, self._after_commit = self._after_commit, []
        if self.on_restored is not None:
            for session_id in restored:
                self.on_restored(session_id)

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

    # -- change detection ---------------------------------------------------------------------

    def watch(self, session_id: int) -> SessionStamp:
        """The session's current stamp, remembered as seen by this instance: call it when the
        session is (re)loaded on screen. This instance's own writes keep it up to date."""
        stamp = self.stamp(session_id)
        with self._lock:
            self._seen[session_id] = stamp.revision
        return stamp

    def changed_elsewhere(self, session_id: int) -> SessionStamp | None:
        """The session's stamp if another instance (or connection) changed it since `watch`, else
        None (also None for a session never watched). One indexed read: cheap before each send."""
        with self._lock:
            seen = self._seen.get(session_id)
        if seen is None:
            return None
        stamp = self.stamp(session_id)
        return None if stamp.revision == seen else stamp

    def stamp(self, session_id: int) -> SessionStamp:
        """Revision and deleted_at of a session (in the trash or not); StoreNotFound if purged."""
        column = "revision" if self.schema_version >= 2 else "0"
        with self._reading() as conn:
            row = conn.execute(f"SELECT {column}, deleted_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise StoreNotFound(f"no session {session_id}")
        return SessionStamp(int(row[0]), None if row[1] is None else float(row[1]))

    def data_version(self) -> int:
        """Changes whenever another connection (another llama-tui) commits to the file."""
        with self._reading() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    # -- helpers ------------------------------------------------------------------------------

    def _bump(self, conn: sqlite3.Connection, session_id: int, *, resurrect: bool = True) -> None:
        """Inside a write transaction: count a change of the session (its revision), take it out
        of the trash if `resurrect` (reported to on_restored after the commit), and keep this
        instance's seen revision current unless someone else changed the session meanwhile."""
        row = conn.execute("SELECT revision, deleted_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise StoreNotFound(f"no session {session_id}")
        before, deleted_at = int(row[0]), row[1]
        if resurrect and deleted_at is not None:
            conn.execute("UPDATE sessions SET revision = ?, deleted_at = NULL WHERE id = ?", (before + 1, session_id))
            self._after_commit.append(session_id)
        else:
            conn.execute("UPDATE sessions SET revision = ? WHERE id = ?", (before + 1, session_id))
        if self._seen.get(session_id) == before:
            self._seen[session_id] = before + 1

    @staticmethod
    def _id(value: int | None, what: str) -> int:
        if value is None:
            raise ValueError(f"the {what} has no id (not saved yet)")
        return value

    def _update_one(self, sql: str, params: tuple[Any, ...], session_id: int) -> None:
        with self._writing(transaction=False) as conn:
            if conn.execute(sql, (*params, session_id)).rowcount == 0:
                raise StoreNotFound(f"no session {session_id}")


def _unwritable(path: Path) -> str | None:
    """Why an existing store cannot be written (its folder or the file is read-only), or None.
    SQLite in WAL mode must create files next to the store, so the folder counts too."""
    if not path.exists():
        return None
    if not os.access(path.parent, os.W_OK):
        return f"the folder {path.parent} is read-only"
    if not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    return None
