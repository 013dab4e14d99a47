"""Run the benchmarks: ``python -m bench [names...]`` (default: all), from the repository root.

Each benchmark is a module in this package with a ``run() -> BenchResult`` function; add one by
adding a line to REGISTRY. A benchmark that raises is reported as an error row (met = NO) and the
others still run. Prints the table (and each benchmark's report lines), writes
bench/results/latest.json plus a timestamped copy. Exit code 0 if every target was met, 1 if not.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from typing import Any

from .common import BenchResult, Figure, log, print_table, write_results

# name -> module (imported only when selected). Order is the run order.
REGISTRY: dict[str, str] = {
    "startup": "bench.startup",
    "client_throughput": "bench.client_throughput",
    "tui_startup": "bench.tui_startup",
    "tui_stream": "bench.tui_stream",
    "tui_input": "bench.tui_input",
    "scale": "bench.scale",
    "big_open": "bench.big_open",
    "peer_compare": "bench.peer_compare",
    "kv_restore": "bench.kv_restore",
    "server_speed": "bench.server_speed",
}
# Still runnable by name (bench/run peer_elia), not part of the default run: peer_compare measures elia
# the same way, against the same server as llama-tui.
EXTRA: dict[str, str] = {"peer_elia": "bench.peer_elia"}


def run_one(name: str) -> BenchResult:
    module = importlib.import_module({**REGISTRY, **EXTRA}[name])
    result = module.run()
    if not isinstance(result, BenchResult):
        raise TypeError(f"{name}.run() returned {type(result).__name__}, not BenchResult")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(REGISTRY)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and shorter streams (BENCH_QUICK=1): a smoke test"
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join([*REGISTRY, *(f"{n} (by name only)" for n in EXTRA)]))
        return 0
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"  # read by the modules when imported (run_one imports them)
    unknown = [n for n in args.names if n not in REGISTRY and n not in EXTRA]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join([*REGISTRY, *EXTRA])}")
    selected = args.names or list(REGISTRY)

    figures: list[Figure] = []
    details: dict[str, Any] = {}
    reports: list[str] = []
    started = time.perf_counter()
    for name in selected:
        log(f"{name}: running")
        t0 = time.perf_counter()
        try:
            result = run_one(name)
        except Exception as e:
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            first_line = (str(e).strip().splitlines() or [""])[0]
            figures.append(Figure(name, "error", f"{type(e).__name__}: {first_line}"[:120], met=False))
            details[name] = {"error": tb}
            continue
        seconds = time.perf_counter() - t0
        log(f"{name}: done in {seconds:.1f} s")
        figures.extend(result.figures)
        details[name] = {**result.details, "bench_seconds": round(seconds, 2)}
        reports.extend(result.details.get("report", []))
    elapsed = time.perf_counter() - started

    print()
    print_table(figures)
    if reports:
        print()
        print("\n".join(reports))
    details["run"] = {"quick": bool(args.quick)}
    paths = write_results(figures, details, selected=selected, elapsed_s=elapsed)
    print(f"\n{len(figures)} figures in {elapsed:.0f} s; written to {paths[0]} and {paths[1].name}")
    missed = [f for f in figures if f.met is False]
    if missed:
        print(f"{len(missed)} target(s) missed: " + "; ".join(f"{f.benchmark}/{f.figure}" for f in missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
