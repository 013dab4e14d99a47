"""Running `llama-tui` as a user does: a real process, optionally on pseudo-terminals, while the
test's own event loop keeps serving (the fault server runs in it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


async def run_cli(
    *args: str, tty: bool = False, stdin: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> Run:
    """`python -m llama_tui ARGS`. With tty=True, stdout and stderr are two pseudo-terminals
    (isatty() is true for both, as in a terminal) and their bytes are returned exactly."""
    full_env = {**os.environ, **(env or {}), "TERM": "xterm-256color"}
    command = [sys.executable, "-m", "llama_tui", *args]
    if not tty:
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO_ROOT,
            env=full_env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        assert proc.returncode is not None
        return Run(proc.returncode, out, err)
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    for fd in (out_master, err_master):
        os.set_blocking(fd, False)
    got = {out_master: bytearray(), err_master: bytearray()}
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=REPO_ROOT, env=full_env, stdin=asyncio.subprocess.DEVNULL, stdout=out_slave, stderr=err_slave
        )
        os.close(out_slave)
        os.close(err_slave)
        deadline = time.monotonic() + timeout
        while True:
            for fd, buf in got.items():
                try:
                    while chunk := os.read(fd, 65536):
                        buf += chunk
                except (BlockingIOError, OSError):
                    pass
            if proc.returncode is not None:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"llama-tui {' '.join(args)} still running after {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.02)
        for fd, buf in got.items():  # what was written just before the exit
            try:
                while chunk := os.read(fd, 65536):
                    buf += chunk
            except (BlockingIOError, OSError):
                pass
    finally:
        os.close(out_master)
        os.close(err_master)
    assert proc.returncode is not None
    # A pty turns "\n" into "\r\n": undo it, to compare text.
    return Run(
        proc.returncode, bytes(got[out_master]).replace(b"\r\n", b"\n"), bytes(got[err_master]).replace(b"\r\n", b"\n")
    )
