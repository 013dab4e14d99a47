"""Shared pieces of the benchmark suite: figures and targets, the results table, the JSON file,
machine facts, process CPU time, and a real llama-server on the tiny test model (via tests.harness).

Every figure is either a ratio or a time measured in the same run as its baseline: the machine is
shared and noisy, so absolute numbers from different runs must not be compared.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = REPO_ROOT / ".venv" / "bin"

# -- figures and targets ----------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the results table.

    ``value`` is what was measured; ``baseline`` is the reference measured in the same run (or None);
    ``ratio`` is value / baseline unless given. ``target`` is a readable rule such as ">= 0.8" and
    ``on`` says what it applies to ("value" or "ratio"); ``met`` is computed from them (None when
    the figure is informational).
    """

    benchmark: str
    figure: str
    value: Any
    unit: str = ""
    baseline: Any = None
    ratio: float | None = None
    target: str | None = None
    on: str = "value"
    met: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and _is_num(self.value) and _is_num(self.baseline) and self.baseline:
            self.ratio = float(self.value) / float(self.baseline)
        if self.met is None and self.target is not None:
            subject = self.ratio if self.on == "ratio" else self.value
            self.met = check_target(subject, self.target)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_target(subject: Any, target: str) -> bool | None:
    """Evaluate ">= 0.8", "< 150", "== 0", "is False" ... against ``subject``."""
    if subject is None:
        return False
    op, _, rhs = target.strip().partition(" ")
    rhs = rhs.strip().split(" ")[0]  # "150 ms" -> "150"
    if op == "is":
        return str(subject) == rhs or (rhs in ("True", "False") and bool(subject) == (rhs == "True"))
    try:
        threshold = float(rhs.replace(",", "").replace("_", ""))
        value = float(subject)
    except (TypeError, ValueError):
        return None
    return {
        ">=": value >= threshold,
        ">": value > threshold,
        "<=": value <= threshold,
        "<": value < threshold,
        "==": value == threshold,
    }.get(op)


@dataclass
class BenchResult:
    """What a benchmark's ``run()`` returns: its rows plus free-form details for the JSON file."""

    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> Figure:
        fig = Figure(*args, **kwargs)
        self.figures.append(fig)
        return fig


def median(xs: Iterable[float]) -> float:
    return float(statistics.median(list(xs)))


# -- output ----------------------------------------------------------------------------------------------

COLUMNS = ("benchmark", "figure", "value", "baseline", "ratio", "target", "met")


def fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        s = f"{x:,}"
    elif isinstance(x, float):
        a = abs(x)
        s = f"{x:,.0f}" if a >= 1000 else f"{x:.1f}" if a >= 100 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"
    else:
        s = str(x)
    return f"{s} {unit}".rstrip() if unit else s


def table_rows(figures: Sequence[Figure]) -> list[tuple[str, ...]]:
    rows = []
    for f in figures:
        target = f.target
        if target is not None and f.on == "ratio":
            target = f"ratio {target}"
        met = "-" if f.met is None else ("yes" if f.met else "NO")
        rows.append(
            (
                f.benchmark,
                f.figure,
                fmt(f.value, f.unit),
                fmt(f.baseline, f.unit),
                "-" if f.ratio is None else f"{f.ratio:.2f}",
                target or "-",
                met,
            )
        )
    return rows


def print_table(figures: Sequence[Figure], file: Any = None) -> None:
    out = file or sys.stdout
    rows = [COLUMNS, *table_rows(figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    right = {2, 3, 4}
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)
    out.flush()


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "sched_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("textual", "aiohttp", "llama-tui"):
        try:
            info[f"{pkg}_version"] = version(pkg)
        except PackageNotFoundError:
            info[f"{pkg}_version"] = None
    with contextlib.suppress(OSError):
        info["loadavg"] = os.getloadavg()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    return x


def write_results(
    figures: Sequence[Figure], details: dict[str, Any], *, selected: Sequence[str], elapsed_s: float
) -> tuple[Path, Path]:
    """Write results/latest.json and results/<timestamp>.json (atomically, via *.tmp)."""
    now = _dt.datetime.now(_dt.UTC).astimezone()
    doc = {
        "machine": machine_info(),
        "when": now.isoformat(timespec="seconds"),
        "selected": list(selected),
        "elapsed_s": round(elapsed_s, 2),
        "results": [asdict(f) for f in figures],
        "details": details,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(doc), indent=2, ensure_ascii=False, default=str) + "\n"
    stamp = now.strftime("%Y%m%dT%H%M%S%z")
    paths = (RESULTS_DIR / "latest.json", RESULTS_DIR / f"{stamp}.json")
    for path in paths:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return paths


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- process CPU time ---------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0.0 if it is gone."""
    f = _stat_fields(pid)
    if f is None:
        return 0.0
    # After comm: f[0] is field 3 (state); utime is field 14 -> f[11], stime field 15 -> f[12].
    return (int(f[11]) + int(f[12])) / CLK_TCK


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        f = _stat_fields(int(entry))
        if f is None:
            continue
        children.setdefault(int(f[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and all its live descendants."""
    return sum(proc_cpu_seconds(p) for p in [pid, *descendants(pid)])


# -- a real llama-server on the tiny model --------------------------------------------------------------------


def models_cache_dir() -> Path:
    """Same place tests/harness/fixtures.py keeps generated models (shared cache)."""
    from tests.harness.tiny_model import GENERATOR_VERSION

    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    return Path(base) / "models" / f"gen{GENERATOR_VERSION}"


@contextlib.contextmanager
def real_server(
    *,
    extra_args: Sequence[str] = (),
    ctx_size: int = 4096,
    parallel: int = 1,
    metrics: bool = False,
    chat_template: str = "chatml",
    threads: int = 1,
    context_length: int = 4096,
) -> Iterator[Any]:
    """A started tests.harness LlamaServer on the tiny model; stopped on exit. The first call on a
    fresh machine builds llama-server (about 5 minutes, cached afterwards). A slot never gets more than
    the model's ``context_length`` (its nominal training context), whatever ``ctx_size`` says."""
    from tests.harness.server import LlamaServer, find_llama_server
    from tests.harness.tiny_model import make_tiny_model

    binary = find_llama_server()
    model = make_tiny_model(models_cache_dir(), chat_template=chat_template, context_length=context_length)
    logs = Path(tempfile.mkdtemp(prefix="bench-llama-server-"))
    server = LlamaServer(
        binary,
        model,
        extra_args=extra_args,
        ctx_size=ctx_size,
        parallel=parallel,
        metrics=metrics,
        threads=threads,
        log_dir=logs,
    )
    try:
        server.start()  # on failure the error carries the log's tail
        yield server
    finally:
        server.stop()
        shutil.rmtree(logs, ignore_errors=True)


# -- a neighbour that burns a core ------------------------------------------------------------------------------


@contextlib.contextmanager
def neighbour(cores: int = 1) -> Iterator[list[int]]:
    """``cores`` processes that each burn one CPU core (a busy loop) until the block ends: the
    machine of a user whose build or model runs beside the app. Yields their pids."""
    import subprocess

    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL) for _ in range(cores)
    ]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def percentile(xs: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of xs, nearest rank."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]
