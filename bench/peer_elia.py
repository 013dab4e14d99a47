"""peer_elia: elia (elia-chat on PyPI, a Textual chat TUI driven through litellm) against the real
tiny-model llama-server's OpenAI-compatible /v1/chat/completions, measured in tmux with
``measure_in_tmux``: wall time from the submit key to the complete answer on screen, and elia's CPU
time meanwhile. The server's own generation time (from /metrics, same answer) is the baseline.

elia lives in its own venv, ``bench/.venv-elia`` (gitignored; created with ``pip install elia-chat`` if
missing), with its config and database in a temporary XDG home. The server is started with
``--n-predict N_PREDICT --ignore-eos`` so every answer is exactly N_PREDICT tokens: elia sends no
max_tokens, and ignore_eos is a llama-server extension that the OpenAI API has no field for.

Finding: elia 1.10.0 shows an EMPTY answer with llama-server. The first chunk llama-server streams
is ``"delta":{"role":"assistant","content":null}`` and elia's stream loop breaks on the first chunk
whose content is not a str. The benchmark proves this (run 1, stock elia: answer length read from
elia's own database) and then measures elia with a minimal in-process workaround (run 2, see
bench/elia_launch.py): a cold answer (elia imports litellm on the first message) and a warm one.

The llama-tui half of the comparison reuses ``start_peer_server`` and ``measure_in_tmux``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import BENCH_DIR, BenchResult, log, real_server
from .tmux import measure_in_tmux

NAME = "peer_elia"
ELIA_VENV = BENCH_DIR / ".venv-elia"
ELIA_PACKAGE = "elia-chat"
N_PREDICT = 2000
CTX_SIZE = 8192  # the warm answer's prompt holds the cold answer: ~2,600 + 2,000 tokens
MODEL_CONTEXT = 16384  # the tiny model's nominal context: the server caps a slot at it
PROMPTS = ("Tell me a long story about a llama.", "Another one, please.")

# What elia 1.10.0 puts on screen. While it streams, the header (top right) says "Agent is responding"
# and the answer box is titled "Agent is responding..."; when the answer is complete both go and the
# box is titled "Agent". While it waits for the first chunk (litellm import, request) nothing changes
# on screen. A long answer scrolls the box's title off the top, so "complete" for the patched elia is:
# was responding, and now is not, with the prompt box on screen, on two identical captures in a row
# (measure_in_tmux's confirm=2: rules out torn frames). The footer is no signal: whether it shows
# "^j Send message" depends on which widget has focus. Stock elia stops at the first chunk, so its
# responding phase can be too short to see: there, complete = an "Agent" box and nothing responding.
ELIA_RESPONDING = re.compile(r"Agent is responding")
ELIA_ANSWER_BOX = re.compile(r"─ Agent ─")


def elia_ready(screen: str) -> bool:
    return "Enter your message" in screen


def elia_responding(screen: str) -> bool:
    return ELIA_RESPONDING.search(screen) is not None


def elia_idle(screen: str) -> bool:
    return not elia_responding(screen) and "Enter your message" in screen


def elia_prompt_pending(screen: str, prompt: str) -> bool:
    """The prompt is still in elia's input box (the line under its "Enter your message" border)."""
    lines = screen.splitlines()
    for n, line in enumerate(lines[:-1]):
        if "Enter your message" in line:
            return prompt[:20] in lines[n + 1]
    return False


def elia_answer_box_done(screen: str) -> bool:
    return ELIA_ANSWER_BOX.search(screen) is not None and elia_idle(screen)


# -- installing elia --------------------------------------------------------------------------------------


