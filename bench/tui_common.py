"""Shared pieces of the TUI benchmarks (tui_stream, tui_input, tui_startup, scale, peer_compare).

- ``markdown_pieces(n)``: a deterministic markdown answer (headings, paragraphs with bold, italics and
  inline code, bullet and numbered lists, quotes, fenced code blocks) cut into ``n`` token-like pieces
  (a word with its leading space, one punctuation mark, or a newline: about 4 characters each).
- ``markdown_recording(n)``: those pieces as a replay_server recording (llama-server's event format).
- ``cached_store(n_sessions)``: a session store with ``n_sessions`` sessions (4 messages each) plus,
  optionally, one session of ``BIG_SESSION_MESSAGES`` messages; built once with direct Store calls
  and kept in bench/.cache (gitignored); ``copy_store`` copies one into a fresh data dir.
- ``run_driver(mode, ...)``: runs bench/tui_driver.py (the real app, headless) in a child process and
  returns the JSON it prints, so each measurement has a process of its own (clean CPU accounting,
  no state carried over between runs).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import BENCH_DIR, REPO_ROOT, log

CACHE_DIR = BENCH_DIR / ".cache"
BIG_SESSION_MESSAGES = 2000
STORE_FORMAT = 1  # bump to rebuild cached stores when their content changes

# -- a long markdown answer ----------------------------------------------------------------------------------

_WORDS = (
    "the server streams tokens to a terminal client that renders markdown while the answer grows and "
    "each block is parsed once appended measured cached scrolled anchored layout widget compositor frame "
    "latency throughput model context prompt slot sampling temperature batch thread queue socket chunk "
    "event parser buffer screen region update paint cursor line column width height margin padding style"
).split()
_CODE = (
    "def step_{k}(state, tokens):",
    "    total = sum(len(t) for t in tokens)",
    "    if total > state.limit:",
    "        raise ValueError(f'too long: {{total}}')",
    "    for i, tok in enumerate(tokens):",
    "        state.push(i, tok)",
    "    return state.flush()  # {k}",
    "",
    "class Buffer{k}:",
    "    size = {k} * 64",
)
_TOKEN = re.compile(r"\n|[ \t]*[A-Za-z0-9_]+|[ \t]*[^\sA-Za-z0-9_]|[ \t]+")


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    for _ in range(max(1, n // 12)):
        i = rng.randrange(n)
        words[i] = rng.choice((f"**{words[i]}**", f"*{words[i]}*", f"`{words[i]}()`"))
    return " ".join(words).capitalize() + rng.choice(".....!?")


def markdown_document(min_tokens: int, seed: int = 7) -> str:
    """Sections of markdown until the text has at least ``min_tokens`` pieces."""
    rng = random.Random(seed)
    out: list[str] = []
    k = 0
    count = 0
    while count < min_tokens:
        k += 1
        parts = [f"## {k}. {_sentence(rng, rng.randint(3, 6)).rstrip('.!?')}\n"]
        parts.append(" ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(2, 4))) + "\n")
        parts.append("".join(f"- {_sentence(rng, rng.randint(4, 10))}\n" for _ in range(rng.randint(3, 5))))
        if k % 2:
            lines = [line.format(k=k) for line in _CODE[: rng.randint(5, len(_CODE))]]
            parts.append("```python\n" + "\n".join(lines) + "\n```\n")
        parts.append("".join(f"{i}. {_sentence(rng, rng.randint(5, 9))}\n" for i in range(1, rng.randint(3, 5))))
        if k % 3 == 0:
            parts.append(f"> {_sentence(rng, rng.randint(10, 20))}\n")
        parts.append(" ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(1, 3))) + "\n")
        section = "\n".join(parts) + "\n"
        out.append(section)
        count += len(_TOKEN.findall(section))
    return "".join(out)


def markdown_pieces(n_tokens: int, seed: int = 7) -> list[str]:
    """The first ``n_tokens`` pieces of ``markdown_document``; "".join() gives the answer's text."""
    pieces = _TOKEN.findall(markdown_document(n_tokens, seed))
    if len(pieces) < n_tokens:
        raise AssertionError("markdown_document made too few pieces")
    return pieces[:n_tokens]


def markdown_recording(n_tokens: int, seed: int = 7) -> dict[str, Any]:
    """A replay_server recording whose token events spell ``markdown_pieces(n_tokens)``."""
    from .replay_server import split_recording, synthesise_recording

    base = synthesise_recording(1)  # prefix (prompt progress), final event and props, in the real format
    pieces = markdown_pieces(n_tokens, seed)
    n_prompt = base["final"]["tokens_evaluated"]
    tokens = [
        {
            "index": 0, "content": p, "tokens": [100 + (i % 800)], "stop": False, "id_slot": -1,
            "tokens_predicted": i + 1, "tokens_evaluated": n_prompt,
        }
        for i, p in enumerate(pieces)
    ]  # fmt: skip
    final = dict(base["final"], tokens_predicted=n_tokens, tokens_cached=n_prompt + n_tokens)
    final["timings"] = dict(final["timings"], predicted_n=n_tokens, predicted_ms=n_tokens * 0.5)
    final["timings"]["predicted_per_second"] = 2000.0
    return split_recording([*base["prefix"], *tokens, final], base["props"], f"markdown, {n_tokens} tokens")


