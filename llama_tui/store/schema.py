"""The store's schema: numbered migrations, the full-text index, and opening a file safely.

* The schema is versioned with ``PRAGMA user_version``; ``MIGRATIONS`` is applied in order, each
  in the same transaction as the version bump. A file from a newer llama-tui is refused untouched.
* Full-text search uses an FTS5 table kept in sync by triggers. It is managed outside the numbered
  migrations because it depends on the SQLite build (see Store._ensure_fts).
* A damaged file is moved aside (never deleted) with its -wal/-shm/-journal.
* A store that cannot be written (a read-only folder or file) is opened read-only, without
  migrations: `open_read_only` (SQLite's mode=ro; `immutable` when there is no -wal to read and
  no -shm can be made, as in a read-only folder after a clean exit).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final

from .errors import Corrupt, StoreError, StoreTooNew, StoreWriteError

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
    # 2: a per-session change counter, bumped by every write to the session or its messages, so an
    # instance can tell cheaply that another one changed the session it shows (Store.changed_elsewhere).
    ("ALTER TABLE sessions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",),
    # 3: what an answer carries beyond the server's figures (reasoning tally, edits, constraints,
    # restored caches...) and a session's template options (thinking on/off, reasoning effort...)
    (
        "ALTER TABLE messages ADD COLUMN meta_json TEXT",
        "ALTER TABLE sessions ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}'",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

FTS_TABLE: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id')"
)
FTS_TRIGGERS: Final[dict[str, str]] = {
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

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
CORRUPT_CODES: Final = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
WRITE_HINTS: Final[dict[int, str]] = {
    5: "another llama-tui is busy writing to it",  # SQLITE_BUSY
    8: "the file or its folder is read-only",  # SQLITE_READONLY
    10: "a disk I/O error occurred",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
}
SIDE_FILES: Final = ("-wal", "-shm", "-journal")


@functools.cache
def fts5_available() -> bool:
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x)")
        return True
    except sqlite3.Error:
        return False
    finally:
        probe.close()


def is_corruption(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in CORRUPT_CODES
    return type(error) is sqlite3.DatabaseError


def write_error(path: Path, error: sqlite3.Error) -> StoreWriteError:
    code = getattr(error, "sqlite_errorcode", None)
    hint = WRITE_HINTS.get(code & 0xFF) if code is not None else None
    return StoreWriteError(f"Cannot save to {path}: {error}" + (f" ({hint})" if hint else ""))


def move_aside(path: Path, now: float) -> Path:
    """Rename a damaged store (and its -wal/-shm/-journal) to a name that does not exist yet."""
    stamp = datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        target = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n else ""))
        if not any(Path(str(target) + s).exists() for s in ("", *SIDE_FILES)):
            break
    else:  # pragma: no cover - a thousand damaged stores in one second
        raise StoreError(f"cannot move the damaged store {path} aside")
    for suffix in SIDE_FILES:
        side = Path(str(path) + suffix)
        if side.exists():
            side.rename(str(target) + suffix)
    path.rename(target)
    return target


def open_checked(
    path: Path, connect: Callable[..., sqlite3.Connection], casefold: Callable[[str | None], str]
) -> sqlite3.Connection:
    """A connection to a checked, migrated store at `path` (Corrupt / StoreTooNew otherwise)."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            # SQLite would silently overwrite a short non-database file; check the magic first.
            if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                raise Corrupt("not an SQLite database")
        # Look with a read-only connection first: closing a read-write one would checkpoint a
        # leftover WAL into the file, and a store from a newer version must stay untouched. With
        # no -wal, immutable mode looks without creating a -wal/-shm beside a refused file.
        if Path(str(path) + "-wal").exists():
            probe = connect(path, read_only=True)
        else:
            probe = sqlite3.connect(path.absolute().as_uri() + "?immutable=1", uri=True, isolation_level=None)
        _check(probe, path).close()
    conn = connect(path)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; only the last commit can be lost
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        conn.create_function("casefold", 1, casefold, deterministic=True)
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_read_only(
    path: Path, connect: Callable[..., sqlite3.Connection], casefold: Callable[[str | None], str]
) -> tuple[sqlite3.Connection, int]:
    """A read-only connection to the checked store at `path` and its schema version (Corrupt /
    StoreTooNew otherwise). Nothing is written, migrated or created; a damaged or newer store is
    refused before SQLite makes any -wal or -shm file beside it."""
    with path.open("rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise Corrupt("not an SQLite database")
    immutable_uri = path.absolute().as_uri() + "?immutable=1"
    has_wal = Path(str(path) + "-wal").exists()
    if not has_wal:
        # No -wal: the main file holds everything, and immutable mode reads it without creating
        # the -wal/-shm a read-only WAL connection would (a refused store stays alone).
        _check(sqlite3.connect(immutable_uri, uri=True, timeout=5.0, isolation_level=None), path).close()
    try:
        conn = connect(path, read_only=True)
        conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        if has_wal:
            raise
        # A folder where no -shm can be made (read-only): immutable mode is the only way in.
        conn = sqlite3.connect(immutable_uri, uri=True, timeout=5.0, isolation_level=None, check_same_thread=False)
    try:
        found = _check(conn, path).execute("PRAGMA user_version").fetchone()[0]
        conn.row_factory = sqlite3.Row
        conn.create_function("casefold", 1, casefold, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn, int(found)


def _check(conn: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    """`conn` if its store is one this version reads and sound; StoreTooNew / Corrupt (and the
    connection closed) otherwise."""
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise StoreTooNew(path, found, SCHEMA_VERSION)
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise Corrupt("; ".join(problems))
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> None:
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
