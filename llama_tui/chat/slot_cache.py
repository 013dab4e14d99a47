"""Sessions that resume instantly: save a session's slot KV cache when it is at risk, restore it
when the session comes back and the server no longer holds it. No Textual; never raises into the
caller for a server or disk problem (a failed save or restore means the prompt is processed again,
reported quietly through `on_event`).

Facts (llama-server b1-0c1e570 from llama-cpp-python 0.3.36, measured here):

- `POST /slots/{id}?action=save {"filename"}` writes `<--slot-save-path>/<filename>` and answers
  `{"id_slot", "filename", "n_saved", "n_written", "timings": {"save_ms"}}`; restore answers
  `{"n_restored", "n_read", "timings": {"restore_ms"}}`, erase `{"n_erased"}`. A 900-token prompt
  on the tiny llama model is 255 KB saved in 0.5 ms; 2,573 Gemma 3 270M tokens are 15.9 MB in 5 ms.
- /slots does not show a restore: after a restart a slot has no `id_task` / `n_prompt_tokens`
  until its next task, and a restore does not change them. So this service remembers which of its
  sessions sits in which slot (`id_task` and `n_prompt_tokens` from /slots after each answer) and
  treats a changed `id_task` as "the server no longer holds it".
- The next /completion with the same prompt after a restore: llama model `cache_n` 921 of 922
  prompt tokens (the last one is always evaluated again), same greedy answer; Gemma 3 (sliding-
  window attention) `cache_n` 0 of 2,573 unless the server runs with --swa-full (then 1,390 of
  1,391). See chat/slot_support.py for what each model family needs.
- A refused restore clears the slot; a file from another model with the same shapes is restored
  without complaint (garbage): files are named for the session and the model identity, and a
  sidecar (chat/slot_cache_files.py) records what each holds.

How the screen uses it (every method is async except `leave`; none blocks the event loop):

- `await refresh()` when connected, after the server (re)starts and after a model switch.
- `prepared = await prepare(session_id, prompt, preferred_slot)` before sending; send
  `id_slot = prepared.slot` when it is not None. It may restore the session's cache into that slot.
- `report = await after_answer(session_id, prepared, slot=final.id_slot, text=prompt + answer,
  cache_n=final.timings.cache_n)` once the answer is complete; `report.footer` (if any) says
  "cache restored: N prompt tokens not re-processed". (chat/slot_cache_turn.py's `CachedTurn`
  does both around a `Generation.run`.)
- `leave(session_id, next_slot)` on switching away: saves in the background if the session's
  slot is about to be reused. `await save_all()` on quit and before the managed server stops.
- `await forget_session(session_id)` when a session is deleted or purged; `await saved_caches()`,
  `support` and `recent` (the last events) for the monitor.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..client import LlamaCppClient, LlamaError, NotSupported, Slot, SlotFileRefused
from ..gguf_info import GGUFError, ModelTraits, read_model_traits
from ..sanitize import one_line
from . import slot_cache_files as files_mod
from .connection import ServerConnection
from .slot_cache_files import CacheEntry, CacheFiles, slot_filename
from .slot_cache_types import EventKind, Prepared, RestoreReport, SavedCache, SlotCacheEvent
from .slot_support import UNKNOWN, ModelIdentity, SlotSupport, Support, assess

# Prompts shorter than this are not worth a file: re-processing them takes a second at most on a CPU.
MIN_TOKENS = 256
RECENT_EVENTS = 20  # kept for the monitor


@dataclass
class _Held:
    """One of our sessions in a slot, as /slots showed it right after."""

    session_id: int
    text: str
    n_tokens: int
    id_task: int | None


EventCallback = Callable[[SlotCacheEvent], object]
__all__ = ["EventKind", "Prepared", "RestoreReport", "SavedCache", "SlotCache", "SlotCacheEvent"]


class SlotCache:
    """Save and restore the slot caches of one server's sessions (see the module docstring)."""

    def __init__(
        self,
        server: LlamaCppClient | ServerConnection,
        *,
        root: Path,
        max_bytes: int,
        files_dir: Path | None = None,
        model_file: Path | None = None,
        swa_full: bool | None = None,
        managed: bool = False,
        namespace: str = "",
        min_tokens: int = MIN_TOKENS,
        timeout: float = 60.0,
        on_event: EventCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._server = server
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.files_dir = files_dir
        self.model_file = model_file
        self.swa_full = swa_full
        self.managed = managed
        self.namespace = namespace  # the session store's (slot_cache_files.namespace_for)
        self.min_tokens = min_tokens
        self.timeout = timeout
        self.on_event = on_event  # may be set later (the screen that shows the notices)
        self.recent: collections.deque[SlotCacheEvent] = collections.deque(maxlen=RECENT_EVENTS)
        self._clock = clock
        self.support: SlotSupport = UNKNOWN
        self.identity: ModelIdentity | None = None
        self.traits: ModelTraits | None = None
        self.files: CacheFiles | None = None
        self._files_enabled = False
        self._router = False
        self._not_reused: set[str] = set()  # model keys whose restores the server re-processed
        self._held: dict[int, _Held] = {}
        self._total_slots = 1
        self._lock = asyncio.Lock()  # one slot-file sequence at a time
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def client(self) -> LlamaCppClient:
        """The client of the server in use (a ServerConnection's current one)."""
        return self._server.client if isinstance(self._server, ServerConnection) else self._server

    # -- what the server can do ------------------------------------------------------------------

    async def refresh(self) -> SlotSupport:
        """Ask the server what it runs and whether it saves slot files; read the model's traits."""
        if self.max_bytes <= 0:
            self.support = SlotSupport(Support.OFF, "off in the config (slot_cache_max_mb = 0)")
            return self.support
        try:
            props = await self.client.props()
            self._router = props.is_router
            self._files_enabled = not self._router and await self.client.slot_files_enabled()
        except LlamaError as e:
            self.support = SlotSupport(Support.UNAVAILABLE, f"unknown: {one_line(e.message)[:200]}")
            return self.support
        local = self.model_file
        if local is None and props.model_path and os.path.isfile(props.model_path):
            local = Path(props.model_path)  # an external server on this machine: its model's traits
        try:
            self.traits = await asyncio.to_thread(read_model_traits, local) if local is not None else None
        except (OSError, GGUFError):
            self.traits = None
        identity = ModelIdentity.from_props(props, local_model=self.model_file)
        url = self.client.base_url
        files = CacheFiles.open(self.root, files_dir=self.files_dir, server_url=url, namespace=self.namespace)
        if (
            self.identity is None
            or identity.key != self.identity.key
            or self.files is None
            or files.where != self.files.where
        ):
            self._held.clear()  # another server, model or build: nothing in the slots is ours any more
        self.identity, self.files, self._total_slots = identity, files, props.total_slots
        self._assess()
        return self.support

    def _assess(self) -> None:
        key = self.identity.key if self.identity is not None else ""
        self.support = assess(
            files_enabled=self._files_enabled,
            router=self._router,
            traits=self.traits,
            swa_full=self.swa_full,
            learned_not_reused=key in self._not_reused,
            managed=self.managed,
        )

    # -- before and after a request --------------------------------------------------------------

    async def prepare(self, session_id: int, prompt: str, preferred_slot: int | None = None) -> Prepared:
        """Choose the slot for the session's next request and, if the server no longer holds the
        session's prompt and a valid saved cache covers most of it, restore it there first."""
        fallback = Prepared(preferred_slot)
        if not self.support.can_save or self.identity is None or self.files is None:
            return fallback
        async with self._lock:
            try:
                snap = await self._snapshot()
            except LlamaError:
                return fallback
            for k, held in self._held.items():
                if held.session_id == session_id and self._still_held(k, held, snap):
                    return Prepared(k)  # the server still has it: go where it is
            target = self._pick_slot(snap, preferred_slot)
            if target is None:
                return fallback
            holder = self._held.get(target)
            if holder is not None:
                await self._save(target, snap)  # another session's cache is about to go: keep it first
            entry = await asyncio.to_thread(self.files.get, session_id, self.identity.key)
            if entry is None:
                return fallback  # nothing to restore: the caller's (or the server's) choice stands
            # Tokens of the file the prompt still starts with, estimated from the text (the
            # restore costs milliseconds; what it spares must be worth the slot it takes).
            expected = entry.n_tokens * _common_prefix(entry.text, prompt) // max(1, len(entry.text))
            if expected < self.min_tokens:
                return fallback  # the session changed too much since
            await self._blank_pending(target)
            return await self._restore(session_id, entry, target, snap, expected)

    async def _restore(
        self, session_id: int, entry: CacheEntry, target: int, snap: dict[int, Slot], expected: int
    ) -> Prepared:
        assert self.files is not None
        self._held.pop(target, None)  # whatever happens, the slot no longer holds its old prompt
        try:
            done = await asyncio.wait_for(self.client.restore_slot(target, entry.filename), self.timeout)
        except SlotFileRefused as e:
            await asyncio.to_thread(self.files.remove, entry)
            self._emit(EventKind.RESTORE_FAILED, session_id, f"saved cache refused by the server ({e.message})")
            return Prepared(target)
        except NotSupported:
            self._files_enabled = False
            self._assess()
            return Prepared(target)
        except (LlamaError, TimeoutError) as e:
            self._emit(EventKind.RESTORE_FAILED, session_id, f"saved cache not restored: {_why(e)}")
            return Prepared(target)
        self._held[target] = _Held(session_id, entry.text, done.n_restored, _id_task(snap.get(target)))
        await asyncio.to_thread(self.files.touch, entry, self._clock())
        self._emit(
            EventKind.RESTORED,
            session_id,
            f"restored {done.n_restored:,} cached tokens in {done.restore_ms:.0f} ms",
            n_tokens=done.n_restored,
            n_bytes=done.n_read,
            ms=done.restore_ms,
        )
        return Prepared(target, done.n_restored, done.restore_ms, min(expected, done.n_restored))

    async def after_answer(
        self, session_id: int, prepared: Prepared, *, slot: int | None, text: str, cache_n: int
    ) -> RestoreReport | None:
        """Record that `slot` now holds the session (`text`: the prompt and the answer), and judge
        a restore by the answer's `cache_n`. Returns the report for the footer after a restore."""
        report = None
        if prepared.restored:
            # A server that cannot use a restored cache resets the slot: cache_n is exactly 0 then
            # (sliding-window or recurrent memory without checkpoints). Any reuse shows as > 0.
            reused = cache_n > 0
            report = RestoreReport(prepared.restored, cache_n, reused)
            if reused:
                self._emit(EventKind.REUSED, session_id, report.footer, n_tokens=cache_n)
            elif self.identity is not None:
                self._not_reused.add(self.identity.key)
                self._assess()
                self._emit(EventKind.NOT_REUSED, session_id, f"{report.footer}; {self.support.hint or 'not saving'}")
        if slot is None:  # the answer did not say: with one slot it can only be that one
            slot = prepared.slot if prepared.slot is not None else 0 if self._total_slots == 1 else None
        if slot is None or not self.support.can_save:
            return report  # nothing will be saved: no need to look at /slots
        async with self._lock:
            for k in [k for k, h in self._held.items() if h.session_id == session_id or k == slot]:
                del self._held[k]
            try:
                snap = await self._snapshot()
            except LlamaError:
                return report
            s = snap.get(slot)
            n_tokens = _int_field(s, "n_prompt_tokens")
            self._held[slot] = _Held(session_id, text, max(0, n_tokens or 0), _id_task(s))
        return report

    # -- saving ----------------------------------------------------------------------------------

    def leave(self, session_id: int, next_slot: int | None = None) -> None:
        """The user switches away from `session_id` (to a session that will use `next_slot`, if
        known): save its cache in the background if that slot is where it sits, or if unsure."""
        for k, held in list(self._held.items()):
            if held.session_id == session_id and (next_slot is None or next_slot == k):
                task: asyncio.Task[object] = asyncio.create_task(self._save_locked(k))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def save_all(self, timeout: float = 5.0) -> int:
        """Save every slot of ours whose file is stale (quit, managed server stopping); gives up
        after `timeout` seconds. Returns how many were saved."""
        saved = 0

        async def run() -> None:
            nonlocal saved
            async with self._lock:
                snap = await self._snapshot()
                for k in list(self._held):
                    saved += await self._save(k, snap)

        with contextlib.suppress(LlamaError, TimeoutError):
            await asyncio.wait_for(run(), timeout)
        return saved

    async def _save_locked(self, slot: int) -> object:
        async with self._lock:
            try:
                return await self._save(slot, await self._snapshot())
            except LlamaError:
                return False

    async def _save(self, slot: int, snap: dict[int, Slot]) -> bool:
        """Save the session held in `slot` if its file is stale. Call with the lock held."""
        held = self._held.get(slot)
        if held is None or self.identity is None or self.files is None or not self.support.can_save:
            return False
        if held.n_tokens < self.min_tokens:
            return False
        if not self._still_held(slot, held, snap):
            del self._held[slot]  # used by someone else since: that cache is gone
            return False
        entry = await asyncio.to_thread(self.files.get, held.session_id, self.identity.key)
        if entry is not None and entry.text == held.text:
            return False  # the file already holds this
        filename = slot_filename(held.session_id, self.identity.key, self.namespace)
        try:
            done = await asyncio.wait_for(self.client.save_slot(slot, filename), self.timeout)
        except NotSupported:
            self._files_enabled = False
            self._assess()
            return False
        except (LlamaError, TimeoutError) as e:
            self._emit(EventKind.SAVE_FAILED, held.session_id, f"session cache not saved: {_why(e)}")
            return False
        now = self._clock()
        new = CacheEntry(
            filename, held.session_id, self.identity.key, self.identity.name,
            done.n_saved, done.n_written, held.text, now, now,
        )  # fmt: skip
        await asyncio.to_thread(self.files.put, new)
        if done.n_saved != held.n_tokens:  # the slot changed between our look and the save
            await asyncio.to_thread(self.files.remove, new)
            self._emit(EventKind.SAVE_FAILED, held.session_id, "session cache not saved: the slot was in use")
            return False
        self._emit(
            EventKind.SAVED,
            held.session_id,
            f"saved {done.n_saved:,} cached tokens ({_size(done.n_written)}) in {done.save_ms:.0f} ms",
            n_tokens=done.n_saved,
            n_bytes=done.n_written,
            ms=done.save_ms,
        )
        await self._enforce_cap(filename)
        return True

    async def _enforce_cap(self, keep: str) -> None:
        assert self.files is not None
        for victim in await asyncio.to_thread(self.files.over_cap, self.max_bytes, keep=keep):
            await asyncio.to_thread(self.files.remove, victim)
            why = "larger than the cache size limit" if victim.filename == keep else "least recently used"
            self._emit(EventKind.REMOVED, victim.session_id, f"session cache removed ({why})", n_bytes=victim.n_bytes)

    async def _blank_pending(self, slot: int) -> None:
        """Overwrite removed files on a remote server with an empty save (it cannot delete them).
        Only right before a restore into `slot`, whose content is replaced anyway."""
        assert self.files is not None
        pending = await asyncio.to_thread(self.files.pending_blanks)
        if not pending:
            return
        try:
            await self.client.erase_slot(slot)
            for entry in pending:
                done = await self.client.save_slot(slot, entry.filename)
                if done.n_saved == 0:
                    await asyncio.to_thread(self.files.drop_record, entry)
        except LlamaError:
            return  # tried again at the next restore

    # -- sessions and the monitor ----------------------------------------------------------------

    async def forget_session(self, session_id: int) -> int:
        """A session was deleted or purged: delete its saved caches everywhere."""
        for k in [k for k, h in self._held.items() if h.session_id == session_id]:
            del self._held[k]
        return await asyncio.to_thread(files_mod.forget_session, self.root, session_id, self.namespace)

    async def forget_other_sessions(self, live: set[int]) -> int:
        """Delete the caches of this store's sessions that are not in `live` (deleted or purged
        while no SlotCache listened: by another llama-tui, or the trash purge at start-up)."""
        for k in [k for k, h in self._held.items() if h.session_id not in live]:
            del self._held[k]
        return await asyncio.to_thread(files_mod.forget_other_sessions, self.root, live, self.namespace)

    async def saved_caches(self) -> list[SavedCache]:
        """This server's saved caches, most recently used first."""
        if self.files is None:
            return []
        entries = await asyncio.to_thread(self.files.entries)
        key = self.identity.key if self.identity is not None else ""
        rows = [
            SavedCache(e.session_id, e.model_name, e.n_tokens, e.n_bytes, e.used_at, e.model_key == key)
            for e in entries
            if not e.blank_pending
        ]
        return sorted(rows, key=lambda r: -r.used_at)

    async def wait_idle(self) -> None:
        """Wait for background saves (tests, and before quitting)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- helpers ---------------------------------------------------------------------------------

    async def _snapshot(self) -> dict[int, Slot]:
        return {s.id: s for s in await self.client.slots()}

    @staticmethod
    def _still_held(slot: int, held: _Held, snap: dict[int, Slot]) -> bool:
        """Whether the slot still holds what we left there: the same task as after our answer. A
        slot without a task id (a restarted server, or a restore not yet used) proves nothing."""
        s = snap.get(slot)
        return s is not None and not s.is_processing and held.id_task is not None and _id_task(s) == held.id_task

    def _pick_slot(self, snap: dict[int, Slot], preferred: int | None) -> int | None:
        idle = [k for k, s in sorted(snap.items()) if not s.is_processing]
        if preferred is not None and preferred in idle:
            return preferred
        # An idle slot that holds none of our sessions first: nothing to save before reusing it.
        free = [k for k in idle if k not in self._held]
        candidates = free or idle
        return candidates[0] if candidates else None

    def _emit(
        self, kind: EventKind, session_id: int | None, message: str, n_tokens: int = 0, n_bytes: int = 0, ms: float = 0
    ) -> None:
        event = SlotCacheEvent(kind, session_id, one_line(message), n_tokens, n_bytes, ms)
        self.recent.append(event)
        if self.on_event is None:
            return
        with contextlib.suppress(Exception):  # a broken listener must not break saving or sending
            result = self.on_event(event)
            if isinstance(result, Awaitable):
                self._spawn_listener(result)

    def _spawn_listener(self, result: Awaitable[object]) -> None:
        async def run() -> None:
            with contextlib.suppress(Exception):
                await result

        task: asyncio.Task[object] = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _int_field(slot: Slot | None, name: str) -> int | None:
    value = slot.raw.get(name) if slot is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id_task(slot: Slot | None) -> int | None:
    return _int_field(slot, "id_task")


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two strings (binary search on slices: C speed)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _why(error: BaseException) -> str:
    if isinstance(error, LlamaError):
        return one_line(error.message)[:200]
    return "the server did not answer in time" if isinstance(error, TimeoutError) else type(error).__name__


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"
