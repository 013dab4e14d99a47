"""Issue 14, items 2, 5, 6 and the start-up purge of item 1: the store and imported files on the
command line and at start-up, run as real processes (`python -m llama_tui`), the TUI on a
pseudo-terminal against the real llama-server.

Each case: what is injected (a damaged store, a read-only folder, hostile numbers in a file) ->
what the user is told and the exit code -> what is on disk afterwards (untouched, or complete).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store
from tests.harness.faults import integrity
from tests.harness.read_only import read_only_folder
from tests.harness.terminal import REPO_ROOT, Terminal, llama_tui_argv

NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


def _run(argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, input=None, capture_output=True, text=True, timeout=60)


def _listing(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _fill(path: Path, n: int = 3, *, streaming: bool = False) -> list[int]:
    """A store with `n` sessions of one question and answer each; the last answer left
    "streaming" (as a crash leaves it) if asked."""
    ids = []
    with Store.open(path) as store:
        for i in range(n):
            session = store.create_session(Session(title=f"kept session {i}"))
            assert session.id is not None
            q = store.add_message(ChatMessage(role="user", content=f"question {i}", session_id=session.id))
            state = "streaming" if streaming and i == n - 1 else "complete"
            store.add_message(
                ChatMessage(role="assistant", content=f"answer {i}", session_id=session.id, parent_id=q.id, state=state)
            )
            ids.append(session.id)
    return ids


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 200)


def _damaged(path: Path) -> None:
    with Store.open(path) as store:
        for i in range(300):
            session = store.create_session(Session(title=f"t{i}"))
            store.add_message(ChatMessage(role="user", content="hello " * 50, session_id=session.id))
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 4] = b"\xab" * 4096  # one page in the middle trashed
    path.write_bytes(bytes(data))


# -- item 2: the CLI on a damaged store ----------------------------------------------------------


@pytest.mark.parametrize("make_bad", [_garbage, _damaged], ids=["not-sqlite", "damaged-page"])
@pytest.mark.parametrize("command", ["export", "import"])
def test_export_and_import_on_a_damaged_store_say_so_exit_4_and_touch_nothing(
    tmp_path: Path, make_bad, command: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "sessions.sqlite3"
    make_bad(store)
    before = _listing(data)
    bundle = tmp_path / "in.json"
    bundle.write_text(json.dumps({"schema": "llama-tui/session", "version": 1, "sessions": []}))
    extra = [str(bundle)] if command == "import" else []
    result = _run(llama_tui_argv(command, *extra, "--data-dir", str(data)))
    assert result.returncode == 4, result
    assert str(store) in result.stderr and "damaged" in result.stderr and "left as it is" in result.stderr
    assert result.stdout == ""  # never an empty backup
    assert "Traceback" not in result.stderr
    assert _listing(data) == before  # not moved aside, not replaced, nothing created


def test_export_without_any_store_is_an_honest_empty_bundle_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "never-used"
    result = _run(llama_tui_argv("export", "--data-dir", str(data)))
    assert result.returncode == 0 and json.loads(result.stdout)["sessions"] == []
    assert "nothing to export" in result.stderr and not data.exists()


# -- item 5: numbers and nesting in imported files ----------------------------------------------


def _bundle_text(message_extra: str) -> str:
    return (
        '{"schema": "llama-tui/session", "version": 1, "sessions": [{"title": "t", "messages": ['
        '{"id": 1, "role": "user", "content": "q"}, '
        '{"id": 2, "parent_id": 1, "role": "assistant", "content": "a", ' + message_extra + "}]}]}"
    )


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ('"timings": {"predicted_n": NaN}', "sessions[0].messages[1].timings.predicted_n: expected a finite number"),
        ('"timings": {"predicted_per_second": Infinity}', "expected a finite number, found inf"),
        ('"timings": {"x": 1e999}', "timings.x: expected a finite number"),
        ('"tokens_cached": 18446744073709551616', "tokens_cached: the number 18446744073709551616 is too large"),
        ('"timings": {"n": 1' + "0" * 400 + "}", "timings.n: the number of about 400 digits is too large"),
        ('"timings": {"n": 1' + "0" * 5000 + "}", "holds a number too large to be read"),
        ('"probs": ' + "[" * 100 + "]" * 100, "nested more than 64 levels deep"),
        ('"probs": ' + "[" * 100_000 + "]" * 100_000, "nested too deeply to be an export"),
    ],
    ids=["nan", "infinity", "1e999", "2**64", "400-digits", "5000-digits", "depth-100", "depth-100000"],
)
def test_hostile_numbers_and_nesting_are_refused_with_the_place_and_nothing_is_imported(
    tmp_path: Path, extra: str, said: str
) -> None:
    data = tmp_path / "data"
    _fill(data / "sessions.sqlite3", 1)
    before = _listing(data)
    bad = tmp_path / "bad.json"
    bad.write_text(_bundle_text(extra))
    result = _run(llama_tui_argv("import", str(bad), "--data-dir", str(data)))
    assert result.returncode == 2, result
    assert said in result.stderr and "Traceback" not in result.stderr
    with Store.open(data / "sessions.sqlite3") as store:
        assert [s.title for s in store.list_sessions()] == ["kept session 0"]
    del before


def test_a_crashed_app_never_exits_0(tmp_path: Path) -> None:
    # The app dies of an unexpected error while it starts (injected: its first screen raises).
    crash = (
        "import sys\n"
        "from llama_tui.screens import main\n"
        "def boom(self): raise RuntimeError('injected crash')\n"
        "main.MainScreen.compose = boom\n"
        "from llama_tui.__main__ import main as run\n"
        "sys.exit(run(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", crash, "--data-dir", str(tmp_path / "d"), "--server", NOWHERE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "injected crash" in result.stdout + result.stderr
    assert result.returncode != 0


# -- item 6: a read-only data folder -------------------------------------------------------------


def _leave_wal_files(path: Path) -> None:
    """Write to the store and die without closing it: its -wal and -shm stay, as after a crash."""
    code = (
        "import os, sys\n"
        "from llama_tui.store import Store\n"
        "from llama_tui.domain import Session\n"
        "s = Store.open(sys.argv[1]); s.create_session(Session(title='written last'))\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO_ROOT, check=True, timeout=60)
    assert Path(str(path) + "-wal").exists() and Path(str(path) + "-shm").exists()


@pytest.mark.parametrize("wal", [False, True], ids=["after-clean-exit", "wal-files-left"])
def test_export_from_a_read_only_folder_works(tmp_path: Path, wal: bool) -> None:
    data = tmp_path / "data"
    path = data / "sessions.sqlite3"
    _fill(path, 3)
    if wal:
        _leave_wal_files(path)
    before = _listing(data)
    bundle = tmp_path / "x.json"
    bundle.write_text(_bundle_text('"state": "complete"'))
    with read_only_folder(data) as wrap:
        result = _run(wrap(llama_tui_argv("export", "--data-dir", str(data))))
        imported = _run(wrap(llama_tui_argv("import", str(bundle), "--data-dir", str(data))))
    assert result.returncode == 0, result.stderr
    titles = [s["title"] for s in json.loads(result.stdout)["sessions"]]
    assert titles == ["kept session 0", "kept session 1", "kept session 2", *(["written last"] if wal else [])]
    # Import cannot write there: it says why, and changes nothing.
    assert imported.returncode == 4 and "read-only" in imported.stderr and "Traceback" not in imported.stderr
    assert _listing(data) == before


@pytest.mark.parametrize("wal", [False, True], ids=["after-clean-exit", "wal-files-left"])
def test_the_app_starts_on_a_read_only_folder_says_so_and_changes_nothing(
    llama_server, tmp_path: Path, wal: bool
) -> None:
    data = tmp_path / "data"
    path = data / "sessions.sqlite3"
    _fill(path, 2, streaming=True)  # an answer left "streaming": start-up would mark it
    if wal:
        _leave_wal_files(path)
    before = _listing(data)
    with read_only_folder(data) as wrap:
        argv = wrap(
            llama_tui_argv(
                "--data-dir", str(data), "--config", str(tmp_path / "none.toml"), "--server", llama_server.url
            )
        )
        term = Terminal(argv)
        try:
            # Up, showing the latest session from the store (the store was read).
            term.wait_for(b"written last" if wal else b"question 1")
            term.send(b"hello there\r")
            # A send cannot be saved: it says so (and keeps the text), and the app carries on.
            mark = len(term.output)
            term.wait_for(b"read-only", start=mark)
            term.send(b"\x11")  # ctrl+q
            assert term.proc.wait(20) == 0
        finally:
            term.close()
    before_app = term.text.split("\x1b[?1049h", 1)[0]
    assert "read-only" in before_app and "nothing will be saved" in before_app
    assert "Traceback" not in term.text
    assert _listing(data) == before
    assert integrity(path) == "ok"


# -- item 1: the trash is purged after trash_days at start-up ------------------------------------


def test_start_up_purges_only_sessions_in_the_trash_longer_than_trash_days(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "sessions.sqlite3"
    old_id, recent_id, kept_id = _fill(path, 3)
    with Store.open(path, clock=lambda: time.time() - 40 * 86400) as store:
        store.delete_session(old_id)  # 40 days in the trash
    with Store.open(path) as store:
        store.delete_session(recent_id)  # just now
    config = tmp_path / "config.toml"
    config.write_text("trash_days = 30\n")
    term = Terminal(args=["--data-dir", str(data), "--config", str(config), "--server", NOWHERE])
    try:
        term.wait_for(b"question 2")
        term.send(b"\x11")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
    conn = sqlite3.connect(path)
    try:
        rows = dict(conn.execute("SELECT id, deleted_at IS NOT NULL FROM sessions").fetchall())
    finally:
        conn.close()
    assert rows == {recent_id: 1, kept_id: 0}


# -- item 12: a full disk during an import -------------------------------------------------------


def test_a_full_disk_during_import_imports_nothing_and_a_retry_imports_each_session_once(tmp_path: Path) -> None:
    from llama_tui.store import StoreWriteError
    from llama_tui.transfer import import_any

    bundle = {
        "schema": "llama-tui/session",
        "version": 1,
        "sessions": [
            {"title": f"s{i}", "messages": [{"id": 1, "role": "user", "content": f"{i} " + "x" * 2000}]}
            for i in range(300)
        ],
    }
    path = tmp_path / "data" / "sessions.sqlite3"
    with Store.open(path) as store:
        assert store._conn is not None
        # Injected: the disk fills up part of the way through (room for a few dozen sessions).
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 40}")
        with pytest.raises(StoreWriteError, match="the disk is full"):
            import_any(store, bundle)
        assert store.list_sessions() == []  # all or nothing: no half import to hunt down
        store._conn.execute("PRAGMA max_page_count = 1073741823")
        ids = import_any(store, bundle)  # simply run again
        assert len(ids) == 300
        assert sorted(s.title for s in store.list_sessions()) == sorted(f"s{i}" for i in range(300))
    assert integrity(path) == "ok"


# -- item 5: a session stored with hostile numbers (by an older version) opens -------------------


async def test_a_stored_session_with_nan_and_huge_timings_opens_in_the_app(make_app, tmp_path: Path) -> None:
    from tests.harness.app import wait_for
    from tests.harness.fault_server import FaultServer
    from tests.harness.faults import Notes, ready, views

    path = tmp_path / "data" / "sessions.sqlite3"
    (sid,) = _fill(path, 1)
    conn = sqlite3.connect(path)
    # What an older llama-tui's import stored: NaN, Infinity and a 400-digit count in the timings.
    conn.execute(
        "UPDATE messages SET timings_json = ?, stop_type = 'eos' WHERE role = 'assistant'",
        ('{"predicted_n": NaN, "predicted_per_second": Infinity, "prompt_n": 1' + "0" * 400 + ', "cache_n": 1e999}',),
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    async with FaultServer() as fs:
        app = make_app(fs.url, store=store, default_template="chatml")
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            assert screen.session.id == sid
            await wait_for(pilot, lambda: len(views(screen)) == 2)
            assert views(screen)[-1].message.content == "answer 0"
            assert notes.errors() == []
    store.close()
