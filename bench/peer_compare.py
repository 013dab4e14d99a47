"""peer_compare: llama-tui against elia (elia-chat) and oterm, in the same run, against the same real tiny-model
llama-server, with the same long answers (N_PREDICT = 2,000 tokens, --ignore-eos: every answer is
exactly that long), both driven in tmux by the same procedure (bench/tmux.py ``measure_in_tmux``):
type the prompt, press the app's submit key, poll capture-pane until the complete answer is on
screen. Per answer: wall time from the submit key to that screen, and the app's CPU time meanwhile.

- elia: as in peer_elia (its own venv, stock elia's null-content finding, then elia* = elia with the
  minimal workaround, bench/elia_launch.py); complete = was "responding", now idle (or its database
  holds the answer).
- llama-tui: ``llama-tui --server URL`` (the installed console script), a fresh data dir and config
  (LLAMA_TUI_DATA_DIR, LLAMA_TUI_CONFIG: default_template "server", i.e. the model's own template via
  /apply-template, like elia's /v1/chat/completions; n_predict = N_PREDICT as the server has).
  Enter submits; busy = "streaming…" in the answer's footer; complete = the answer's footer with its
  figures ("tok ·", "stop:") on screen and nothing streaming, on two identical captures.

- oterm 0.26 (bench/peer_oterm.py): its OpenAI-compatible provider, one chat set up before it starts.

Each app answers PROMPTS (cold: the first message of a fresh start; warm: the second, in the same
chat), ROUNDS times, the apps rotating (order changes each round). Figures: medians; ratio = the
best peer / llama-tui. Targets: llama-tui at least 3x faster to a complete answer than the fastest
peer (when the server generates >= 1,000 tokens/s, its own /metrics figures, per answer, reported,
and is not itself the bound) and at least 5x less CPU than the leanest peer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import VENV_BIN, BenchResult, log, median
from .peer_elia import (
    N_PREDICT,
    PROMPTS,
    add_stock_elia_figure,
    counters_delta,
    elia_installed,
    elia_session,
    server_counters,
    start_peer_server,
)
from .peer_oterm import ensure_oterm, oterm_session
from .tmux import measure_in_tmux

NAME = "peer_compare"
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = 1 if QUICK else 2
LABELS = ("cold", "warm")


def llamatui_ready(screen: str) -> bool:
    return "Enter sends" in screen and " ok" in screen


def llamatui_busy(screen: str) -> bool:
    return "streaming" in screen


def llamatui_done(screen: str) -> bool:
    return "tok ·" in screen and "stop:" in screen and "streaming" not in screen


def llamatui_pending(screen: str, prompt: str) -> bool:
    """The prompt still sits in the composer (the box above the status bar)."""
    lines = screen.splitlines()
    box = [line for line in lines[-8:] if "│" in line]
    return any(prompt[:20] in line for line in box)


def llamatui_session(
    server_url: str,
    prompts: tuple[str, ...],
    *,
    n_predict: int = N_PREDICT,
    seed: int | None = None,
    answer_timeout: float = 120,
) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-llamatui-"))
    try:
        config = home / "config.toml"
        settings = f"n_predict = {n_predict}\n" + (f"seed = {seed}\n" if seed is not None else "")
        config.write_text(f'server_url = "{server_url}"\ndefault_template = "server"\n[default_settings]\n{settings}')
        env = {
            "LLAMA_TUI_DATA_DIR": str(home / "data"),
            "LLAMA_TUI_CONFIG": str(config),
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "PYTHONDONTWRITEBYTECODE": "",  # .pyc caches, as installed
        }
        counters = [server_counters(server_url)]

        def after_answer(i: int, app: Any) -> dict[str, Any]:
            time.sleep(0.2)
            counters.append(server_counters(server_url))
            return counters_delta(counters[-2], counters[-1])

        return measure_in_tmux(
            [str(VENV_BIN / "llama-tui"), "--server", server_url],
            list(prompts),
            llamatui_done,
            busy_predicate=llamatui_busy,
            ready_predicate=llamatui_ready,
            submit_keys=("Enter",),
            pending_predicate=llamatui_pending,
            env=env,
            ready_timeout=60,
            answer_timeout=answer_timeout,
            after_answer=after_answer,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _server_rate(answer: dict[str, Any]) -> tuple[float, float]:
    extra = answer["extra"]
    seconds = extra["prompt_seconds_total"] + extra["tokens_predicted_seconds_total"]
    tokens = extra["tokens_predicted_total"]
    return seconds, (tokens / extra["tokens_predicted_seconds_total"] if extra["tokens_predicted_seconds_total"] else 0)


def _compact(session: dict[str, Any]) -> dict[str, Any]:
    for a in session["answers"]:
        for key in ("screen", "refused_screen"):
            if isinstance(a.get(key), str):
                a[key] = a[key].splitlines()
    session["final_screen"] = session["final_screen"].splitlines()
    return session


def run() -> BenchResult:
    res = BenchResult()
    if not elia_installed(res, NAME):
        return res
    oterm = ensure_oterm()
    res.details["oterm"] = oterm
    res.add(NAME, "oterm installable (separate venv)", bool(oterm.get("installed")), note=f"oterm {oterm.get('oterm')}")
    peers: dict[str, list[dict[str, Any]]] = {"elia*": [], "oterm": []} if oterm.get("installed") else {"elia*": []}
    tui_runs: list[dict[str, Any]] = []
    with start_peer_server() as server:
        res.details["server_args"] = list(server.extra_args)
        log(f"{NAME}: stock elia against {server.url}/v1 ({N_PREDICT}-token answers)")
        stock = elia_session(server.url, PROMPTS[:1], fix_null_content=False)
        apps = ["llama-tui", *peers]
        for r in range(ROUNDS):
            for who in apps[r % len(apps) :] + apps[: r % len(apps)]:  # the order rotates each round
                log(f"{NAME}: round {r + 1}/{ROUNDS}: {who}")
                if who == "elia*":
                    peers[who].append(elia_session(server.url, PROMPTS, fix_null_content=True))
                elif who == "oterm":
                    peers[who].append(oterm_session(server.url, PROMPTS))
                else:
                    tui_runs.append(llamatui_session(server.url, PROMPTS))

    stock_chars, stock_tokens = add_stock_elia_figure(res, NAME, stock)
    for who, runs in peers.items():
        res.add(
            NAME,
            f"start-up to ready screen: llama-tui vs {who}",
            median(s["startup_s"] for s in tui_runs),
            "s",
            baseline=median(s["startup_s"] for s in runs),
        )
    for i, label in enumerate(LABELS):
        tui_s = median(s["answers"][i]["seconds"] for s in tui_runs)
        tui_cpu = median(s["answers"][i]["cpu_s"] for s in tui_runs)
        peer_s = {who: median(s["answers"][i]["seconds"] for s in runs) for who, runs in peers.items()}
        peer_cpu = {who: median(s["answers"][i]["cpu_s"] for s in runs) for who, runs in peers.items()}
        rates = [_server_rate(s["answers"][i])[1] for runs in [*peers.values(), tui_runs] for s in runs]
        server_s = median(_server_rate(s["answers"][i])[0] for s in tui_runs)
        fastest = min(peer_s, key=lambda who: peer_s[who])
        leanest = min(peer_cpu, key=lambda who: peer_cpu[who])
        fast_enough = min(rates) >= 1000
        # The server's own time bounds any client: when even an instant client could not be 3x as
        # fast as the best peer (peer / server time < 3), the target cannot apply to this answer.
        best = peer_s[fastest] / server_s if server_s else None
        applies = fast_enough and best is not None and best >= 3
        why = (
            ""
            if applies
            else f"; target n/a: server-bound (an instant client would reach {best:.2f}x)"
            if fast_enough
            else "; target n/a: the server generated < 1,000 tok/s"
        )
        each = ", ".join(f"{who} {peer_s[who]:.2f} s / {peer_cpu[who]:.2f} s CPU" for who in peers)
        res.add(
            NAME,
            f"{label} answer: submit -> complete on screen, best peer / llama-tui",
            peer_s[fastest],
            "s",
            baseline=tui_s,
            target=">= 3" if applies else None,
            on="ratio",
            note=f"value: {fastest} (the fastest peer), baseline: llama-tui; {each}; server generated "
            f"{min(rates):,.0f}-{max(rates):,.0f} tok/s; the server's time for llama-tui's answer "
            f"{server_s:.2f} s{why}",
        )
        res.add(
            NAME,
            f"{label} answer: app CPU time, leanest peer / llama-tui",
            peer_cpu[leanest],
            "s",
            baseline=tui_cpu,
            target=">= 5",
            on="ratio",
            note=f"value: {leanest} (the peer using the least CPU), baseline: llama-tui",
        )
        res.add(
            NAME,
            f"{label} answer: llama-tui tokens/s on screen",
            N_PREDICT / tui_s,
            "tok/s",
            baseline=N_PREDICT / server_s if server_s else None,
            note="baseline: the server's own speed for that answer (prompt + generation)",
        )
    res.details.update(
        stock=_compact(stock),
        peer_runs={who: [_compact(s) for s in runs] for who, runs in peers.items()},
        llamatui_runs=[_compact(s) for s in tui_runs],
        n_predict=N_PREDICT,
        rounds=ROUNDS,
    )
    res.details["report"] = [
        f"{NAME}: elia* = elia {res.details['elia'].get('elia')} with bench/elia_launch.py's workaround "
        "for its null-content bug "
        f"(stock elia shows {stock_chars} chars of a {stock_tokens:.0f}-token answer). Same server, same "
        f"{N_PREDICT}-token answers, same tmux procedure (capture-pane every "
        f"{tui_runs[0]['poll_s'] * 1000:.0f} ms); oterm {oterm.get('oterm')} through its OpenAI-compatible "
        f"provider; medians of {ROUNDS} round(s), apps rotating. cold = first message after start-up, warm = "
        "second message in the same chat."
    ]
    return res
