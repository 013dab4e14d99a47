"""Run the real app (headless) streaming an endless answer, for a test to SIGKILL (issue #5, case 10).

    python -m tests.faults.crash_app --server URL --store PATH --side DIR [--block-in-write]

It opens the store and builds the app as launch.py does, sends a question, and every 0.1 s writes
what has arrived on screen so far to DIR: `progress` (one "time chars" line per tick, appended)
and `text` (the whole text, replaced atomically). The test kills it and compares the store with
what had arrived.

--block-in-write: from the second checkpoint of the answer on, the process stops dead *inside*
SQLite's write (a progress handler that sleeps), with the page cache made tiny so the write has
already spilled pages of its unfinished transaction to the WAL. It writes DIR/in-write (with the
WAL's size before and during the write) so the test can kill it right there: killed while saving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` as UTF-8 bytes (no newline translation: the text has CRs)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8", "surrogatepass"))
    os.replace(tmp, path)


def _block_in_writes(store: Any, side: Path) -> None:
    """Make the third and later checkpoints of the answer stop dead halfway through (the first
    saves the first token, the second comes a checkpoint interval later)."""
    conn = store._conn
    conn.execute("PRAGMA cache_size = 1")  # spill dirty pages to the WAL before the commit
    wal = Path(str(store.path) + "-wal")
    real_update = store.update_message
    checkpoints = 0
    state = {"armed": False, "wal_before": 0}

    def handler() -> int:
        if state["armed"] and wal.exists() and wal.stat().st_size > state["wal_before"]:
            # Pages of this unfinished transaction are in the WAL: stop here until killed.
            _write_atomic(side / "in-write", f"{time.time()} {state['wal_before']} {wal.stat().st_size}\n")
            time.sleep(60)
        return 0

    def update_message(message: Any) -> None:
        nonlocal checkpoints
        if message.role == "assistant" and message.content:
            checkpoints += 1
        state["armed"] = checkpoints >= 3
        state["wal_before"] = wal.stat().st_size if wal.exists() else 0
        try:
            real_update(message)
        finally:
            state["armed"] = False

    conn.set_progress_handler(handler, 50)
    store.update_message = update_message


async def run(args: argparse.Namespace) -> None:
    from llama_tui.app import LlamaTui
    from llama_tui.chat.request import BASE_PARAMS
    from llama_tui.client import LlamaCppClient
    from llama_tui.config import Config
    from llama_tui.store import Store
    from llama_tui.widgets.message_view import MessageView

    side = Path(args.side)
    store = Store.open(Path(args.store))
    store.mark_streaming_interrupted()
    if args.block_in_write:
        _block_in_writes(store, side)
    BASE_PARAMS["ignore_eos"] = True  # an answer that only ends when the process dies
    config = Config(server_url=args.server, default_settings={"n_predict": 100_000}, health_interval=0.5)
    client = LlamaCppClient(args.server)
    app = LlamaTui(config=config, client=client, store=store, config_path=side / "config.toml", new_session=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main
        while screen.session is None or screen.server_state.value != "ok":
            await pilot.pause(0.02)
        await screen.answering.send("crash test: talk until you are stopped")
        progress = (side / "progress").open("a", encoding="utf-8")
        while True:
            found = screen.query(MessageView)
            text = found[-1].text if len(found) == 2 else ""
            _write_atomic(side / "text", text)
            progress.write(f"{time.time()} {len(text)}\n")
            progress.flush()
            await pilot.pause(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--side", required=True)
    parser.add_argument("--block-in-write", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
