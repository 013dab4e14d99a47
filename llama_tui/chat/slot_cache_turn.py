"""One answer's use of the slot cache, fitted to chat/generation.py: wrap the request factory (the
slot is prepared, and the session's saved cache restored if needed, right before the request is
sent), then `finish` with the answer once it is stored (records what the slot now holds, says
how a restore went). No Textual.

    turn = CachedTurn(slot_cache, session.id, request)
    result = await Generation(client, store).run(answer, turn.request, sink)
    report = await turn.finish(result.message)   # report.footer after a restore, else None
"""

from __future__ import annotations

import dataclasses

from ..domain import ChatMessage
from .generation import RequestFactory
from .request import CompletionRequest
from .slot_cache import SlotCache
from .slot_cache_types import Prepared, RestoreReport


class CachedTurn:
    def __init__(self, cache: SlotCache, session_id: int, factory: RequestFactory) -> None:
        self.cache = cache
        self.session_id = session_id
        self.factory = factory
        self.prepared: Prepared | None = None
        self.prompt = ""

    async def request(self) -> CompletionRequest:
        """The request, sent to the slot the cache chose (it may have restored the session there).
        A prompt with token ids (regenerate from a token) is sent as it is, without a restore."""
        request = await self.factory()
        if not isinstance(request.prompt, str):
            return request
        preferred = request.params.get("id_slot")
        preferred = preferred if isinstance(preferred, int) and not isinstance(preferred, bool) else None
        self.prepared = await self.cache.prepare(self.session_id, request.prompt, preferred)
        self.prompt = request.prompt
        if self.prepared.slot is None or self.prepared.slot == preferred:
            return request
        return dataclasses.replace(request, params={**request.params, "id_slot": self.prepared.slot})

    async def finish(self, answer: ChatMessage, *, slot: int | None = None) -> RestoreReport | None:
        """After the answer is stored: `slot` is the final event's `id_slot` when known. An answer
        without timings (an error or a cut stream: no final event) proves nothing about a restore
        and leaves the slot in an unknown state: nothing is judged or recorded."""
        if self.prepared is None or not isinstance(answer.timings, dict) or not answer.timings:
            return None
        timings = answer.timings
        cache_n = timings.get("cache_n")
        valid = isinstance(cache_n, int) and not isinstance(cache_n, bool) and cache_n >= 0
        return await self.cache.after_answer(
            self.session_id,
            self.prepared,
            slot=slot if slot is not None else self.prepared.slot,
            text=self.prompt + answer.content,
            cache_n=cache_n if valid and isinstance(cache_n, int) else 0,
        )
