"""tui_startup: cold start of the TUI (``llama-tui --server URL``, the installed console script) to its
first painted frame, with a store of 1,000 sessions, in a real terminal: a private tmux server
(bench/tmux.py, 120x40).

Method: the clock starts just before ``tmux new-session`` runs the command; ``tmux capture-pane`` is
polled every POLL seconds; the first frame is the first capture with any non-blank character
(Textual's screen before its first frame is blank; capture-pane without -e ignores colours). "Ready"
is the first capture showing the session list (the newest session's title) and the composer's
placeholder. No app edits and no hooks: the same method times the baselines, in the same run,
interleaved (order rotating), RUNS times each, median:

- tmux floor: ``python -c "print('ready'); ..."`` in tmux (tmux start + Python start + one line);
- bare Textual: a minimal Textual app (a Static and a Footer: ``python -m bench.tui_driver hello``);
- and, as plain subprocesses (wall time to exit): ``python -c pass`` and ``llama-tui --version``.

The app talks to a replay server (so its health poll succeeds); its data dir is a copy of a cached
1,000-session store (bench/.cache), its config file sets only server_url. Target: first frame < 500 ms.
The import cost of the TUI (``import llama_tui.app``, which imports Textual) is measured apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import REPO_ROOT, VENV_BIN, BenchResult, log, median
from .replay_server import ReplayServer
from .tmux import TmuxApp
from .tui_common import cached_store, copy_store, write_markdown_recording

NAME = "tui_startup"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3 if QUICK else 5
SESSIONS = 1000
POLL = 0.005


def first_frames(command: list[str], ready: Any, *, env: dict[str, str], timeout: float = 20.0) -> dict[str, float]:
    """Start ``command`` in tmux; seconds to the first non-blank capture and to ``ready(screen)``."""
    out: dict[str, float] = {}
    with TmuxApp(command, env=env, cwd=str(REPO_ROOT)) as app:
        deadline = app.started_at + timeout
        while time.perf_counter() < deadline:
            screen = app.screen()
            now = time.perf_counter() - app.started_at
            if "first" not in out and screen.strip():
                out["first"] = now
            if ready(screen):
                out["ready"] = now
                break
            time.sleep(POLL)
        else:
            raise RuntimeError(f"{command[-1]}: not ready after {timeout}s; screen:\n{app.screen()}")
        out["cpu_s"] = app.cpu_seconds()
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # with .pyc caches, as installed
    return env


def wall_s(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd="/", env=_env())
    return time.perf_counter() - t0


def import_cost() -> float:
    code = "import time; t = time.perf_counter(); import llama_tui.app; print(time.perf_counter() - t)"
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True, cwd="/", env=_env())
    if out.returncode != 0:
        raise RuntimeError(f"import llama_tui.app failed: {out.stderr.strip()[-1000:]}")
    return float(out.stdout.strip())


def run() -> BenchResult:
    res = BenchResult()
    python = str(VENV_BIN / "python")
    db, _meta = cached_store(SESSIONS, big_session=False)
    home = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        with ReplayServer(write_markdown_recording(10_000), rate=2000, events=100) as rs:
            copy_store(db, home / "data")
            (home / "config.toml").write_text(f'server_url = "{rs.url}"\n')
            env = {
                "LLAMA_TUI_DATA_DIR": str(home / "data"),
                "LLAMA_TUI_CONFIG": str(home / "config.toml"),
                "TERM": "xterm-256color",
                "COLORTERM": "truecolor",
                "PYTHONPATH": str(REPO_ROOT),
                # Measure with .pyc caches, as installed (an empty value turns the setting off).
                "PYTHONDONTWRITEBYTECODE": "",
            }
            newest = f"Session {SESSIONS - 1}:"
            variants: dict[str, tuple[list[str], Any]] = {
                "tmux floor": (
                    [python, "-c", "print('ready', flush=True); import time; time.sleep(60)"],
                    lambda s: "ready" in s,
                ),
                "bare Textual": ([python, "-m", "bench.tui_driver", "hello"], lambda s: "hello from textual" in s),
                "llama-tui": (
                    [str(VENV_BIN / "llama-tui")],
                    lambda s: newest in s and "Enter sends" in s,
                ),
            }
            first_frames(*variants["llama-tui"], env=env)  # warm the page cache and .pyc files
            first_frames(*variants["bare Textual"], env=env)
            times: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
            procs = {
                "python -c pass": [python, "-c", "pass"],
                "llama-tui --version": [str(VENV_BIN / "llama-tui"), "--version"],
            }
            walls: dict[str, list[float]] = {k: [] for k in procs}
            names = list(variants)
            for i in range(RUNS):
                log(f"{NAME}: run {i + 1}/{RUNS}")
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    times[name].append(first_frames(*variants[name], env=env))
                for name, cmd in procs.items():
                    walls[name].append(wall_s(cmd))
            imports = [import_cost() for _ in range(3)]
    finally:
        shutil.rmtree(home, ignore_errors=True)

    def med(name: str, key: str = "first") -> float:
        return median(t[key] for t in times[name]) * 1000

    res.add(
        NAME,
        f"llama-tui start -> first frame ({SESSIONS:,} sessions), vs a bare Textual app",
        med("llama-tui"),
        "ms",
        baseline=med("bare Textual"),
        target="<= 1.5",
        on="ratio",
        note="baseline: a bare Textual app (Static + Footer), same method; tmux capture-pane polled every "
        f"{POLL * 1000:.0f} ms",
    )
    res.add(
        NAME,
        "llama-tui start -> ready (sessions listed, composer shown)",
        med("llama-tui", "ready"),
        "ms",
        baseline=med("bare Textual"),
    )
    res.add(
        NAME,
        "bare Textual app start -> first frame",
        med("bare Textual"),
        "ms",
        baseline=med("tmux floor"),
        note="baseline: tmux + python printing one line",
    )
    res.add(NAME, "tmux floor: python start -> first line", med("tmux floor"), "ms")
    res.add(NAME, "python -c pass (subprocess)", median(walls["python -c pass"]) * 1000, "ms")
    res.add(
        NAME,
        "llama-tui --version (subprocess)",
        median(walls["llama-tui --version"]) * 1000,
        "ms",
        baseline=median(walls["python -c pass"]) * 1000,
    )
    res.add(
        NAME,
        "import llama_tui.app (Textual included)",
        median(imports) * 1000,
        "ms",
        note="in a fresh interpreter, after start-up",
    )
    res.details = {
        "tmux_runs_ms": {k: [{kk: round(vv * 1000, 1) for kk, vv in t.items()} for t in v] for k, v in times.items()},
        "subprocess_ms": {k: [round(x * 1000, 1) for x in v] for k, v in walls.items()},
        "import_llama_tui_app_ms": [round(x * 1000, 1) for x in imports],
        "runs": RUNS,
        "poll_s": POLL,
        "sessions": SESSIONS,
        "python": sys.executable,
    }
    res.details["report"] = [
        f"{NAME}: first frame = first non-blank tmux capture after `tmux new-session` (polled every "
        f"{POLL * 1000:.0f} ms); llama-tui {med('llama-tui'):.0f} ms vs a bare Textual app "
        f"{med('bare Textual'):.0f} ms and tmux+python {med('tmux floor'):.0f} ms; importing llama_tui.app "
        f"alone takes {median(imports) * 1000:.0f} ms."
    ]
    return res
