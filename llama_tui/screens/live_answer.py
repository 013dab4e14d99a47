"""An answer being generated, on screen or not: its worker, its generation, and the sink that
puts it into a message view while its session is shown.

Switching sessions does not stop an answer: the generation goes on writing into the store, and
the sink lets go of its view (which the chat pane then removes). When the user comes back while
it still streams, the pane shows the text so far (`so_far`) and the sink takes the new view over
(`attach`): it writes what arrived meanwhile, then goes on live. Text passes through the sink's
own record under a lock, so a new view gets every piece exactly once, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from textual.worker import Worker

from ..chat.generation import Generation
from ..client import ProgressEvent
from ..domain import ChatMessage
from ..store import StoreError
from ..widgets.message_view import MessageView


class ViewSink:
    """A GenerationSink that shows the answer in a MessageView when there is one to show it in."""

    def __init__(self, answer: ChatMessage, on_store_error: Callable[[StoreError], None]) -> None:
        self.answer = answer
        self.view: MessageView | None = None
        self.ended: ChatMessage | None = None  # how the answer ended, once it has
        self._text = [answer.content]
        self._reasoning = [answer.reasoning] if answer.reasoning else []
        self._live: tuple[int, bool] | None = None  # (tokens, thinking) so far
        self._status = ""  # a passing state said while no token comes (retry, waiting)
        self._progress: float | None = None
        self._lock = asyncio.Lock()
        self._on_store_error = on_store_error
        self.started = False  # the server has begun on this answer (progress, tokens or text)

    # -- GenerationSink --------------------------------------------------------------------------

    def _begun(self) -> None:
        """The first sign of life clears a passing status such as "waiting for a free slot"."""
        self.started = True
        if self._status:
            self._status = ""
            if self.view is not None:
                self.view.update_footer()

    def show_status(self, text: str) -> None:
        """A status for the wait before the answer starts (waking model, queued behind a slot)."""
        if not self.started:
            self.on_status(text)

    async def on_text(self, text: str) -> None:
        if not self.started:
            self._begun()
        async with self._lock:
            self._text.append(text)
            if self.view is not None:
                await self.view.write(text)

    def on_reasoning(self, text: str) -> None:
        if not self.started:
            self._begun()
        self._reasoning.append(text)
        if self.view is not None:
            self.view.write_reasoning(text)

    def on_tokens(self, count: int, thinking: bool) -> None:
        if not self.started:
            self._begun()
        self._live, self._status = (count, thinking), ""
        if self.view is not None:
            self.view.show_live(count, thinking)

    def on_progress(self, event: ProgressEvent) -> None:
        if not self.started:
            self._begun()
        self._progress = event.fraction
        if self.view is not None:
            self.view.show_progress(event.fraction)

    def on_status(self, text: str) -> None:
        self._status = text
        if self.view is not None:
            self.view.show_status(text)

    def on_store_error(self, error: StoreError) -> None:
        self._on_store_error(error)

    # -- on screen and off -----------------------------------------------------------------------

    def so_far(self) -> ChatMessage:
        """The answer as it stands (what a new view of it starts from)."""
        return self.answer.replace(
            content="".join(self._text), reasoning="".join(self._reasoning) or None, state="streaming"
        )

    def bind(self, view: MessageView) -> None:
        """Show the answer in `view` from its start (the view shows exactly `answer`)."""
        self.view = view
        view.start_stream()

    async def attach(self, view: MessageView) -> None:
        """Go on in `view`, a new view made from an earlier `so_far()`: write what came since."""
        async with self._lock:
            if self.ended is not None:  # it ended while the view was being made
                await view.finish(self.ended)
                return
            reasoning = "".join(self._reasoning)
            if len(reasoning) > len(view.reasoning_text):
                view.write_reasoning(reasoning[len(view.reasoning_text) :])
            self.view = view
            view.start_stream()
            text = "".join(self._text)
            if self._progress is not None and self._live is None:
                view.show_progress(self._progress)
            if len(text) > len(view.text):
                await view.write(text[len(view.text) :])
            if self._status:
                view.show_status(self._status)
            elif self._live is not None:
                view.show_live(*self._live)

    async def detach(self) -> None:
        """Let go of the view (it is about to be removed); the answer goes on off screen."""
        async with self._lock:
            self.view = None

    async def finish(self, message: ChatMessage) -> None:
        """The answer ended (any way): settle its view, if it has one."""
        async with self._lock:
            self.ended = message
            if self.view is not None:
                await self.view.finish(message)


@dataclass
class LiveAnswer:
    """One answer being generated, in the session `session_id`."""

    session_id: int
    generation: Generation
    sink: ViewSink
    worker: Worker[None] | None = None

    @property
    def answer_id(self) -> int | None:
        return self.sink.answer.id

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.is_finished
