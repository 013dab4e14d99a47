"""Streaming text into a MessageBody at a paced rate of updates.

Each update makes Textual lay out and repaint the chat, so the cost of a stream is set by the
number of updates, not of tokens. The pace adapts to what an update costs on this machine: after
an update that took t seconds until its frame was painted, the next waits at least BACKOFF * t, so
updates take at most about 1 / (1 + BACKOFF) of the time and a key typed meanwhile is handled at
once; never more than MAX_RATE updates a second (the eye does not need more and each one costs
CPU), never a gap above MAX_GAP (text held back makes the end of the answer later).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

MAX_RATE = 6  # updates a second at most: each costs ~3-5 ms of CPU, taken from a local llama-server
BACKOFF = 3.0
MAX_GAP = 0.25  # seconds between updates at most
PAINT_TIMEOUT = 1.0  # seconds to wait for the frame of an update (the widget may be gone)


class StreamTarget(Protocol):
    """What a PacedStream writes into (MessageBody)."""

    def append(self, markdown: str) -> None: ...

    def call_after_refresh(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool: ...


class PacedStream:
    """Text written here reaches `target.append` in paced updates; `write` never waits, and
    `stop` appends what is left at once."""

    def __init__(self, target: StreamTarget, max_rate: float = MAX_RATE) -> None:
        self.target = target
        self.interval = 1 / max_rate
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._stopped = False
        self.updates = 0
        self.last_cost = 0.0  # seconds from the last update to its painted frame
        self._task = asyncio.create_task(self._run())

    def write(self, fragment: str) -> None:
        if fragment:
            self._pending.append(fragment)
            self._wake.set()

    @property
    def busy(self) -> bool:
        """Text written but not shown yet."""
        return bool(self._pending)

    def _flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending = []
            self.target.append(text)
            self.updates += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            await self._wake.wait()
            self._wake.clear()
            if self._stopped:
                break
            started = loop.time()
            self._flush()
            await self._painted(loop)
            if self._stopped:
                break
            self.last_cost = busy = loop.time() - started
            await asyncio.sleep(min(MAX_GAP, max(self.interval - busy, BACKOFF * busy)))

    async def _painted(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait for the next frame (False if none came in PAINT_TIMEOUT seconds)."""
        painted: asyncio.Future[None] = loop.create_future()

        def paint_done() -> None:
            if not painted.done():
                painted.set_result(None)

        self.target.call_after_refresh(paint_done)
        done, _ = await asyncio.wait([painted], timeout=PAINT_TIMEOUT)
        return bool(done)

    async def stop(self) -> None:
        """Stop, and show everything written so far."""
        # The flag as well as the cancel: a cancel that lands as an await completes can be lost.
        self._stopped = True
        self._wake.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._flush()
