"""tui_input: key press -> echo in the Composer while a 10,000-token answer streams at 2,000 tokens/s,
over the whole answer; quiet, and with a neighbour process burning one core (started here). The
same presses with no stream are the baseline, in the same process and run.

The real app runs headless (bench/tui_driver.py ``input``, run_test 120x40, one process per run). A
press is the Key event ``pilot.press("x")`` sends (``driver.send_message``; pilot.press itself then
waits for the whole app to look idle, so its own duration is not the key's latency). Latency: from
sending it to the first frame (compositor update) made while the Composer's text holds the new "x",
i.e. the echo is painted. Presses GAP seconds apart: PRESSES with the app idle (baseline), then from
the answer's first token until the answer is complete (presses that end after that are dropped).

Figures (pooled over RUNS processes per condition; conditions interleaved):
- p95 and max while streaming, quiet: targets < 50 ms and < 100 ms;
- no growth with the length of the answer: median of the presses while the first 2,000 tokens
  arrive vs the last 2,000, ratio <= 1.3;
- p95 with the neighbour: target < 100 ms.
"""

from __future__ import annotations

import os
from typing import Any

from .common import BenchResult, log, median, neighbour, percentile
from .replay_server import ReplayServer
from .tui_common import run_driver, write_markdown_recording

NAME = "tui_input"
QUICK = os.environ.get("BENCH_QUICK") == "1"
TOKENS = 10_000
RATE = 2000
PRESSES = 30  # idle baseline
GAP = 0.05
RUNS = 1 if QUICK else 2
EDGE = 2000  # tokens: the first and the last EDGE of the answer are compared


def p95(xs: list[float]) -> float:
    return percentile(xs, 0.95)


def _run(url: str) -> dict[str, Any]:
    args = ["--url", url, "--tokens", str(TOKENS), "--presses", str(PRESSES), "--gap", str(GAP), "--whole-stream"]
    return run_driver("input", *args, timeout=600)


def run() -> BenchResult:
    res = BenchResult()
    rec = write_markdown_recording(TOKENS)
    quiet: list[dict[str, Any]] = []
    busy: list[dict[str, Any]] = []
    with ReplayServer(rec, rate=RATE, events=TOKENS) as rs:
        for i in range(RUNS):
            log(
                f"{NAME}: presses {GAP * 1000:.0f} ms apart over a {TOKENS:,}-token stream at {RATE:,} tok/s, "
                f"quiet, run {i + 1}/{RUNS}"
            )
            quiet.append(_run(rs.url))
            log(f"{NAME}: the same with a neighbour burning one core, run {i + 1}/{RUNS}")
            with neighbour():
                busy.append(_run(rs.url))

    def during(runs: list[dict[str, Any]]) -> list[float]:
        return [x * 1000 for r in runs for x in r["during"]]

    idle = [x * 1000 for r in quiet for x in r["baseline"]]
    streaming = during(quiet)
    if not streaming:
        raise RuntimeError("no key press happened while the answer streamed")
    covered = min(r["during_writes"][-1] for r in quiet if r["during_writes"])
    note = (
        f"{len(streaming)} presses over {RUNS} run(s), up to token {covered:,} of {TOKENS:,}; median "
        f"{median(streaming):.0f} ms; baseline: the same presses, no stream"
    )
    res.add(
        NAME,
        "key -> echo over the whole stream, p95",
        p95(streaming),
        "ms",
        baseline=p95(idle),
        target="< 50 ms",
        note=note,
    )
    res.add(NAME, "key -> echo over the whole stream, max", max(streaming), "ms", baseline=max(idle), target="< 100 ms")
    first = [x * 1000 for r in quiet for x, w in zip(r["during"], r["during_writes"], strict=True) if w < EDGE]
    last = [x * 1000 for r in quiet for x, w in zip(r["during"], r["during_writes"], strict=True) if w >= TOKENS - EDGE]
    if first and last:
        res.add(
            NAME,
            f"key -> echo, last vs first {EDGE:,} tokens (median)",
            median(last),
            "ms",
            baseline=median(first),
            target="<= 1.3",
            on="ratio",
            note=f"{len(first)} / {len(last)} presses; p95 {p95(last):.0f} vs {p95(first):.0f} ms",
        )
    else:
        res.add(
            NAME,
            f"key -> echo, last vs first {EDGE:,} tokens (median)",
            None,
            "ms",
            target="<= 1.3",
            on="ratio",
            met=False,
            note="no presses in one of the ranges",
        )
    loaded = during(busy)
    res.add(
        NAME,
        "key -> echo over the whole stream, a core-burning neighbour, p95",
        p95(loaded) if loaded else None,
        "ms",
        baseline=p95(streaming),
        target="< 100 ms",
        note=f"{len(loaded)} presses; max {max(loaded) if loaded else float('nan'):.0f} ms, median "
        f"{median(loaded) if loaded else float('nan'):.0f} ms; baseline: quiet",
    )
    res.details["quiet_runs"] = quiet
    res.details["neighbour_runs"] = busy
    res.details["report"] = [
        f"{NAME}: key -> painted echo, headless; presses {GAP * 1000:.0f} ms apart from the first token to the "
        f"complete answer ({TOKENS:,} tokens at {RATE:,} tok/s). Quiet: p95 {p95(streaming):.0f} ms, max "
        f"{max(streaming):.0f} ms; first/last {EDGE:,} tokens median "
        f"{median(first) if first else float('nan'):.0f} / {median(last) if last else float('nan'):.0f} ms; "
        f"with a core-burning neighbour p95 {p95(loaded) if loaded else float('nan'):.0f} ms."
    ]
    return res
