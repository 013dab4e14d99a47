"""Marker scanning for the streaming reasoning parsers: where the first marker is, and how much of
a buffer's end could still turn out to be one (and so must be held back)."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Phase(enum.Enum):
    """Which part of the answer a piece of output belongs to."""

    REASONING = "reasoning"
    ANSWER = "answer"


Piece = tuple[Phase, str]


def find_first(text: str, markers: Sequence[str]) -> tuple[int, str] | None:
    """(index, marker) of the earliest marker in text (the longest one if two start there)."""
    best: tuple[int, str] | None = None
    for marker in markers:
        if not marker:
            continue
        i = text.find(marker)
        if i != -1 and (best is None or i < best[0] or (i == best[0] and len(marker) > len(best[1]))):
            best = (i, marker)
    return best


def held_back(text: str, markers: Sequence[str]) -> int:
    """Length of the longest end of `text` that is the start of a marker (but not a whole one)."""
    longest = max((len(m) for m in markers), default=0)
    for k in range(min(longest - 1, len(text)), 0, -1):
        tail = text[-k:]
        if any(m.startswith(tail) for m in markers):
            return k
    return 0
