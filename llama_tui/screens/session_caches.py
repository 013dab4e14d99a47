"""The main screen's side of saved session caches (chat/slot_cache.py): look at the server again
when it or its model changes, put a `CachedTurn` around each answer (the session's cache restored
first if the server lost it), save a session's cache when it is left, forget a deleted session's
files, write how a restore went into the answer (its footer says so), and say quietly when a save
or a restore failed. Nothing here blocks the UI or can lose an answer: every slot-file step runs
in a worker or in the answer's own, and a failure only means the prompt is processed again.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

from textual.notifications import SeverityLevel
from textual.worker import Worker

from ..chat.conversation import Conversation
from ..chat.generation import GenerationResult, RequestFactory
from ..chat.request import choose_slot
from ..chat.server_watch import ServerWatch
from ..chat.sessions import Sessions
from ..chat.slot_cache import EventKind, SlotCache, SlotCacheEvent
from ..chat.slot_cache_turn import CachedTurn
from ..chat.slot_support import would_gain
from ..chat.writes import WriteGuard
from ..client import Props
from ..domain import ChatMessage, Session
from ..services import AppServices
from ..store import StoreError

# What the user is told about, quietly; the rest (saved, restored, removed) shows in the answer's
# footer and the monitor (F9).
_NOTICES = {EventKind.SAVE_FAILED, EventKind.RESTORE_FAILED, EventKind.NOT_REUSED}
META_KEY = "slot_cache"  # in ChatMessage.meta: {"restored", "cache_n", "reused"}


class CacheScreen(Protocol):
    """What this helper uses of the main screen (a part of host.ScreenHost, which lists this
    helper in turn: so it is written down here, and nothing imports in a circle)."""

    services: AppServices
    sessions: Sessions
    writes: WriteGuard
    conversation: Conversation | None

    @property
    def server_watch(self) -> ServerWatch: ...
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...
    def start_worker(
        self, work: Coroutine[Any, Any, None], group: str, *, exclusive: bool = False, exit_on_error: bool = True
    ) -> Worker[None]: ...


class SessionCaches:
    def __init__(self, screen: CacheScreen) -> None:
        self.screen = screen
        self._swept = False
        self._seen: tuple[object, ...] | None = None  # what the cache was last refreshed for

    @property
    def cache(self) -> SlotCache | None:
        return self.screen.services.slot_cache

    def props_changed(self, props: Props | None) -> None:
        """The server (re)started, another server or model is in use: ask again what it can do.
        /props is read every few seconds (to see the server fall asleep): only a change of server,
        model or build asks again, and never while it sleeps (the slot actions would wake it)."""
        cache = self.cache
        if props is None or cache is None or props.is_sleeping:
            return
        seen = (self.screen.services.connection.url, props.model_path, props.build_info, props.n_ctx, props.total_slots)
        if seen == self._seen:
            return
        self._seen = seen
        cache.on_event = self._event
        self.screen.start_worker(self._refresh(cache), "slot-cache", exclusive=True, exit_on_error=False)

    def server_lost(self) -> None:
        """The server went away (or is loading): ask again when it is back."""
        self._seen = None

    async def _refresh(self, cache: SlotCache) -> None:
        await cache.refresh()
        if not self._swept and cache.files is not None:
            # Once: the caches of sessions deleted or purged while no llama-tui listened.
            self._swept = True
            await cache.forget_other_sessions({s.id for s in self.screen.sessions.list()})

    def turn(self, session: Session, request: RequestFactory) -> CachedTurn | None:
        """The answer's request through the cache (None: no cache, or a session not in the store)."""
        cache = self.cache
        if cache is None or session.id is None or not cache.support.can_save:
            return None
        return CachedTurn(cache, session.id, request)

    async def finish(self, turn: CachedTurn, result: GenerationResult) -> ChatMessage:
        """After the answer is stored: record where the session sits now; after a restore, keep in
        the answer how it went (for its footer). Returns the answer, updated or not."""
        report = await turn.finish(result.message, slot=result.id_slot)
        if report is None:
            return result.message
        note = {"restored": report.restored, "cache_n": report.cache_n, "reused": report.reused}
        answer = result.message.replace(meta={**(result.message.meta or {}), META_KEY: note})
        try:
            self.screen.services.store.update_message(answer)
        except StoreError as e:
            self.screen.writes.failed(e)  # the note is shown anyway; the answer itself is saved
        return answer

    def left(self, previous: Session | None, following: Session) -> None:
        """The user switched from `previous` to `following`: save the previous session's cache in
        the background if the slot it sits in is the one the next session will use (or unsure)."""
        cache = self.cache
        if cache is None or previous is None or previous.id is None or previous.id == following.id:
            return
        watch = self.screen.server_watch
        next_slot = None
        if following.id is not None:
            next_slot = choose_slot(following.id, watch.total_slots, watch.busy_slots)
        cache.leave(previous.id, next_slot)

    async def forget(self, session_id: int) -> None:
        """A session was deleted: its saved caches go with it."""
        if self.cache is not None:
            await self.cache.forget_session(session_id)

    def session_title(self, session_id: int) -> str:
        """For the monitor's list of saved caches."""
        session = self.screen.sessions.get(session_id)
        return (session.title or "New session") if session is not None else f"session {session_id} (deleted)"

    def gain(self) -> str:
        """For the monitor when saving is off: what it would spare this session (its last prompt)."""
        conversation = self.screen.conversation
        if conversation is None:
            return ""
        for message in reversed(conversation.path()):
            timings = message.timings
            if message.role == "assistant" and isinstance(timings, dict) and timings:
                n = _count(timings, "prompt_n") + _count(timings, "cache_n")
                speed = timings.get("prompt_per_second")
                if isinstance(speed, bool) or not isinstance(speed, int | float):
                    speed = 0.0
                return would_gain(n, float(speed))
        return ""

    def _event(self, event: SlotCacheEvent) -> None:
        if event.kind in _NOTICES:
            severity: SeverityLevel = "information" if event.kind is EventKind.NOT_REUSED else "warning"
            self.screen.notify(event.message, title="Session cache", severity=severity, timeout=6, markup=False)


def _count(timings: dict[str, Any], key: str) -> int:
    value = timings.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
