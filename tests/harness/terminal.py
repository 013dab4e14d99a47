"""A real process on a pseudo-terminal (100x30), its output drained in a thread: the full-screen
app as a user's terminal runs it, and what it prints before it takes the screen."""

from __future__ import annotations

import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from fcntl import ioctl
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def llama_tui_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "llama_tui", *args]


class Terminal:
    """`command` (e.g. llama_tui_argv(...)) on a pty; `output` grows as it draws."""

    def __init__(self, command: list[str] | None = None, *, args: list[str] | None = None) -> None:
        self.master, slave = pty.openpty()
        ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        # Textual draws on stderr: everything (messages before start-up included) goes to the pty.
        self.proc = subprocess.Popen(
            command if command is not None else llama_tui_argv(*(args or [])),
            cwd=REPO_ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        return
                    self.output += chunk
            except OSError:
                return
            if self.proc.poll() is not None and not ready:
                return

    @property
    def text(self) -> str:
        return bytes(self.output).decode(errors="replace")

    def wait_for(self, needle: bytes, timeout: float = 30, start: int = 0) -> None:
        """Until `needle` appears in the output (after byte `start`); fails with the output so far."""
        deadline = time.monotonic() + timeout
        while needle not in self.output[start:]:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.text[-3000:]}"
            assert time.monotonic() < deadline, f"no {needle!r} after {timeout} s:\n{self.text[-3000:]}"
            time.sleep(0.05)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        os.close(self.master)
