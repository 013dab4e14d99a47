"""Draining a stream into one answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .errors import StreamCutOff
from .types import Completion, FinalEvent, StreamEvent, TokenEvent


async def collect(events: AsyncIterator[StreamEvent]) -> Completion:
    """Drain a stream into one Completion (content joined, final event kept)."""
    parts: list[str] = []
    probs: list[dict[str, Any]] = []
    final: FinalEvent | None = None
    async for event in events:
        if isinstance(event, TokenEvent):
            parts.append(event.content)
            if event.probs:
                probs.extend(event.probs)
        elif isinstance(event, FinalEvent):
            final = event
    if final is None:  # stream_completion raises before this can happen
        raise StreamCutOff("stream ended without a final event")
    return Completion("".join(parts), final, probs or None)
