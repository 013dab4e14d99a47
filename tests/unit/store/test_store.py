"""The session store on real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreNotFound,
    StoreTooNew,
    StoreWriteError,
)
from llama_tui.store import connection as store_mod  # where the store checks for FTS5
from llama_tui.store import schema as schema_mod


class Clock:
    """Deterministic time: every reading is one second after the previous one."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions.sqlite3"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(db_path, clock=clock) as s:
        yield s


def new_session(store: Store, title: str = "chat", **kw: object) -> Session:
    return store.create_session(Session(title=title, **kw))  # type: ignore[arg-type]


def say(
    store: Store, session: Session, text: str, parent: ChatMessage | None = None, role: str = "user"
) -> ChatMessage:
    assert session.id is not None
    return store.add_message(
        ChatMessage(role=role, content=text, session_id=session.id, parent_id=parent.id if parent else None)  # type: ignore[arg-type]
    )


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


# -- opening, schema, migrations ---------------------------------------------------------------


def test_open_creates_dir_and_schema(db_path: Path, store: Store) -> None:
    assert db_path.is_file()
    assert store.recovered_from is None
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"sessions", "messages", "sessions_list", "messages_tree", "messages_fts"} <= names
    assert store.fts_enabled


@pytest.mark.parametrize("kind", ["missing", "empty file", "empty database"])
def test_migrates_from_nothing_to_the_current_version(db_path: Path, kind: str) -> None:
    db_path.parent.mkdir(parents=True)
    if kind == "empty file":
        db_path.write_bytes(b"")
    elif kind == "empty database":
        conn = raw(db_path)
        conn.execute("PRAGMA user_version = 0")
        conn.execute("VACUUM")  # forces a real (empty) database file to be written
        conn.close()
    with Store.open(db_path) as s:
        assert s.recovered_from is None
        assert s.list_sessions() == []
    assert raw(db_path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_failed_migration_rolls_back_and_later_ones_apply(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store.open(db_path).close()
    current = SCHEMA_VERSION
    bad = (*schema_mod.MIGRATIONS, ("CREATE TABLE extra (x)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema_mod, "MIGRATIONS", bad)
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", current + 1)
    with pytest.raises(StoreError):
        Store.open(db_path)
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == current
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'extra'").fetchone() is None
    conn.close()
    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*schema_mod.MIGRATIONS[:current], ("CREATE TABLE extra (x)",)))
    with Store.open(db_path) as s:
        assert s._conn is not None
        assert s._conn.execute("PRAGMA user_version").fetchone()[0] == current + 1
        assert s._conn.execute("SELECT count(*) FROM extra").fetchone()[0] == 0


def test_newer_store_is_refused_and_left_byte_identical(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = raw(db_path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db_path.read_bytes()
    mtime = db_path.stat().st_mtime_ns
    with pytest.raises(StoreTooNew) as info:
        Store.open(db_path)
    assert (info.value.found, info.value.supported, info.value.path) == (99, SCHEMA_VERSION, db_path)
    assert "newer llama-tui" in str(info.value)
    assert isinstance(info.value, StoreError)
    assert db_path.read_bytes() == before
    assert db_path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_newer_store_with_leftover_wal_is_not_checkpointed(db_path: Path, tmp_path: Path) -> None:
    # A newer llama-tui that crashed leaves a -wal; a read-write close would fold it into the file.
    live = tmp_path / "live.sqlite3"
    conn = raw(live)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 7")
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(live.read_bytes())
    Path(f"{db_path}-wal").write_bytes(Path(f"{live}-wal").read_bytes())
    conn.close()
    main, wal = db_path.read_bytes(), Path(f"{db_path}-wal").read_bytes()
    with pytest.raises(StoreTooNew) as info:
        Store.open(db_path)
    assert info.value.found == 7  # read through the WAL
    assert db_path.read_bytes() == main
    assert Path(f"{db_path}-wal").read_bytes() == wal


def _corrupt_name(db_path: Path, when: float) -> str:
    return f"{db_path.name}.corrupt-{datetime.fromtimestamp(when).strftime('%Y%m%d-%H%M%S')}"


@pytest.mark.parametrize("garbage", [b"this is not a database\n" * 200, b"x"])
def test_garbage_file_is_moved_aside_intact(db_path: Path, garbage: bytes) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(garbage)
    Path(f"{db_path}-wal").write_bytes(b"wal garbage")
    clock = Clock()
    with Store.open(db_path, clock=clock) as s:
        assert s.recovered_from is not None
        assert s.recovered_from.name == _corrupt_name(db_path, 1_700_000_001.0)
        assert s.recovered_from.read_bytes() == garbage
        assert Path(f"{s.recovered_from}-wal").read_bytes() == b"wal garbage"
        session = new_session(s, "fresh start")
        say(s, session, "works")
        assert [x.title for x in s.list_sessions()] == ["fresh start"]
    assert db_path.read_bytes().startswith(b"SQLite format 3\x00")


def test_damaged_database_is_moved_aside(db_path: Path) -> None:
    with Store.open(db_path) as s:
        for i in range(300):
            say(s, new_session(s, f"t{i}"), "hello " * 50)
    data = bytearray(db_path.read_bytes())
    data[4096 * 3 : 4096 * 4] = b"\xab" * 4096  # trash one page in the middle
    db_path.write_bytes(bytes(data))
    with Store.open(db_path) as s:
        assert s.recovered_from is not None
        assert s.recovered_from.read_bytes() == bytes(data)
        assert s.list_sessions() == []


def test_moving_aside_never_overwrites(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    taken = db_path.with_name(_corrupt_name(db_path, 1_700_000_001.0))
    taken.write_bytes(b"an earlier casualty")
    db_path.write_bytes(b"garbage" * 100)
    with Store.open(db_path, clock=Clock()) as s:
        assert s.recovered_from == taken.with_name(taken.name + "-1")
    assert taken.read_bytes() == b"an earlier casualty"


def test_closed_store_and_context_manager(db_path: Path) -> None:
    with Store.open(db_path) as s:
        pass
    with pytest.raises(StoreError, match="closed"):
        s.list_sessions()
    s.close()  # twice is fine


# -- write failures ----------------------------------------------------------------------------
# Tests run as root, so chmod cannot make anything read-only. These simulate the same SQLite
# error codes the real conditions produce (SQLITE_READONLY, SQLITE_FULL) and prove that they are
# wrapped, rolled back, and that the store carries on once the condition clears.


def test_read_only_connection_gives_store_write_error(store: Store) -> None:
    session = new_session(store)
    assert store._conn is not None
    store._conn.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreWriteError, match="read-only") as info:
        say(store, session, "hello")
    assert str(store.path) in str(info.value)
    assert not store._conn.in_transaction
    assert store.active_path(session.id or 0) == []  # nothing half-written; reads still work
    store._conn.execute("PRAGMA query_only = OFF")
    say(store, session, "hello again")
    assert [m.content for m in store.active_path(session.id or 0)] == ["hello again"]


def test_disk_full_gives_store_write_error(store: Store) -> None:
    session = new_session(store)
    answer = say(store, session, "", role="assistant")
    assert store._conn is not None
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    with pytest.raises(StoreWriteError, match="disk is full"):
        store.update_message(answer.replace(content="x" * 200_000))
    with pytest.raises(StoreWriteError, match="disk is full"):
        store.add_message(ChatMessage(role="user", content="y" * 200_000, session_id=session.id))
    assert store.get_message(answer.id or 0).content == ""
    assert len(store.active_path(session.id or 0)) == 1


def test_read_only_file_opens_for_reading(db_path: Path) -> None:
    """A store opened through SQLite's read-only mode (what a read-only file gives a non-root user)."""

    class ReadOnlyStore(Store):
        @classmethod
        def _connect(cls, path: Path, *, read_only: bool = False) -> sqlite3.Connection:
            return super()._connect(path, read_only=True)

    with Store.open(db_path) as s:
        session = new_session(s, "kept")
        first = say(s, session, "hello")
    with ReadOnlyStore.open(db_path) as ro:
        assert [x.title for x in ro.list_sessions()] == ["kept"]
        with pytest.raises(StoreWriteError):
            ro.rename_session(session.id or 0, "new")
        with pytest.raises(StoreWriteError):
            ro.update_message(first.replace(content="changed"))
        with pytest.raises(StoreWriteError):
            say(ro, session, "more")
        assert ro.get_message(first.id or 0).content == "hello"


# -- sessions ----------------------------------------------------------------------------------


def test_session_round_trip_and_timestamps(store: Store, clock: Clock) -> None:
    settings = SamplingSettings({"temperature": 0.7, "stop": ["</s>", "\n\n"], "seed": 42})
    s = store.create_session(
        Session(title="t", template="chatml", system_prompt="be brief", settings=settings, server="http://x", model="m")
    )
    assert s.id is not None and s.created_at == s.updated_at == clock.now
    got = store.get_session(s.id)
    assert got == s
    assert got.settings.values == settings.values

    store.save_draft(s.id, "half a thought")
    store.set_pinned(s.id, True)
    got = store.get_session(s.id)
    assert (got.draft, got.pinned, got.updated_at) == ("half a thought", True, s.updated_at)  # no bump

    store.rename_session(s.id, "renamed")
    assert store.get_session(s.id).updated_at > s.updated_at

    got.title, got.template, got.model = "again", "llama3", "other"
    got.settings.set("top_k", 40)
    store.update_session(got)
    after = store.get_session(s.id)
    assert (after.title, after.template, after.model, after.settings.get("top_k")) == ("again", "llama3", "other", 40)
    assert after.draft == "half a thought" and after.updated_at > got.updated_at


def test_missing_things_raise_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        store.get_session(999)
    with pytest.raises(KeyError):
        store.get_message(999)
    with pytest.raises(KeyError):
        store.rename_session(999, "x")
    with pytest.raises(KeyError):
        store.add_message(ChatMessage(role="user", content="x", session_id=999))
    with pytest.raises(KeyError):
        store.update_message(ChatMessage(role="user", content="x", id=999))
    with pytest.raises(StoreNotFound) as info:
        store.siblings(999)
    assert isinstance(info.value, StoreError) and str(info.value) == "no message 999"


def test_invalid_arguments(store: Store) -> None:
    a, b = new_session(store, "a"), new_session(store, "b")
    in_a = say(store, a, "hi")
    with pytest.raises(ValueError, match="belongs to session"):
        say(store, b, "reply", parent=in_a)
    with pytest.raises(ValueError, match="role"):
        store.add_message(ChatMessage(role="robot", content="x", session_id=a.id))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already has id"):
        store.add_message(in_a)
    with pytest.raises(ValueError):
        store.set_head(b.id or 0, in_a.id)
    b.head_id = in_a.id
    with pytest.raises(ValueError):
        store.update_session(b)


def test_list_sessions_order_filter_and_counts(store: Store) -> None:
    old = new_session(store, "Über alles")
    pinned = new_session(store, "pinned one")
    newest = new_session(store, "100% fun_stuff")
    store.set_pinned(pinned.id or 0, True)
    say(store, old, "bump")  # add_message bumps old to the most recent
    say(store, old, "two")
    listed = store.list_sessions()
    assert [s.title for s in listed] == ["pinned one", "Über alles", "100% fun_stuff"]
    assert [s.message_count for s in listed] == [0, 2, 0]
    assert listed[0].pinned and not listed[1].pinned
    assert [s.id for s in store.list_sessions("ÜBER")] == [old.id]  # Unicode case folding
    assert [s.id for s in store.list_sessions("  über ")] == [old.id]
    assert [s.id for s in store.list_sessions("% F")] == [newest.id]  # no LIKE wildcards
    assert store.list_sessions("_") == store.list_sessions("fun_")
    assert store.list_sessions("nothing like it") == []
    assert len(store.list_sessions(limit=2)) == 2


# -- messages and the tree ---------------------------------------------------------------------


def test_add_message_sets_head_and_bumps(store: Store, clock: Clock) -> None:
    s = new_session(store)
    m = say(store, s, "hello")
    assert m.id is not None and m.created_at == clock.now and m.session_id == s.id
    got = store.get_session(s.id or 0)
    assert got.head_id == m.id and got.updated_at == clock.now
    assert store.get_message(m.id) == m


def test_update_message_round_trips_every_field_without_bumping(store: Store) -> None:
    s = new_session(store)
    q = say(store, s, "q")
    a = store.add_message(ChatMessage(role="assistant", content="", session_id=s.id, parent_id=q.id, state="streaming"))
    bumped = store.get_session(s.id or 0).updated_at
    done = a.replace(
        content="answer",
        state="complete",
        timings={"predicted_per_second": 41.5, "prompt_n": 12},
        stop_type="word",
        stopping_word="</s>",
        truncated=True,
        tokens_cached=7,
        ttft_ms=123.4,
        settings={"temperature": 0.2, "stop": ["x"]},
        error=None,
        reasoning="thinking…",
        probs=[{"id": 1, "token": "a", "logprob": -0.1}],
    )
    store.update_message(done)
    assert store.get_message(a.id or 0) == done
    assert store.get_session(s.id or 0).updated_at == bumped


def test_branch_tree_edit_regenerate_and_switch(store: Store) -> None:
    s = new_session(store)
    u1 = say(store, s, "first question")
    a1 = say(store, s, "first answer", parent=u1, role="assistant")
    u2 = say(store, s, "follow-up", parent=a1)
    a2 = say(store, s, "follow-up answer", parent=u2, role="assistant")
    assert [m.id for m in store.active_path(s.id or 0)] == [u1.id, a1.id, u2.id, a2.id]

    # Regenerate the first answer: a sibling of a1 becomes the head.
    a1b = say(store, s, "another first answer", parent=u1, role="assistant")
    assert [m.id for m in store.active_path(s.id or 0)] == [u1.id, a1b.id]
    assert [m.id for m in store.siblings(a1.id or 0)] == [a1.id, a1b.id]

    # Edit the first question: a new root, sibling of u1 (parent None).
    u1e = say(store, s, "edited question")
    assert [m.id for m in store.siblings(u1.id or 0)] == [u1.id, u1e.id]
    assert [m.id for m in store.active_path(s.id or 0)] == [u1e.id]

    # Switch back to the original question: its newest leaf is the regenerated answer.
    assert store.latest_leaf(u1.id or 0) == a1b.id
    assert store.latest_leaf(a1.id or 0) == a2.id
    assert store.latest_leaf(a2.id or 0) == a2.id
    store.set_head(s.id or 0, store.latest_leaf(a1.id or 0))
    assert [m.content for m in store.active_path(s.id or 0)] == [
        "first question",
        "first answer",
        "follow-up",
        "follow-up answer",
    ]
    assert store.get_session(s.id or 0).head_id == a2.id
    store.set_head(s.id or 0, None)
    assert store.active_path(s.id or 0) == []


def test_mark_streaming_interrupted(store: Store) -> None:
    s = new_session(store)
    q = say(store, s, "q")
    a = store.add_message(
        ChatMessage(role="assistant", content="partial", session_id=s.id, parent_id=q.id, state="streaming")
    )
    assert store.mark_streaming_interrupted() == 1
    assert store.get_message(a.id or 0).state == "interrupted"
    assert store.get_message(a.id or 0).content == "partial"
    assert store.mark_streaming_interrupted() == 0


def test_duplicate_keeps_the_whole_tree(store: Store) -> None:
    s = new_session(store, "original", system_prompt="sys", settings=SamplingSettings({"temperature": 0.1}))
    store.set_pinned(s.id or 0, True)
    u1 = say(store, s, "q")
    a1 = say(store, s, "a", parent=u1, role="assistant")
    say(store, s, "a regenerated", parent=u1, role="assistant")
    u2 = say(store, s, "q2", parent=a1)
    store.set_head(s.id or 0, u2.id)

    copy = store.duplicate_session(s.id or 0)
    assert copy.id != s.id and copy.title == "original (copy)" and not copy.pinned
    assert (copy.system_prompt, copy.settings.values) == ("sys", {"temperature": 0.1})
    path = store.active_path(copy.id or 0)
    assert [m.content for m in path] == ["q", "a", "q2"]
    assert all(m.session_id == copy.id for m in path)
    assert {m.id for m in path}.isdisjoint({u1.id, a1.id, u2.id})
    assert [m.content for m in store.siblings(path[1].id or 0)] == ["a", "a regenerated"]
    assert [x.message_count for x in store.list_sessions() if x.id == copy.id] == [4]
    # The original is untouched.
    assert [m.id for m in store.active_path(s.id or 0)] == [u1.id, a1.id, u2.id]


def test_soft_delete_restore_and_purge(store: Store, clock: Clock) -> None:
    keep, gone = new_session(store, "keep"), new_session(store, "gone")
    say(store, gone, "searchable zebra")
    store.delete_session(gone.id or 0)
    assert [x.title for x in store.list_sessions()] == ["keep"]
    with pytest.raises(KeyError):
        store.get_session(gone.id or 0)
    assert store.search("zebra") == []

    store.restore_session(gone.id or 0)
    assert [x.title for x in store.list_sessions()] == ["gone", "keep"]
    assert len(store.search("zebra")) == 1

    store.delete_session(gone.id or 0)
    assert store.purge_deleted(older_than_s=3600) == 0  # too recent
    clock.now += 7200
    assert store.purge_deleted(older_than_s=3600) == 1
    with pytest.raises(KeyError):
        store.restore_session(gone.id or 0)
    assert store._conn is not None
    assert store._conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0  # cascaded
    store._conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    assert [x.id for x in store.list_sessions()] == [keep.id]


def test_a_blank_session_is_dropped_for_good_and_one_with_anything_in_it_is_kept(store: Store) -> None:
    blank = new_session(store, "")
    assert store.drop_blank_session(blank.id or 0)
    assert store.list_trash() == [] and store.list_sessions() == []
    assert not store.drop_blank_session(blank.id or 0)  # gone already
    titled, drafted, spoken = (new_session(store, t) for t in ("titled", "", ""))
    prompted = new_session(store, "", system_prompt="be brief")
    store.save_draft(drafted.id or 0, "half a thought")
    say(store, spoken, "hello")
    store.rename_session(spoken.id or 0, "")
    trashed = new_session(store, "")
    store.delete_session(trashed.id or 0)
    for kept in (titled, drafted, prompted, spoken, trashed):
        assert not store.drop_blank_session(kept.id or 0)
    assert len(store.list_sessions()) == 4 and [t.id for t in store.list_trash()] == [trashed.id]


# -- search ------------------------------------------------------------------------------------


def test_search_finds_words_and_tolerates_punctuation(store: Store) -> None:
    s = new_session(store, "maths")
    m = say(store, s, "The function foo(x) returns the square of x.\nUseful for geometry.")
    say(store, new_session(store, "other"), "nothing to see")
    hits = store.search("square")
    assert len(hits) == 1
    summary, message, snippet = hits[0]
    assert (summary.id, summary.title, summary.message_count) == (s.id, "maths", 1)
    assert message == m
    assert "square" in snippet and "\n" not in snippet
    assert store.search("SQUARE foo")[0][1].id == m.id  # all words, any case
    assert store.search("geom")[0][1].id == m.id  # last word matches as a prefix
    assert store.search("square absent") == []
    assert store.search("squ", highlight=("[", "]"))[0][2].count("[square]") == 1
    for nasty in [
        '"foo(',
        "foo)",
        "AND",
        "OR NOT",
        "*",
        "a:b",
        "'",
        '""',
        "(",
        "NEAR(",
        "-foo",
        "^x",
        "{x}",
        "   ",
        "",
    ]:
        store.search(nasty)  # must not raise
    assert store.search('"foo(')[0][1].id == m.id


def test_search_index_follows_edits(store: Store) -> None:
    s = new_session(store)
    m = say(store, s, "draft about apples")
    store.update_message(m.replace(content="final text about pears"))
    assert store.search("apples") == []
    assert [h[1].id for h in store.search("pears")] == [m.id]


def test_search_falls_back_to_like_without_fts5(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(db_path) as s:
        session = new_session(s)
        say(s, session, "indexed while FTS5 was there")
    monkeypatch.setattr(store_mod, "fts5_available", lambda: False)
    with Store.open(db_path) as s:
        assert not s.fts_enabled
        say(s, session, "added without FTS5: 100% under_score")  # would fail if the triggers remained
        assert [h[1].content for h in s.search("fts5 there")] == ["indexed while FTS5 was there"]
        assert len(s.search("100%")) == 1 and s.search("1000%") == [] and len(s.search("under_")) == 1
        assert s.search("FTS5", highlight=("<", ">"))[0][2].count("<FTS5>") == 1
        for nasty in ['"foo(', "%", "_", "\\", ""]:
            s.search(nasty)
    monkeypatch.setattr(store_mod, "fts5_available", lambda: True)
    with Store.open(db_path) as s:
        assert s.fts_enabled
        # The index was rebuilt, so it covers the message added while FTS5 was away.
        assert [h[1].content for h in s.search("added without")] == ["added without FTS5: 100% under_score"]


# -- several instances, threads, speed ---------------------------------------------------------


def test_two_instances_see_each_others_writes(db_path: Path) -> None:
    with Store.open(db_path) as a, Store.open(db_path) as b:
        before = b.data_version()
        own = a.data_version()
        session = new_session(a, "from a")
        say(a, session, "hello from a")
        assert b.data_version() != before
        assert a.data_version() == own  # only other connections' commits count
        assert [x.title for x in b.list_sessions()] == ["from a"]
        assert [m.content for m in b.active_path(session.id or 0)] == ["hello from a"]
        b.rename_session(session.id or 0, "renamed by b")
        assert a.get_session(session.id or 0).title == "renamed by b"


def test_concurrent_writes_from_threads(store: Store) -> None:
    session = new_session(store)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                store.add_message(ChatMessage(role="user", content=f"{n}-{i}", session_id=session.id))
                store.list_sessions()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.list_sessions()[0].message_count == 200


def statements(store: Store) -> list[str]:
    """Every SQL statement the store's connection runs from now on (speed is measured in bench/,
    but whether a call makes one query or one per row is a property a test can check)."""
    assert store._conn is not None
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    return seen


def test_list_10k_sessions_is_one_query(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert store._conn is not None
    conn = store._conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO sessions (title, created_at, updated_at, pinned) VALUES (?, ?, ?, ?)",
        [(f"Session {i} about topic {i % 97}", i, i, int(i % 500 == 0)) for i in range(10_000)],
    )
    conn.executemany(
        "INSERT INTO messages (session_id, role, content, created_at) VALUES (?, 'user', 'hello there', 0)",
        [(1 + i % 10_000,) for i in range(40_000)],
    )
    conn.execute("COMMIT")
    timings = {}
    for label, kwargs in [("all", {}), ("filter", {"filter_text": "TOPIC 5"}), ("limit 50", {"limit": 50})]:
        seen = statements(store)
        start = time.perf_counter()
        result = store.list_sessions(**kwargs)  # type: ignore[arg-type]
        timings[label] = (time.perf_counter() - start) * 1000
        assert result
        assert len(seen) == 1, seen  # no query per session
    everything = store.list_sessions()
    assert len(everything) == 10_000 and all(s.pinned for s in everything[:20]) and not everything[20].pinned
    assert everything[0].message_count == 4
    with capsys.disabled():
        print(
            "\nlist_sessions over 10k sessions / 40k messages: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in timings.items())
        )


def test_active_path_of_2000_messages_is_one_query(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    s = new_session(store)
    parent = None
    for i in range(2000):
        parent = say(
            store, s, f"message {i} " + "word " * 50, parent=parent, role="user" if i % 2 == 0 else "assistant"
        )
    seen = statements(store)
    start = time.perf_counter()
    path = store.active_path(s.id or 0)
    elapsed = (time.perf_counter() - start) * 1000
    assert len(seen) == 1, seen  # one recursive query, not one per message
    assert [m.content.split(" ", 2)[1] for m in path] == [str(i) for i in range(2000)]
    assert path[0].parent_id is None and path[-1].id == parent.id  # type: ignore[union-attr]
    with capsys.disabled():
        print(f"\nactive_path of 2000 messages: {elapsed:.1f} ms")


def test_a_version_1_store_is_upgraded_with_its_data(db_path: Path) -> None:
    """Versions 2 and 3 added sessions.revision, messages.meta_json and sessions.options_json; a v1
    file keeps everything."""
    db_path.parent.mkdir(parents=True)
    conn = raw(db_path)
    for statement in schema_mod.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO sessions (id, title, created_at, updated_at) VALUES (1, 'old', 1.0, 2.0)")
    conn.execute("INSERT INTO messages (id, session_id, role, content, created_at) VALUES (1, 1, 'user', 'kept', 1.0)")
    conn.execute("UPDATE sessions SET head_id = 1")
    conn.commit()
    conn.close()
    with Store.open(db_path) as s:
        session = s.get_session(1)
        assert session.title == "old" and session.template_options == {}
        [message] = s.active_path(1)
        assert message.content == "kept" and message.meta is None
        s.update_message(message.replace(meta={"edited": True}))
        session.template_options = {"enable_thinking": False}
        s.update_session(session)
        assert s.get_message(1).meta == {"edited": True}
        assert s.get_session(1).template_options == {"enable_thinking": False}
