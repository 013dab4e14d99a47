"""Streaming text into Markdown widgets at a paced rate of updates."""

from __future__ import annotations

import asyncio

from textual.widgets import Markdown

# Each append makes Textual lay out and repaint the chat (twice when sizes change), so the cost
# of a stream is set by the number of appends, not of tokens: at most 20 a second, and after an
# update that took t seconds (until painted), a wait of at least BACKOFF * t, so updates use at
# most about 40% of the time and keys typed during a fast stream still echo at once. Capped
# (MAX_GAP): text held back makes the next update, and so the end of the answer, later.
UPDATE_INTERVAL = 1 / 20
BACKOFF = 1.5
MAX_GAP = 0.25  # seconds between appends at most
PAINT_TIMEOUT = 1.0  # seconds to wait for the frame of an append (the widget may be gone)


class PacedMarkdownStream:
    """Like Textual's MarkdownStream (fragments that arrive while an append runs are joined into
    the next one), but paced (see UPDATE_INTERVAL); `write` never yields to the event loop; the target
    can change (`switch_to`, for an answer shown in chunks) without an extra update; and `stop`
    waits for the append in flight before adding what is left, so two appends never interleave
    (Markdown.append reads its parse position before taking its lock)."""

    def __init__(self, markdown: Markdown, interval: float = UPDATE_INTERVAL) -> None:
        self.markdown = markdown
        self.interval = interval
        self._pending: list[tuple[Markdown, str]] = []
        self._wake = asyncio.Event()
        self._appending: asyncio.Future[None] | None = None
        self._stopped = False
        self._task = asyncio.create_task(self._run())

    def write(self, fragment: str) -> None:
        if fragment:
            self._pending.append((self.markdown, fragment))
            self._wake.set()

    def switch_to(self, markdown: Markdown) -> None:
        """Send what is written from now on to `markdown` (mounted); earlier text keeps its target."""
        self.markdown = markdown

    @property
    def busy(self) -> bool:
        """Text written but not shown yet."""
        return bool(self._pending) or (self._appending is not None and not self._appending.done())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            await self._wake.wait()
            self._wake.clear()
            if self._stopped:
                break
            started = loop.time()
            self._appending = asyncio.ensure_future(self._append_pending())
            await asyncio.shield(self._appending)
            # Twice: laying out new blocks sets their sizes, which asks for a second layout.
            for _ in range(2):
                if not await self._painted(loop):
                    break
            if self._stopped:
                break
            busy = loop.time() - started
            await asyncio.sleep(min(MAX_GAP, max(self.interval - busy, BACKOFF * busy)))

    async def _painted(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait for the next frame (False if none came in PAINT_TIMEOUT seconds)."""
        painted: asyncio.Future[None] = loop.create_future()

        def paint_done() -> None:
            if not painted.done():
                painted.set_result(None)

        self.markdown.call_after_refresh(paint_done)
        done, _ = await asyncio.wait([painted], timeout=PAINT_TIMEOUT)
        return bool(done)

    def _take_pending(self) -> dict[Markdown, str]:
        texts: dict[Markdown, list[str]] = {}
        for target, text in self._pending:
            texts.setdefault(target, []).append(text)
        self._pending = []
        return {target: "".join(parts) for target, parts in texts.items()}

    async def _append_pending(self) -> None:
        # Chunks are separate widgets: their blocks can mount at the same time.
        await asyncio.gather(*(target.append(text) for target, text in self._take_pending().items()))

    async def stop(self, *, keep_for: Markdown | None = None) -> str:
        """Stop, and show everything written so far; except, with `keep_for`, the text not yet
        appended to that widget, which is returned instead (the caller re-renders it whole)."""
        # The flag as well as the cancel: a cancel that lands as an await completes can be lost.
        self._stopped = True
        self._wake.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._appending is not None:
            await self._appending
        pending = self._take_pending()
        kept = pending.pop(keep_for, "") if keep_for is not None else ""
        await asyncio.gather(*(target.append(text) for target, text in pending.items()))
        return kept
