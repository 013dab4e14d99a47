"""Marker scanning for the streaming reasoning parsers: where the first marker is, and how much of
a buffer's end could still turn out to be one (and so must be held back)."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
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


class MarkerParser(ABC):
    """What the streaming parsers share: a buffer of text not given out yet (the start of what may
    be a marker), stepping through it, and the pieces they give out. `_step` takes what it can
    from the buffer and says whether to go on."""

    def __init__(self) -> None:
        self._buf = ""
        self.answered = False  # some answer text was given out

    @property
    def pending(self) -> str:
        """Text held back (the start of what may be a marker)."""
        return self._buf

    def feed(self, text: str) -> list[Piece]:
        self._buf += text
        out: list[Piece] = []
        while self._step(out):
            pass
        return out

    def _emit(self, out: list[Piece], phase: Phase, text: str) -> None:
        if text:
            out.append((phase, text))
            if phase is Phase.ANSWER:
                self.answered = True

    @abstractmethod
    def _step(self, out: list[Piece]) -> bool: ...
