"""startup: wall time of ``llama-tui --version`` and ``llama-tui --help`` (the installed console
script in .venv, as a subprocess), median of RUNS, against ``python -c pass`` on the same interpreter,
interleaved in the same run. Also checks that neither imports Textual (``-X importtime``).

Target (from the issue): < 150 ms each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import REPO_ROOT, VENV_BIN, BenchResult, median

NAME = "startup"
RUNS = 10
TARGET_MS = 150


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with .pyc caches, as installed
    return env


def wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd="/")
    dt = (time.perf_counter() - t0) * 1000.0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}")
    return dt


def imported_modules(python: Path, script: Path, arg: str, env: dict[str, str]) -> dict[str, Any]:
    """Run the console script under -X importtime; return the modules and the costliest imports."""
    proc = subprocess.run(
        [str(python), "-X", "importtime", str(script), arg],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd="/",
        text=True,
    )
    modules: list[str] = []
    costs: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        raw_name = parts[2]
        name = raw_name.strip()
        modules.append(name)
        if len(raw_name) - len(raw_name.lstrip()) == 1:  # top level (nesting adds indentation)
            costs.append((int(parts[1]), name))
    top = [{"module": m, "cumulative_ms": round(us / 1000, 2)} for us, m in sorted(costs, reverse=True)[:8]]
    textual = sorted({m for m in modules if m == "textual" or m.startswith("textual.")})
    heavy = sorted({m.split(".")[0] for m in modules if m.split(".")[0] in ("textual", "rich", "aiohttp", "asyncio")})
    return {"count": len(modules), "textual_modules": textual, "heavy_packages": heavy, "top_imports": top}


def run() -> BenchResult:
    res = BenchResult()
    python = VENV_BIN / "python"
    script = VENV_BIN / "llama-tui"
    if not script.exists():
        raise RuntimeError(f"{script} not found: install the project in .venv (pip install -e .)")
    env = _env()
    commands = {
        "python -c pass": [str(python), "-c", "pass"],
        "llama-tui --version": [str(script), "--version"],
        "llama-tui --help": [str(script), "--help"],
    }
    for cmd in commands.values():  # warm the page cache and .pyc files; not measured
        wall_ms(cmd, env)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for i in range(RUNS):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for key in order:
            times[key].append(wall_ms(commands[key], env))
    base = median(times["python -c pass"])
    imports = {arg: imported_modules(python, script, arg, env) for arg in ("--version", "--help")}
    base_imports = (
        subprocess.run(
            [str(python), "-X", "importtime", "-c", "pass"], capture_output=True, text=True, env=env, cwd="/"
        ).stderr.count("import time:")
        - 1
    )  # minus the header line

    for arg in ("--version", "--help"):
        key = f"llama-tui {arg}"
        value = median(times[key])
        res.add(NAME, f"{key} wall (median of {RUNS})", value, "ms", baseline=base, target=f"< {TARGET_MS} ms")
        res.add(NAME, f"{key} overhead over python -c pass", value - base, "ms")
        res.add(NAME, f"{key} imports Textual", bool(imports[arg]["textual_modules"]), target="is False")
        res.add(NAME, f"{key} modules imported", imports[arg]["count"], baseline=base_imports)
    res.details = {
        "runs_ms": {k: [round(t, 2) for t in v] for k, v in times.items()},
        "imports": imports,
        "python_c_pass_modules": base_imports,
        "python": str(python),
        "script": str(script),
        "cwd_for_runs": "/",
        "repo": str(REPO_ROOT),
        "sys_executable": sys.executable,
    }
    top = imports["--help"]["top_imports"][:4]
    res.details["report"] = [
        f"{NAME}: costliest top-level imports of llama-tui --help: "
        + ", ".join(f"{t['module']} {t['cumulative_ms']} ms" for t in top)
    ]
    return res