def ensure_elia() -> dict[str, Any]:
    """Create bench/.venv-elia with elia-chat unless it is already there. Never touches .venv."""
    info: dict[str, Any] = {"venv": str(ELIA_VENV), "package": ELIA_PACKAGE}
    python = ELIA_VENV / "bin" / "python"
    if not (ELIA_VENV / "bin" / "elia").exists():
        t0 = time.perf_counter()
        log(f"{NAME}: creating {ELIA_VENV} and installing {ELIA_PACKAGE} (about 30-60 s)")
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        steps = [
            [base, "-m", "venv", "--clear", str(ELIA_VENV)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ELIA_PACKAGE],
        ]
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                info.update(
                    installed=False,
                    error=f"{' '.join(cmd)} exited {proc.returncode}",
                    output=(proc.stdout + proc.stderr)[-3000:],
                )
                return info
        info["install_s"] = round(time.perf_counter() - t0, 1)
    proc = subprocess.run(
        [
            str(python),
            "-c",
            "from importlib.metadata import version as v; "
            "print(v('elia-chat'), v('textual'), v('litellm'), v('openai'))",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        info.update(installed=False, error="elia-chat not importable", output=proc.stderr[-2000:])
        return info
    elia_v, textual_v, litellm_v, openai_v = proc.stdout.split()
    info.update(installed=True, elia=elia_v, textual=textual_v, litellm=litellm_v, openai=openai_v)
    return info


# -- the server -------------------------------------------------------------------------------------------------


def control_byte_bans() -> list[str]:
    """``--logit-bias ID-inf`` for the tiny model's byte tokens of C0 controls (but TAB, LF) and DEL.

    The tiny model's random text holds raw control characters, ESC included (about 4 per 2,000
    tokens). elia writes them to the terminal unfiltered (Rich strips only BEL, BS, VT, FF, CR), so
    ESC sequences and SO/SI garble its screen (seen here: rows shifted or cut, header and input box
    lost) and screen-based timing breaks. Both peers get the same clean text; a client's handling of
    control characters is a correctness test, not this benchmark."""
    from tests.harness.tiny_model import build_vocab

    tokens = build_vocab()[0]
    args: list[str] = []
    for b in [*range(0x20), 0x7F]:
        if b not in (0x09, 0x0A):
            args += ["--logit-bias", f"{tokens.index(f'<0x{b:02X}>')}-inf"]
    return args


@contextlib.contextmanager
def start_peer_server() -> Iterator[Any]:
    """The real tiny-model llama-server both peers talk to: every answer is N_PREDICT tokens of text
    without control characters (see control_byte_bans)."""
    with real_server(
        extra_args=["--n-predict", str(N_PREDICT), "--ignore-eos", *control_byte_bans()],
        ctx_size=CTX_SIZE,
        metrics=True,
        context_length=MODEL_CONTEXT,
    ) as server:
        yield server


def server_counters(url: str) -> dict[str, float]:
    """llama-server's /metrics counters (tokens and seconds, prompt and generation)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:") and " " in line:
            name, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                out[name.removeprefix("llamacpp:")] = float(value)
    return out


def counters_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    keys = ("prompt_tokens_total", "prompt_seconds_total", "tokens_predicted_total", "tokens_predicted_seconds_total")
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}


class EliaWatch:
    """Screen predicates for one elia session, backed by elia's own database as a second signal.

    elia stores a user message when it is sent and the answer when elia has finished it (in the same
    handler that clears "Agent is responding"). The random text of the tiny model sometimes leaves
    tmux's copy of elia's screen garbled (rows cut short or blank, the header lost): then the screen can
    no longer show the state, and the database says it instead. ``done_by`` records which signal ended
    each wait ("screen" or "database")."""

    def __init__(self, db: Path, *, stock: bool) -> None:
        self.db = db
        self.stock = stock
        self.answered = 0
        self.done_by: list[str] = []

    def counts(self) -> tuple[int, int]:
        """(user messages, assistant messages) stored so far."""
        if not self.db.exists():
            return 0, 0
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=0.05)) as conn:
                rows = dict(conn.execute("SELECT role, count(*) FROM message GROUP BY role").fetchall())
        except sqlite3.Error:
            return 0, 0
        return int(rows.get("user", 0)), int(rows.get("assistant", 0))

    def busy(self, screen: str) -> bool:
        # Not "user message stored": until the first chunk arrives (seconds, on the first message: elia
        # imports litellm then) elia's screen looks idle, so only "responding" proves the answer started.
        return elia_responding(screen) or self.counts()[1] > self.answered

    def done(self, screen: str) -> bool:
        if (elia_answer_box_done if self.stock else elia_idle)(screen):
            self.done_by.append("screen")
            return True
        if self.counts()[1] > self.answered:
            self.done_by.append("database")
            return True
        return False

    def next_answer(self) -> str:
        self.answered += 1
        return self.done_by[-1] if self.done_by else "?"


# -- one elia session ---------------------------------------------------------------------------------------------


def elia_session(server_url: str, prompts: tuple[str, ...], *, fix_null_content: bool) -> dict[str, Any]:
    """Start elia (fresh config and database) in tmux, send the prompts, return measure_in_tmux's
    result plus the server's counters per answer and the answers elia stored in its database."""
    home = Path(tempfile.mkdtemp(prefix="bench-elia-"))
    try:
        config_dir = home / "config" / "elia"
        config_dir.mkdir(parents=True)
        (config_dir / "config.toml").write_text(
            'default_model = "llama-server"\n'
            "[[models]]\n"
            'id = "llama-server"\n'
            'name = "openai/tiny"\n'  # litellm: provider "openai", model name sent as "tiny"
            f'api_base = "{server_url}/v1"\n'
            'api_key = "none"\n'
        )
        env = {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            # litellm otherwise downloads its model price list from GitHub when imported (no network here:
            # it logs warnings over elia's screen and falls back to its bundled copy).
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "BENCH_ELIA_FIX_NULL_CONTENT": "1" if fix_null_content else "0",
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
        }
        counters = [server_counters(server_url)]
        db = home / "data" / "elia" / "elia.sqlite"
        watch = EliaWatch(db, stock=not fix_null_content)

        def after_answer(i: int, app: Any) -> dict[str, Any]:
            done_by = watch.next_answer()
            # The server finishes before elia does; give its counters a moment to settle.
            time.sleep(0.2)
            counters.append(server_counters(server_url))
            return {**counters_delta(counters[-2], counters[-1]), "done_by": done_by}

        command = [str(ELIA_VENV / "bin" / "python"), str(BENCH_DIR / "elia_launch.py")]
        result = measure_in_tmux(
            command,
            list(prompts),
            watch.done,
            busy_predicate=watch.busy if fix_null_content else None,
            ready_predicate=elia_ready,
            submit_keys=("C-j",),  # elia sends with ctrl+j (Enter inserts a newline)
            pending_predicate=elia_prompt_pending,
            env=env,
            ready_timeout=90,
            answer_timeout=60,
            after_answer=after_answer,
        )
        stored: list[int] = []
        if db.exists():
            with contextlib.closing(sqlite3.connect(db)) as conn:
                rows = conn.execute("SELECT content FROM message WHERE role = 'assistant' ORDER BY id").fetchall()
            stored = [len(r[0] or "") for r in rows]
        result["stored_answer_chars"] = stored
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def add_stock_elia_figure(res: BenchResult, name: str, stock: dict[str, Any]) -> tuple[int | None, float]:
    """How much of its first answer stock elia showed; returns (chars shown, tokens generated)."""
    stock_chars = stock["stored_answer_chars"][0] if stock["stored_answer_chars"] else None
    stock_tokens = stock["answers"][0]["extra"]["tokens_predicted_total"]
    res.add(
        name,
        "stock elia: answer chars shown",
        stock_chars,
        "chars",
        note=f"server generated {stock_tokens:.0f} tokens; elia stops at the first chunk (content null)",
    )
    return stock_chars, stock_tokens


def elia_installed(res: BenchResult, name: str) -> bool:
    """Install elia (once) and add the figure saying whether that worked."""
    info = ensure_elia()
    res.details["elia"] = info
    res.add(
        name,
        "elia-chat installable (separate venv)",
        bool(info.get("installed")),
        note=f"elia {info.get('elia')}, textual {info.get('textual')}, litellm {info.get('litellm')}",
    )
    if not info.get("installed"):
        res.details["report"] = [f"{name}: elia-chat could not be installed: {info.get('error')}"]
    return bool(info.get("installed"))


def run() -> BenchResult:
    res = BenchResult()
    if not elia_installed(res, NAME):
        return res

    with start_peer_server() as server:
        server_args = list(server.extra_args)
        log(f"{NAME}: stock elia against {server.url}/v1 ({N_PREDICT}-token answers)")
        stock = elia_session(server.url, PROMPTS[:1], fix_null_content=False)
        log(f"{NAME}: elia with the null-content workaround")
        fixed = elia_session(server.url, PROMPTS, fix_null_content=True)

    stock_chars, stock_tokens = add_stock_elia_figure(res, NAME, stock)
    res.add(NAME, "elia start-up to ready screen", fixed["startup_s"], "s")
    for label, answer, chars in zip(("cold", "warm"), fixed["answers"], fixed["stored_answer_chars"], strict=False):
        server_s = answer["extra"]["prompt_seconds_total"] + answer["extra"]["tokens_predicted_seconds_total"]
        tokens = answer["extra"]["tokens_predicted_total"]
        res.add(
            NAME,
            f"elia* {label} answer: submit -> streaming on screen",
            answer["busy_seen_s"],
            "s",
            note="first screen showing 'Agent is responding'",
        )
        res.add(
            NAME,
            f"elia* {label} answer: submit -> complete on screen",
            answer["seconds"],
            "s",
            baseline=server_s,
            note=f"baseline: server prompt+generation time; {tokens:.0f} tokens; "
            f"end seen on the {answer['extra']['done_by']}; resubmits {answer['resubmits']}",
        )
        res.add(
            NAME,
            f"elia* {label} answer: elia CPU time",
            answer["cpu_s"],
            "s",
            baseline=answer["seconds"],
            note="ratio = CPU / wall",
        )
        res.add(
            NAME,
            f"elia* {label} answer: tokens/s on screen",
            tokens / answer["seconds"],
            "tok/s",
            baseline=tokens / server_s if server_s else None,
            note=f"{chars} chars stored by elia",
        )

    for session in (stock, fixed):
        for a in session["answers"]:
            for key in ("screen", "refused_screen"):
                if isinstance(a.get(key), str):
                    a[key] = a[key].splitlines()
        session["final_screen"] = session["final_screen"].splitlines()
    res.details.update(
        stock=stock,
        workaround=fixed,
        n_predict=N_PREDICT,
        server_args=server_args,
        ctx_size=CTX_SIZE,
        model_context=MODEL_CONTEXT,
    )
    res.details["report"] = [
        f"{NAME}: elia* = elia {res.details['elia'].get('elia')} with bench/elia_launch.py's workaround "
        "for its null-content bug "
        f"(stock elia shows {stock_chars} chars of a {stock_tokens:.0f}-token answer: it stops reading at "
        f"llama-server's first chunk, whose delta.content is null). Server: {N_PREDICT} tokens per answer, "
        "--ignore-eos, C0 control bytes banned (elia writes ESC etc. raw and garbles its screen). Times are "
        f"quantised by {fixed['poll_s'] * 1000:.0f} ms polling of tmux capture-pane; cold = first message "
        "(elia imports litellm then), warm = second message in the same chat.",
    ]
    return res


if __name__ == "__main__":  # python -m bench.peer_elia: run it alone, print the figures
    from .common import print_table

    r = run()
    print_table(r.figures)
    print(os.linesep.join(r.details.get("report", [])))
