"""Running one setup command (pip, cmake) as a child process: its output goes line by line to a log
file and to a callback, and cancelling the awaiting task stops it (and its children). No Textual.

Async (asyncio subprocesses), so the TUI's event loop never waits on it and `ask --demo` runs it
under asyncio.run alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..sanitize import neutralize

LineCallback = Callable[[str], None]


class SetupError(Exception):
    """A setup step failed; the message says what to do (install cmake, check the network, ...)."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log_path = log_path


@dataclass(frozen=True)
class Command:
    """One command of a setup step: what it is for (shown to the user) and its argv."""

    label: str
    argv: tuple[str, ...]
    cwd: Path | None = None


async def run_command(
    command: Command,
    *,
    log: IO[str],
    on_line: LineCallback | None = None,
    env: Mapping[str, str] | None = None,
    tail: list[str] | None = None,
) -> int:
    """Run `command` to its end; returns its exit code. Every line goes to `log` (and `on_line`);
    the last 200 are kept in `tail` if given. Cancelling stops the process group."""
    log.write(f"\n$ {' '.join(command.argv)}\n")
    log.flush()
    try:
        proc = await asyncio.create_subprocess_exec(
            *command.argv,
            cwd=str(command.cwd) if command.cwd else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=os.name == "posix",
        )
    except OSError as e:
        raise SetupError(f"cannot run {command.argv[0]}: {e.strerror or e}") from e
    assert proc.stdout is not None
    try:
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                break
            # cmake and pip redraw with \r: each redraw is a line of its own for the progress.
            for part in raw.decode("utf-8", errors="replace").replace("\r", "\n").splitlines():
                line = neutralize(part.rstrip())
                if not line:
                    continue
                log.write(line + "\n")
                if tail is not None:
                    tail.append(line)
                    del tail[:-200]
                if on_line is not None:
                    on_line(line)
            log.flush()
        return await proc.wait()
    except BaseException:
        await _stop(proc)
        log.write("(stopped)\n")
        log.flush()
        raise


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            else:
                proc.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), wait)
            return


def open_log(path: Path) -> IO[str]:
    """The setup log (appended to; private: it holds paths of the user's home)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8")


NETWORK_HINTS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "ProxyError",
    "SSLError",
)


def pip_failure(what: str, tail: Sequence[str], log_path: Path) -> SetupError:
    """A clear error for a failed `pip download`: no network is the usual cause."""
    text = "\n".join(tail)
    if any(hint in text for hint in NETWORK_HINTS):
        return SetupError(
            f"cannot download {what} from PyPI: check the network connection (or pip's index and proxy "
            f"settings) and try again. pip's output is in {log_path}",
            log_path,
        )
    last = next((line for line in reversed(tail) if line.strip()), "")
    return SetupError(f"pip could not download {what}: {last}\nThe whole output is in {log_path}", log_path)
