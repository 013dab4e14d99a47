"""What a managed llama-server prints: copied to its log file (rotated while it runs), the recent
lines kept for the log panel and for error messages, and the start-up progress read from them."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO

from .log import READY, STARTING, LoadProgress, progress_from_line

_MAX_PARTIAL = 64 * 1024  # a "line" longer than this without a newline is passed on as it is


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


class ServerOutput:
    """The output of one llama-server process (its reader thread feeds it; asyncio code reads it)."""

    def __init__(self, keep_lines: int = 5000, max_log_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_log_bytes = max_log_bytes
        """A log file that grows past this (at start() or while the server runs) is moved to
        NAME.1 and a new one begun: at most about twice this on disk."""
        self._lock = threading.Lock()
        self._lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._total = 0  # lines ever received (the deque keeps the last keep_lines)
        self._eof = False
        self._waiters: list[Callable[[], None]] = []
        self.progress: LoadProgress = STARTING

    def restart(self) -> None:
        """A new process starts (the kept lines stay: they tell what happened before)."""
        with self._lock:
            self._eof = False
            self.progress = STARTING

    def read(self, stream: IO[bytes], log: IO[bytes], log_path: Path) -> None:
        """Reader thread: copy the child's output to the log file and the line buffer."""
        pending = b""
        # Bytes this run wrote to the current file: start() already rotated an old file that was
        # too big, so each file stays within about twice max_log_bytes.
        size = 0
        try:
            while True:
                try:
                    chunk = stream.read1(65536)  # type: ignore[attr-defined]
                except (OSError, ValueError):
                    chunk = b""
                if not chunk:
                    break
                with contextlib.suppress(OSError):
                    log.write(chunk)
                    log.flush()
                size += len(chunk)
                if size > self.max_log_bytes:  # a chatty server: rotate now, not at the next start
                    log = self._rotate(log, log_path)
                    size = 0
                pending += chunk
                *complete, pending = pending.split(b"\n")
                if len(pending) > _MAX_PARTIAL:
                    complete.append(pending)
                    pending = b""
                self._add([_decode(raw) for raw in complete], _decode(pending))
            if pending:
                self._add([_decode(pending)], "")
        finally:
            with contextlib.suppress(OSError):
                log.close()
            with contextlib.suppress(OSError):
                stream.close()
            with self._lock:
                self._eof = True
                waiters = list(self._waiters)
            for wake in waiters:
                wake()

    def _rotate(self, log: IO[bytes], path: Path) -> IO[bytes]:
        """Move the full log to NAME.1 (replacing the older one) and carry on in a new NAME: the
        log never takes more than about 2 x max_log_bytes on disk, however long the server runs."""
        with contextlib.suppress(OSError):
            log.close()
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".1"))
        try:
            return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        except OSError:
            return open(os.devnull, "ab")  # nowhere to write: keep draining the pipe all the same

    def _add(self, lines: list[str], partial: str) -> None:
        with self._lock:
            progress = self.progress
            for line in lines if progress is not READY else ():
                progress = progress_from_line(line, progress)
            if partial and progress is not READY:  # the dot-per-percent bar is only finished by a newline at 100 %
                progress = progress_from_line(partial, progress)
            self.progress = progress
            if not lines:
                return
            self._lines.extend(lines)
            self._total += len(lines)
            waiters = list(self._waiters)
        for wake in waiters:
            wake()

    async def batches(self, started: Callable[[], bool], *, from_start: bool = True) -> AsyncIterator[list[str]]:
        """Lists of new output lines as they come (from the oldest kept line if `from_start`),
        until the server exits. Lines arriving while the consumer is busy come as one batch, so a
        log widget can add them in one go. Lines pushed out of the buffer meanwhile are skipped."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(event.set)

        with self._lock:
            self._waiters.append(wake)
            seen = self._total - len(self._lines) if from_start else self._total
        try:
            while True:
                event.clear()
                with self._lock:
                    first = self._total - len(self._lines)
                    batch = list(itertools.islice(self._lines, max(seen, first) - first, None))
                    seen = self._total
                    done = self._eof and started()
                if batch:
                    yield batch
                elif done:
                    return
                else:
                    await event.wait()
        finally:
            with self._lock:
                self._waiters.remove(wake)

    def recent(self, n: int | None = None) -> list[str]:
        """The last `n` lines kept (all kept lines if n is None)."""
        with self._lock:
            lines = list(self._lines)
        return lines if n is None else lines[-n:] if n > 0 else []