def write_markdown_recording(n_tokens: int, seed: int = 7) -> Path:
    """The recording as a JSON file in bench/.cache (written once per size)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"markdown-{n_tokens}-s{seed}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(markdown_recording(n_tokens, seed), ensure_ascii=False))
        os.replace(tmp, path)
    return path


# -- stores of many sessions -------------------------------------------------------------------------------------

BASE_TIME = 1_700_000_000.0


def build_store(path: Path, n_sessions: int, *, big_session: bool) -> dict[str, Any]:
    """Create a store at ``path`` with direct Store calls: ``n_sessions`` sessions of 4 messages (a
    user question and an answer, twice), each one transaction (Store.import_session), plus (if
    ``big_session``) one session of BIG_SESSION_MESSAGES alternating messages, made the most recently
    updated, so the app opens it first. Returns facts about it."""
    from llama_tui.domain import ChatMessage, Session
    from llama_tui.store import Store

    rng = random.Random(n_sessions)
    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(path, clock=lambda: BASE_TIME)
    try:
        for i in range(n_sessions):
            when = BASE_TIME - (n_sessions - i) * 600.0
            title = f"Session {i}: " + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
            messages = []
            for j in range(4):
                role = "user" if j % 2 == 0 else "assistant"
                text = _sentence(rng, rng.randint(6, 20) if role == "user" else rng.randint(30, 80))
                messages.append(
                    ChatMessage(id=j + 1, role=role, content=text, parent_id=j or None, created_at=when + j)  # type: ignore[arg-type]
                )
            store.import_session(
                Session(title=title, created_at=when, updated_at=when + 4, head_id=4, pinned=i % 500 == 7),
                messages,
            )
        big_id = None
        if big_session:
            when = BASE_TIME + 3600.0
            messages = []
            for j in range(BIG_SESSION_MESSAGES):
                role = "user" if j % 2 == 0 else "assistant"
                text = (
                    _sentence(rng, rng.randint(6, 20))
                    if role == "user"
                    else "\n\n".join(_sentence(rng, rng.randint(15, 40)) for _ in range(rng.randint(1, 3)))
                )
                messages.append(
                    ChatMessage(id=j + 1, role=role, content=text, parent_id=j or None, created_at=when + j)
                )  # type: ignore[arg-type]
            big = store.import_session(
                Session(
                    title=f"A long chat of {BIG_SESSION_MESSAGES} messages",
                    created_at=when,
                    updated_at=when + BIG_SESSION_MESSAGES,
                    head_id=BIG_SESSION_MESSAGES,
                ),
                messages,
            )
            big_id = big.id
    finally:
        store.close()
    return {
        "sessions": n_sessions + (1 if big_session else 0),
        "big_session_id": big_id,
        "build_s": round(time.perf_counter() - t0, 2),
        "bytes": path.stat().st_size,
    }


def cached_store(n_sessions: int, *, big_session: bool = True) -> tuple[Path, dict[str, Any]]:
    """A store built by build_store, kept in bench/.cache/stores (reused across runs)."""
    from llama_tui.store import SCHEMA_VERSION

    # The store's schema in the name too: a cached store of an older schema would be migrated on
    # every copy, inside the timed start-up.
    name = f"v{STORE_FORMAT}-s{SCHEMA_VERSION}-{n_sessions}{'-big' if big_session else ''}"
    folder = CACHE_DIR / "stores" / name
    db = folder / "sessions.sqlite3"
    meta_path = folder / "meta.json"
    if meta_path.exists() and db.exists():
        return db, json.loads(meta_path.read_text())
    log(f"building a store of {n_sessions:,} sessions in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    tmp = CACHE_DIR / "stores" / (name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    meta = build_store(tmp / "sessions.sqlite3", n_sessions, big_session=big_session)
    for side in ("-wal", "-shm"):  # Store.close checkpoints; nothing should be left, but be sure
        (tmp / f"sessions.sqlite3{side}").unlink(missing_ok=True)
    (tmp / "meta.json").write_text(json.dumps(meta))
    os.replace(tmp, folder)
    return db, meta


def copy_store(db: Path, data_dir: Path) -> Path:
    """Copy a cached store into ``data_dir`` (the app writes to its store: keep the cache pristine)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "sessions.sqlite3"
    shutil.copyfile(db, target)
    return target


# -- the driver subprocess ---------------------------------------------------------------------------------------


def run_driver(mode: str, *args: str, timeout: float = 300.0, module: str = "bench.tui_driver") -> dict[str, Any]:
    """Run ``python -m MODULE MODE ARGS`` (bench.tui_driver unless told) and return the JSON object it
    prints last."""
    cmd = [sys.executable, "-m", module, mode, *args]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("TEXTUAL", None)  # no devtools
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # with .pyc caches, as installed
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{module} {mode} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-3000:]}")
    return json.loads(lines[-1])
