"""Drive a full-screen terminal app in a private tmux server and time it from the outside.

``measure_in_tmux(command, prompt, done_predicate)`` starts ``command`` in a detached 120x40 tmux
session, waits until the app's screen is ready, types each prompt, presses the submit keys, and polls
``tmux capture-pane`` until ``done_predicate(screen)`` holds. It reports, per prompt, the wall time from
the submit key to the first screen on which the answer is complete, and the CPU time (utime + stime
from /proc/<pid>/stat, the app and its descendants) spent meanwhile. Shared by peer_elia and the
llama-tui TUI benchmarks, so both apps are measured by the same procedure.

Times are quantised by the polling interval (``poll`` seconds, default 0.05) plus one capture; every
capture runs a short tmux client, whose CPU time is *not* counted (it is not a child of the app).

A private tmux socket (``tmux -L bench-<pid>-<n>``) is used, so the user's tmux sessions are never
touched; that tmux server (and with it the app) is killed at the end.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .common import tree_cpu_seconds

_counter = itertools.count()

ScreenPredicate = Callable[[str], bool]


class TmuxError(RuntimeError):
    def __init__(self, message: str, screen: str = "") -> None:
        super().__init__(message + (f"\n--- last screen ---\n{screen}" if screen else ""))
        self.screen = screen


class TmuxApp:
    """One app in its own tmux server. Use as a context manager."""

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        width: int = 120,
        height: int = 40,
    ) -> None:
        self.command = command if isinstance(command, str) else shlex.join(command)
        self.env = dict(env or {})
        self.cwd = cwd
        self.width = width
        self.height = height
        self.socket = f"bench-{os.getpid()}-{next(_counter)}"
        self.session = "bench"
        self.pid: int | None = None
        self.started_at = 0.0

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=30
        )
        if check and proc.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def start(self) -> TmuxApp:
        # The app replaces the pane's shell (exec), so the pane pid is the app's pid.
        env_args = [a for k, v in self.env.items() for a in ("-e", f"{k}={v}")]
        cwd_args = ["-c", self.cwd] if self.cwd else []
        self.started_at = time.perf_counter()
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(self.width), "-y", str(self.height),
            *env_args, *cwd_args, "exec " + self.command,
            ";", "set-option", "-t", self.session, "remain-on-exit", "on",
        )  # fmt: skip
        self.pid = int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())
        return self

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def dead(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.session, "#{pane_dead}").strip() == "1"

    def send_text(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def send_keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid) if self.pid else 0.0

    def wait_for(self, predicate: ScreenPredicate, timeout: float, poll: float, what: str) -> tuple[float, str, int]:
        """Poll until predicate(screen); returns (time it held, that screen, polls)."""
        deadline = time.perf_counter() + timeout
        polls = 0
        screen = ""
        while True:
            screen = self.screen()
            now = time.perf_counter()
            polls += 1
            if predicate(screen):
                return now, screen, polls
            if self.dead():
                raise TmuxError(f"app exited while waiting for {what}", self.screen())
            if now > deadline:
                raise TmuxError(f"timed out after {timeout:g}s waiting for {what} ({self.diagnose()})", screen)
            time.sleep(poll)

    def diagnose(self) -> str:
        """The app's process state, kernel wait channel and CPU time: tells a hung app from a busy one."""
        if not self.pid:
            return "no pid"
        try:
            with open(f"/proc/{self.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
            with open(f"/proc/{self.pid}/wchan") as f:
                wchan = f.read().strip()
        except OSError as e:
            return f"pid {self.pid}: {e}"
        state = status.get("State", "?").strip()
        return f"pid {self.pid} state {state}, wchan {wchan or '-'}, cpu {self.cpu_seconds():.2f} s"

    def stop(self) -> None:
        self.tmux("kill-server", check=False)
        if self.pid:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and os.path.exists(f"/proc/{self.pid}"):
                time.sleep(0.05)

    def __enter__(self) -> TmuxApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def screen_is_ready(screen: str) -> bool:
    return bool(screen.strip())


def measure_in_tmux(
    command: str | Sequence[str],
    prompt: str | Sequence[str],
    done_predicate: ScreenPredicate,
    *,
    busy_predicate: ScreenPredicate | None = None,
    ready_predicate: ScreenPredicate = screen_is_ready,
    submit_keys: Sequence[str] = ("Enter",),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    width: int = 120,
    height: int = 40,
    poll: float = 0.05,
    ready_timeout: float = 60.0,
    answer_timeout: float = 300.0,
    echo_timeout: float = 10.0,
    confirm: int = 2,
    pending_predicate: Callable[[str, str], bool] | None = None,
    resubmit_after: float = 1.0,
    max_resubmits: int = 3,
    after_answer: Callable[[int, TmuxApp], Any] | None = None,
) -> dict[str, Any]:
    """Run ``command`` in tmux, send each prompt, time each answer. See the module docstring.

    ``prompt``: one prompt, or several sent one after the other in the same session (e.g. a cold
    and a warm answer). ``done_predicate(screen)``: the answer is complete on this screen. If
    ``busy_predicate`` is given, done only counts after a screen on which the app looked busy (so a
    screen still showing the previous answer cannot end the wait early). Before the submit keys, the
    typed prompt must be visible (its first 20 characters), so typing echo is not timed.
    ``confirm``: done must hold on this many consecutive, identical captures (the time is that of the
    first): tmux can be captured in the middle of an app's frame (tmux 3.3 ignores synchronized-output
    mode 2026), and a torn frame can look "done"; a finished app's screen stays the same.
    ``pending_predicate(screen, prompt)``: the prompt still sits unsent in the input box. If it holds
    ``resubmit_after`` seconds after the submit keys, the app dropped them (e.g. it was not ready to
    accept a message yet): they are pressed again (at most ``max_resubmits`` times) and the answer is
    timed from the press that was accepted; ``resubmits`` and the screen of the first refusal are kept.
    ``after_answer(i, app)`` runs after answer i (e.g. to read the server's counters); its return value
    is stored as ``extra``.

    Returns {"startup_s", "answers": [{"seconds", "cpu_s", "busy_seen_s", "polls", "extra"}],
    "cpu_total_s", "final_screen", "poll_s"}. Raises TmuxError (with the last screen) on timeouts or
    if the app exits.
    """
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    result: dict[str, Any] = {"poll_s": poll, "size": f"{width}x{height}", "answers": []}
    with TmuxApp(command, env=env, cwd=cwd, width=width, height=height) as app:
        t_ready, _, _ = app.wait_for(ready_predicate, ready_timeout, poll, "the app to be ready")
        result["startup_s"] = t_ready - app.started_at
        result["pid"] = app.pid
        for i, text in enumerate(prompts):
            app.send_text(text)
            probe = text[:20]
            app.wait_for(lambda s, p=probe: p in s, echo_timeout, 0.01, "the typed prompt to appear")
            cpu0 = app.cpu_seconds()
            t0 = time.perf_counter()
            app.send_keys(*submit_keys)
            resubmits = 0
            refused_screen: str | None = None
            if pending_predicate is not None:
                while True:
                    sent_at = time.perf_counter()
                    while True:
                        screen = app.screen()
                        if not pending_predicate(screen, text) or time.perf_counter() - sent_at > resubmit_after:
                            break
                        time.sleep(poll)
                    if not pending_predicate(screen, text):
                        break
                    if resubmits >= max_resubmits:
                        raise TmuxError(f"prompt {i + 1} still unsent after {resubmits} resubmits", screen)
                    refused_screen = refused_screen or screen
                    resubmits += 1
                    cpu0 = app.cpu_seconds()
                    t0 = time.perf_counter()
                    app.send_keys(*submit_keys)
            busy_at: list[float] = []
            done_at: list[float] = []

            last: list[str] = [""]

            def finished(
                screen: str, busy_at: list[float] = busy_at, done_at: list[float] = done_at, last: list[str] = last
            ) -> bool:
                if busy_predicate is not None and not busy_at:
                    if busy_predicate(screen):
                        busy_at.append(time.perf_counter())
                    return False
                if not done_predicate(screen) or (done_at and screen != last[0]):
                    done_at.clear()
                if done_predicate(screen):
                    if not done_at:
                        last[0] = screen
                    done_at.append(time.perf_counter())
                return len(done_at) >= confirm

            try:
                _, screen, polls = app.wait_for(finished, answer_timeout, poll, f"answer {i + 1} to complete")
            except TmuxError as e:
                seen = "busy seen" if busy_at else "busy never seen" if busy_predicate else "no busy predicate"
                raise TmuxError(f"{str(e).splitlines()[0]}; {seen}", e.screen) from None
            t_done = done_at[0]
            cpu1 = app.cpu_seconds()
            answer: dict[str, Any] = {
                "prompt": text,
                "seconds": t_done - t0,
                "cpu_s": cpu1 - cpu0,
                "busy_seen_s": (busy_at[0] - t0) if busy_at else None,
                "polls": polls,
                "resubmits": resubmits,
                "refused_screen": refused_screen,
                "screen": screen,
            }
            if after_answer is not None:
                answer["extra"] = after_answer(i, app)
            result["answers"].append(answer)
        result["cpu_total_s"] = app.cpu_seconds()
        result["final_screen"] = app.screen()
    return result


def contains(*needles: str) -> ScreenPredicate:
    return lambda screen: all(n in screen for n in needles)


def matches(pattern: str) -> ScreenPredicate:
    rx = re.compile(pattern)
    return lambda screen: rx.search(screen) is not None
