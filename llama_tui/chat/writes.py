"""Store writes that may fail (disk full, read-only folder) without losing anything.

A failed write is reported through `on_failure(error, first)` (`first`: nothing had failed since
the last write that worked, so the user has not been told yet); the app goes on in memory. Answers the
store refused are kept here and saved as soon as a write works again, and `on_recovered` is
called then. Every write of the chat services goes through `WriteGuard.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import ParamSpec, TypeVar

from ..domain import ChatMessage
from ..store import Store, StoreError

P = ParamSpec("P")
T = TypeVar("T")


class Failed(Enum):
    """The result of a write the store refused (already reported)."""

    WRITE = "write failed"


FAILED = Failed.WRITE


class WriteGuard:
    def __init__(
        self,
        store: Store,
        on_failure: Callable[[StoreError, bool], None],
        on_recovered: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self._on_failure = on_failure
        self._on_recovered = on_recovered
        self.unsaved = False  # a write failed and nothing has worked since
        self._pending_answers: dict[int, ChatMessage] = {}  # answers the store refused, by id

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | Failed:
        """Run a store write; on failure report it and return FAILED."""
        try:
            result = fn(*args, **kwargs)
        except StoreError as e:
            self.failed(e)
            return FAILED
        if self.unsaved and self._save_pending():
            self.unsaved = False
            self._on_recovered()
        return result

    def failed(self, error: StoreError) -> None:
        """A write failed here or elsewhere (e.g. a streaming checkpoint)."""
        first = not self.unsaved
        self.unsaved = True
        self._on_failure(error, first)

    def keep_answer(self, message: ChatMessage) -> None:
        """An answer whose last save failed: save it when writing works again."""
        if message.id is not None:
            self._pending_answers[message.id] = message
            self.unsaved = True

    def _save_pending(self) -> bool:
        for message_id, message in list(self._pending_answers.items()):
            try:
                self.store.update_message(message)
            except StoreError as e:
                self._on_failure(e, False)
                return False
            del self._pending_answers[message_id]
        return True
