"""Counting reasoning and answer apart: tokens and generation time of each, as the output streams.

`ReasoningTally` is fed one streamed event at a time (its phase, how many tokens it carried, when it
arrived). The time between two events is the time the later one took to generate, so it is
counted to that event's phase; the first event's wait is prompt processing (time to first token)
and counts to neither. Events whose phase is not known yet (the first characters of a reply that
may or may not open `<think>`, a harmony header) are held and given to the phase that follows.
`ReasoningStream` is a splitter and a tally together: what the generation loop needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .formats import THINK, ReasoningFormat, Start
from .scan import Phase
from .splitter import ReasoningSplitter


@dataclass
class PhaseCount:
    tokens: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 else None


@dataclass
class ReasoningTally:
    """Tokens and seconds of the reasoning and of the answer."""

    reasoning: PhaseCount = field(default_factory=PhaseCount)
    answer: PhaseCount = field(default_factory=PhaseCount)
    _last: float | None = None
    _pending: PhaseCount = field(default_factory=PhaseCount)

    def add(self, phase: Phase | None, tokens: int, now: float) -> None:
        """One streamed event: `tokens` generated tokens (0 is fine: the server sends events with
        held-back text), arriving at clock time `now` (seconds, monotonic)."""
        if not isinstance(tokens, int) or tokens < 0:
            raise ValueError(f"token count must be a non-negative integer, not {tokens!r}")
        if not math.isfinite(now):
            raise ValueError(f"event time must be finite, not {now!r}")
        seconds = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now if self._last is None else max(self._last, now)
        if phase is None:
            self._pending.tokens += tokens
            self._pending.seconds += seconds
            return
        target = self.reasoning if phase is Phase.REASONING else self.answer
        target.tokens += tokens + self._pending.tokens
        target.seconds += seconds + self._pending.seconds
        self._pending = PhaseCount()

    def close(self) -> None:
        """End of the output: what was still undecided was answer (as the splitter decides)."""
        self.answer.tokens += self._pending.tokens
        self.answer.seconds += self._pending.seconds
        self._pending = PhaseCount()


class ReasoningStream:
    """A splitter and a tally fed together with each streamed event."""

    def __init__(self, fmt: ReasoningFormat = THINK, start: Start = Start.OUTSIDE) -> None:
        self.splitter = ReasoningSplitter(fmt, start)
        self.tally = ReasoningTally()

    def feed(self, text: str, tokens: int, now: float) -> tuple[str, str]:
        """(reasoning part, answer part) of one event's text. The event counts to the phase it
        started in: the token that closes the reasoning is reasoning, the one that opens it too."""
        before = self.splitter.phase
        reasoning, answer = self.splitter.feed(text)
        self.tally.add(before or self.splitter.phase, tokens, now)
        return reasoning, answer

    def finish(self) -> tuple[str, str]:
        """End of the stream: the text held back, and the undecided events counted as answer."""
        self.tally.close()
        return self.splitter.flush()
