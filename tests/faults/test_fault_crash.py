"""Issue #5, case 10: the app is SIGKILLed while an answer streams from the real llama-server, and
while it is in the middle of saving. On restart every session opens, the store passes
PRAGMA integrity_check, and at most the last second of the answer is missing. Issue 14, item 14:
a freshly started app killed as soon as its first answer shows has stored that first token.

The app runs in a subprocess (tests/faults/crash_app.py) that reports, every 0.1 s, what has
arrived on screen; the store is then compared with that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store
from tests.harness.app import wait_for
from tests.harness.faults import integrity, ready, views

REPO_ROOT = Path(__file__).resolve().parents[2]
STREAM_SECONDS = 2.0  # how long the answer streams before the kill
CHECKPOINT = 1.0  # generation.Generation.checkpoint_interval
SLACK = 0.25  # the reporter's 0.1 s ticks


def _populate(path: Path) -> dict[int, list[str]]:
    """Sessions that exist before the crash: every one must open afterwards, unchanged."""
    before: dict[int, list[str]] = {}
    with Store.open(path) as store:
        for n in range(3):
            session = store.create_session(Session(title=f"before {n}"))
            parent = None
            for i in range(4):
                parent = store.add_message(
                    ChatMessage(
                        role="user" if i % 2 == 0 else "assistant",
                        content=f"session {n} message {i} " * 20,
                        session_id=session.id,
                        parent_id=parent.id if parent else None,
                    )
                )
            assert session.id is not None
            before[session.id] = [m.content for m in store.active_path(session.id)]
    return before


def _progress(side: Path) -> list[tuple[float, int]]:
    path = side / "progress"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((float(parts[0]), int(parts[1])))
    return out


def _run_and_kill(server_url: str, store_path: Path, side: Path, moment: str) -> float:
    """Start the app, wait for the `moment` to kill it (while-streaming, while-saving,
    at-the-first-token), SIGKILL it; returns the time of death."""
    block_in_write = moment == "while-saving"
    cmd = [sys.executable, "-m", "tests.faults.crash_app", "--server", server_url]
    cmd += ["--store", str(store_path), "--side", str(side)]
    if block_in_write:
        cmd.append("--block-in-write")
    with (side / "stderr").open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the app exited early ({proc.returncode}):\n{(side / 'stderr').read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the app never got there:\n{(side / 'stderr').read_text()[-3000:]}")
            if block_in_write:
                if (side / "in-write").exists():
                    died = float((side / "in-write").read_text().split()[0])
                    break
            else:
                started = [t for t, n in _progress(side) if n > 0]
                wait = 0.0 if moment == "at-the-first-token" else STREAM_SECONDS
                if started and time.time() - started[0] >= wait:
                    died = time.time()
                    break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup of any kind, as a crash
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        return died
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("moment", ["while-streaming", "while-saving", "at-the-first-token"])
async def test_app_killed_loses_at_most_the_last_second_and_every_session_opens(
    fresh_llama_server, slow_model: Path, make_app, tmp_path: Path, moment: str
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    store_path = tmp_path / "data" / "sessions.sqlite3"
    side = tmp_path / "side"
    side.mkdir()
    before = _populate(store_path)

    died = _run_and_kill(server.url, store_path, side, moment)

    progress = _progress(side)
    arrived = (side / "text").read_bytes().decode("utf-8", "surrogatepass")
    if moment == "while-saving":
        _, wal_before, wal_during = (side / "in-write").read_text().split()
        assert int(wal_during) > int(wal_before)  # killed with the unfinished write's pages in the WAL
    # Stored: a sound file, nothing moved aside, the old sessions unchanged.
    assert integrity(store_path) == "ok"
    store = Store.open(store_path)
    try:
        assert store.recovered_from is None
        for session_id, contents in before.items():
            assert [m.content for m in store.active_path(session_id)] == contents
        crashed = [s for s in store.list_sessions() if s.id not in before]
        assert len(crashed) == 1
        path = store.active_path(crashed[0].id)
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[0].content == "crash test: talk until you are stopped"
        saved = path[1].content
        # At most the last second is missing: everything that had arrived a checkpoint interval
        # (plus slack) before the kill is in the store, and what is stored did arrive.
        if moment == "at-the-first-token":
            # Killed well within the first checkpoint interval: only the first-token save can
            # have kept anything (before it, the first save came a second after the first token).
            first_shown = next(t for t, n in progress if n > 0)
            assert died - first_shown < CHECKPOINT / 2
            assert saved, "nothing of the first answer was stored"
        else:
            due = max((n for t, n in progress if t <= died - CHECKPOINT - SLACK), default=0)
            assert due > 0, "the answer did not stream long enough before the kill"
            assert len(saved) >= due, (len(saved), due, progress[-5:])
        assert arrived.startswith(saved) or saved.startswith(arrived)
        assert path[1].state == "streaming"  # as the crash left it; start-up marks it interrupted
        assert store.mark_streaming_interrupted() == 1
    finally:
        store.close()

    # Seen on restart: every session opens, the crashed answer shown as interrupted.
    store = Store.open(store_path)
    app = make_app(server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        for summary in store.list_sessions():
            await screen.open_session(summary.id)
            await wait_for(pilot, lambda sid=summary.id: screen.session.id == sid)
            # The whole conversation is the chat's; a long answer may leave its question out of
            # the mounted window (it pages in on scroll), so the views are its last part.
            stored = [m.content for m in store.active_path(summary.id)]
            assert [m.content for m in screen.chat_pane().messages] == stored
            shown = [v.message.content for v in views(screen)]
            assert shown and shown == stored[-len(shown) :]
        await screen.open_session(crashed[0].id)
        answer_id = path[1].id
        await wait_for(
            pilot,
            lambda: (
                screen.session.id == crashed[0].id and bool(views(screen)) and views(screen)[-1].message.id == answer_id
            ),
        )
        answer = views(screen)[-1]
        assert answer.message.state == "interrupted" and answer.message.content == saved
    store.close()
