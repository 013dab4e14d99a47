"""scale: the app with stores of 100, 1,000, 10,000 and 100,000 sessions (4 messages each) plus one
session of 2,000 messages, headless (bench/tui_driver.py ``scale``, run_test 120x40, one process per
store).

The stores are built once with direct Store calls (Store.import_session: one transaction per
session) and kept in bench/.cache/stores (gitignored; the 100,000 one takes a few minutes); each run
works on a fresh copy, plus one session holding a rare word. The app starts on the newest small
session (initial_session), then:

(a) switch: ``MainScreen.open_session(big)`` (what choosing it in the sidebar or ctrl+k does) until
    the first frame made with the big session's newest messages mounted, the chat scrolled to the
    end and no layout pending. REPEATS times (back to a small session in between), median. Target
    < 300 ms (at 10,000 sessions).
(b) sidebar: ``MainScreen.refresh_sessions()`` (Store.list_sessions + Sidebar.set_sessions) until the
    next frame. REPEATS times, median. Target < 700 ms at 10,000 sessions.
(c) memory: VmRSS of the app's process (/proc/self/status) after all that. Target < 250 MB at
    10,000 sessions; baseline: the same with 100 sessions.
(d) start-up: from building the app (store opened) to a ready screen (a session shown).
(e) ctrl+f search: the search screen, from starting a query to the frame that shows the hits: a
    rare word (one message has it: looking for a specific message) and two common words (a
    quarter of all messages match; informational: ranking them all is linear in the hits).

Scale to 100,000 sessions: (a) to (e, rare word) at 100,000 sessions within 1.5x of 10,000.
Growth 1,000 -> 10,000: the exponent k of t ~ N^k (0 = flat, 1 = linear), target < 1.5.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .common import BenchResult, log, median
from .replay_server import ReplayServer
from .tui_common import BIG_SESSION_MESSAGES, cached_store, copy_store, run_driver, write_markdown_recording

NAME = "scale"
QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = (100, 1000, 10_000) if QUICK else (100, 1000, 10_000, 100_000)
REPEATS = 3 if QUICK else 5


def exponent(a: float, b: float, n_a: int, n_b: int) -> float | None:
    if a <= 0 or b <= 0:
        return None
    return math.log(b / a) / math.log(n_b / n_a)


def run() -> BenchResult:
    res = BenchResult()
    per: dict[int, dict[str, Any]] = {}
    with ReplayServer(write_markdown_recording(10_000), rate=2000, events=100) as rs:
        for n in SIZES:
            db, meta = cached_store(n, big_session=True)
            data = Path(tempfile.mkdtemp(prefix=f"bench-scale-{n}-"))
            try:
                copy_store(db, data)
                os.sync()  # the copy's write-back (180 MB at 100,000 sessions) must not overlap the run
                log(f"{NAME}: {n:,} sessions + one of {BIG_SESSION_MESSAGES:,} messages")
                r = run_driver(
                    "scale",
                    "--url",
                    rs.url,
                    "--data-dir",
                    str(data),
                    "--big-session",
                    str(meta["big_session_id"]),
                    "--small-session",
                    str(n),
                    "--repeats",
                    str(REPEATS),
                    timeout=900,
                )
            finally:
                shutil.rmtree(data, ignore_errors=True)
            r["store"] = meta
            per[n] = r

    def med(n: int, key: str, field: str = "wall_s") -> float:
        return median(x[field] for x in per[n][key]) * 1000

    def search(n: int, which: str, field: str = "wall_s") -> float:
        return median(x[field] for x in per[n]["search"][which] if field in x) * 1000

    small, mid, big = SIZES[0], SIZES[1], SIZES[2]
    switch = {n: med(n, "switch") for n in SIZES}
    refresh = {n: med(n, "refresh") for n in SIZES}
    rss = {n: per[n]["rss_kb"]["VmRSS"] / 1024 for n in SIZES}
    ready = {n: per[n]["ready_s"] * 1000 for n in SIZES}
    rare = {n: search(n, "rare") for n in SIZES}
    common = {n: search(n, "common") for n in SIZES}
    growth = " -> ".join

    res.add(
        NAME,
        f"(a) switch to the {BIG_SESSION_MESSAGES:,}-message session, {big:,} sessions",
        switch[big],
        "ms",
        baseline=switch[small],
        target="< 300 ms",
        note=f"baseline: with {small} sessions; {growth(f'{switch[n]:.0f}' for n in SIZES)} ms; "
        f"open_session returned after {med(big, 'switch', 'returned_s'):.0f} ms; "
        f"{per[big]['big_session_views']} messages mounted",
    )
    res.add(
        NAME,
        f"(b) sidebar refresh + paint, {big:,} sessions",
        refresh[big],
        "ms",
        baseline=refresh[small],
        target="< 700 ms",
        note=f"baseline: {small} sessions; {growth(f'{refresh[n]:.0f}' for n in SIZES)} ms; of which "
        f"Store.list_sessions {median(per[big]['list_sessions_s']) * 1000:.0f} ms",
    )
    res.add(
        NAME,
        f"(c) app RSS, {big:,} sessions",
        rss[big],
        "MB",
        baseline=rss[small],
        target="< 250 MB",
        note=f"baseline: {small} sessions; {growth(f'{rss[n]:.0f}' for n in SIZES)} MB; "
        f"peak {per[big]['rss_kb']['VmHWM'] / 1024:.0f} MB",
    )
    for label, series in (("(a) switch", switch), ("(b) sidebar", refresh), ("(c) RSS", rss)):
        k = exponent(series[mid], series[big], mid, big)
        res.add(
            NAME,
            f"{label}: growth exponent {mid:,} -> {big:,} sessions",
            k,
            target="< 1.5",
            note=f"t ~ N^k; {small:,} -> {mid:,}: k = {exponent(series[small], series[mid], small, mid) or 0:.2f}",
        )
    if len(SIZES) > 3:
        huge = SIZES[3]
        for label, series, unit, extra in (
            ("(d) start-up to a ready screen", ready, "ms", ""),
            ("(b) sidebar refresh + paint", refresh, "ms", ""),
            ("(a) switch to the big session", switch, "ms", ""),
            (
                "(e) ctrl+f search, a rare word",
                rare,
                "ms",
                f"; the store query alone {search(huge, 'rare', 'store_only_s'):.0f} ms",
            ),
            ("(c) app RSS", rss, "MB", f"; peak {per[huge]['rss_kb']['VmHWM'] / 1024:.0f} MB"),
        ):
            res.add(
                NAME,
                f"{label}, {huge:,} vs {big:,} sessions",
                series[huge],
                unit,
                baseline=series[big],
                target="<= 1.5",
                on="ratio",
                note=f"{growth(f'{series[n]:.0f}' for n in SIZES)} {unit}{extra}",
            )
        res.add(
            NAME,
            f"(e) ctrl+f search, two common words, {huge:,} vs {big:,} sessions",
            common[huge],
            "ms",
            baseline=common[big],
            note=f"{growth(f'{common[n]:.0f}' for n in SIZES)} ms; the store query alone "
            f"{search(huge, 'common', 'store_only_s'):.0f} ms (ranks every hit: linear in the hits)",
        )
    res.details["per_size"] = {str(n): per[n] for n in SIZES}
    res.details["report"] = [
        f"{NAME}: headless app, stores of {', '.join(f'{n:,}' for n in SIZES)} sessions (+1 of "
        f"{BIG_SESSION_MESSAGES:,} messages); medians of {REPEATS}. Start-up to a ready screen: "
        + ", ".join(f"{per[n]['ready_s'] * 1000:.0f} ms" for n in SIZES)
        + "."
    ]
    return res
