"""Issue #5, case 12: a corrupt or newer-version store, a corrupt or invalid config. `llama-tui`
runs as a real process (`python -m llama_tui`); each case checks what it prints (the file named),
its exit code, and that the bad file is never changed, deleted or overwritten.

A corrupt store does not stop the app: it is moved aside and a new one started, so that case runs
the full-screen app on a pseudo-terminal and quits it with ctrl+q.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store
from tests.harness.faults import integrity
from tests.harness.terminal import Terminal

REPO_ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> dict[str, str]:
    return {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _llama_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llama_tui", *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- a bad config: refused, named, never rewritten -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'server_url = "http://127.0.0.1:8080"\n[presets\nfast = 1\n', ["invalid TOML", "line 2"]),
        (b'read_timeout = "fast"\n', ["read_timeout must be a number of seconds"]),
        (b'server_ulr = "http://127.0.0.1:8080"\n', ["unknown key 'server_ulr'", "did you mean 'server_url'"]),
        (b"[presets.fast]\ntemprature = 0.2\n", ["[presets.fast] unknown setting 'temprature'"]),
        (b'theme = "\xff\xfe"\n', ["not UTF-8"]),
    ],
    ids=["toml-syntax", "wrong-type", "unknown-key", "unknown-knob", "not-utf8"],
)
def test_bad_config_is_named_refused_and_left_byte_identical(
    tmp_path: Path, content: bytes, expected: list[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(content)
    os.utime(config, (1_700_000_000, 1_700_000_000))
    result = _llama_tui("--config", str(config), "--data-dir", str(tmp_path / "data"), "--server", NOWHERE)
    assert result.returncode == 2
    assert str(config) in result.stderr
    for words in expected:
        assert words in result.stderr
    assert "was not changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_bytes() == content and config.stat().st_mtime == 1_700_000_000
    assert list(tmp_path.iterdir()) == [config]  # nothing else created: not even the store


# -- a store from a newer llama-tui: refused, named, untouched -------------------------------------


def test_newer_store_is_named_refused_and_left_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "sessions.sqlite3"
    conn = sqlite3.connect(store)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("INSERT INTO future VALUES ('from the future')")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = _listing(data)
    result = _llama_tui("--data-dir", str(data), "--config", str(tmp_path / "none.toml"), "--server", NOWHERE)
    assert result.returncode == 2
    assert str(store) in result.stderr and "newer llama-tui" in result.stderr and "version 99" in result.stderr
    assert "Traceback" not in result.stderr
    assert _listing(data) == before  # byte-identical, no -wal or -shm left behind


# -- a corrupt store: moved aside (never deleted or overwritten), a new one started ----------------


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


@pytest.mark.parametrize("make_bad", [_garbage, _damaged], ids=["not-sqlite", "damaged-page"])
def test_corrupt_store_is_moved_aside_intact_and_a_new_one_started(tmp_path: Path, make_bad) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "sessions.sqlite3"
    make_bad(store)
    bad = store.read_bytes()
    term = Terminal(args=["--data-dir", str(data), "--config", str(tmp_path / "none.toml"), "--server", NOWHERE])
    try:
        # The app is up once it shows its first (new) session.
        deadline = time.monotonic() + 30
        while b"New session" not in term.output:
            assert term.proc.poll() is None, bytes(term.output).decode(errors="replace")
            assert time.monotonic() < deadline, bytes(term.output).decode(errors="replace")
            time.sleep(0.05)
        term.send(b"\x11")  # ctrl+q
        assert term.proc.wait(20) == 0
    finally:
        term.close()
    # What was printed before the full-screen app took over the terminal.
    before_app = bytes(term.output).split(b"\x1b[?1049h", 1)[0].decode(errors="replace")
    # Said: the store was damaged, and where the old one went (the file is named).
    moved = [
        p
        for p in data.iterdir()
        if p.name.startswith("sessions.sqlite3.corrupt-") and not p.name.endswith(("-wal", "-shm", "-journal"))
    ]
    assert len(moved) == 1
    assert "damaged" in before_app and str(moved[0]) in before_app.replace("\r\n", "")
    assert "Traceback" not in bytes(term.output).decode(errors="replace")
    # Stored: the old file moved aside byte for byte; a new, sound store in its place.
    assert moved[0].read_bytes() == bad
    assert integrity(store) == "ok"
    with Store.open(store) as fresh:
        assert fresh.recovered_from is None
        assert len(fresh.list_sessions()) == 1


async def test_corrupt_store_is_also_reported_inside_the_app(make_app, tmp_path: Path) -> None:
    from tests.harness.app import wait_for
    from tests.harness.fault_server import FaultServer
    from tests.harness.faults import Notes, ready

    path = tmp_path / "data" / "sessions.sqlite3"
    path.parent.mkdir(parents=True)
    _garbage(path)
    store = Store.open(path)
    assert store.recovered_from is not None
    async with FaultServer() as fs:
        app = make_app(fs.url, store=store, default_template="chatml")
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await wait_for(pilot, lambda: str(store.recovered_from) in notes.text(), timeout=3)
            assert "damaged" in notes.text()
    store.close()
