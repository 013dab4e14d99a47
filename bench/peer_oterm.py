"""oterm 0.26 (PyPI), a peer of llama-tui that talks to llama-server through its OpenAI-compatible
provider: installed in its own venv (bench/.venv-oterm, gitignored; ``pip install oterm==0.26.*``,
about a minute the first time) and driven in tmux like the other apps (bench/tmux.py).

Its config (OTERM_DATA_DIR/config.json): the splash screen off and one OpenAI-compatible endpoint
"llama" at the server's /v1. bench/oterm_launch.py creates the chat (that endpoint, the server's
model, no tools) before oterm starts, so the benchmark drives the chat, not oterm's new-chat dialog.
oterm is busy while its spinner turns under the answer; complete = no spinner and the answer's
footer ("↑ prompt ↓ tokens ... s") on screen. Used by peer_compare.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import BENCH_DIR, log
from .peer_elia import counters_delta, server_counters
from .tmux import measure_in_tmux

OTERM_VENV = BENCH_DIR / ".venv-oterm"
OTERM_PACKAGE = "oterm==0.26.*"
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def ensure_oterm() -> dict[str, Any]:
    """Create bench/.venv-oterm with oterm unless it is already there. Never touches .venv."""
    info: dict[str, Any] = {"venv": str(OTERM_VENV), "package": OTERM_PACKAGE}
    python = OTERM_VENV / "bin" / "python"
    if not (OTERM_VENV / "bin" / "oterm").exists():
        t0 = time.perf_counter()
        log(f"peer_compare: creating {OTERM_VENV} and installing {OTERM_PACKAGE} (about a minute)")
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        for cmd in (
            [base, "-m", "venv", "--clear", str(OTERM_VENV)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", OTERM_PACKAGE],
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                info.update(installed=False, error=f"{' '.join(cmd)} exited {proc.returncode}")
                info["output"] = (proc.stdout + proc.stderr)[-3000:]
                return info
        info["install_s"] = round(time.perf_counter() - t0, 1)
    code = "from importlib.metadata import version as v; print(v('oterm'), v('textual'))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        info.update(installed=False, error="oterm not importable", output=proc.stderr[-2000:])
        return info
    oterm_v, textual_v = proc.stdout.split()
    info.update(installed=True, oterm=oterm_v, textual=textual_v)
    return info


def oterm_ready(screen: str) -> bool:
    return "model:" in screen and "submit" in screen


def oterm_busy(screen: str) -> bool:
    return any(ch in screen for ch in SPINNER)


def oterm_done(screen: str) -> bool:
    return not oterm_busy(screen) and "↓ " in screen and "ctx " in screen


def oterm_pending(screen: str, prompt: str) -> bool:
    """The prompt still sits in the input line (the last "❯" line, under the separator)."""
    lines = [line for line in screen.splitlines() if line.lstrip().startswith("❯")]
    return bool(lines) and prompt[:20] in lines[-1]


def served_model(server_url: str) -> str:
    with urllib.request.urlopen(server_url + "/v1/models", timeout=10) as resp:
        return str(json.loads(resp.read())["data"][0]["id"])


def oterm_session(server_url: str, prompts: tuple[str, ...]) -> dict[str, Any]:
    """Start oterm (fresh data dir, one chat) in tmux, send the prompts, return measure_in_tmux's
    result plus the server's counters per answer."""
    home = Path(tempfile.mkdtemp(prefix="bench-oterm-"))
    try:
        config = {"splash-screen": False, "openaiCompatible": {"llama": {"base_url": f"{server_url}/v1"}}}
        (home / "config.json").write_text(json.dumps(config))
        env = {"OTERM_DATA_DIR": str(home), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        counters = [server_counters(server_url)]

        def after_answer(i: int, app: Any) -> dict[str, Any]:
            time.sleep(0.2)
            counters.append(server_counters(server_url))
            return counters_delta(counters[-2], counters[-1])

        command = [str(OTERM_VENV / "bin" / "python"), str(BENCH_DIR / "oterm_launch.py"), served_model(server_url)]
        return measure_in_tmux(
            command,
            list(prompts),
            oterm_done,
            busy_predicate=oterm_busy,
            ready_predicate=oterm_ready,
            submit_keys=("Enter",),
            pending_predicate=oterm_pending,
            env=env,
            ready_timeout=90,
            answer_timeout=300,
            after_answer=after_answer,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
