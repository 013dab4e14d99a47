"""Splitting a model's output into reasoning and answer, streamed or whole, in any reasoning format.

`ReasoningSplitter` routes streamed text as it arrives, holding back only what could still be a
marker; `split_reasoning` splits a whole output the same way (it is the splitter run once), with
the whitespace around the reasoning trimmed as it is stored. Text that does not parse stays in the
answer: nothing is ever lost but the format's own markers.
"""

from __future__ import annotations

from .formats import THINK, ReasoningFormat, Start
from .harmony import HarmonyParser
from .scan import Phase, Piece
from .tags import TagParser


class ReasoningSplitter:
    """Routes streamed text: what is reasoning and what is the answer, for one output.

    `start` says where the output begins (see `formats.start_for`): with Qwen3.5 or DeepSeek-R1
    templates the prompt opened the reasoning, so the output holds only the closing marker."""

    def __init__(self, fmt: ReasoningFormat = THINK, start: Start = Start.OUTSIDE) -> None:
        self.fmt = fmt
        self.start = start
        self._parser: TagParser | HarmonyParser = (
            HarmonyParser(start) if fmt.kind == "harmony" else TagParser(fmt, start)
        )

    @property
    def phase(self) -> Phase | None:
        """Where text fed now goes: REASONING, ANSWER, or None while the start is undecided."""
        return self._parser.phase

    @property
    def parser(self) -> TagParser | HarmonyParser:
        return self._parser

    @property
    def saw_reasoning(self) -> bool:
        """A reasoning block was opened (by the output, or by the prompt)."""
        return self._parser.blocks > 0

    def feed_pieces(self, text: str) -> list[Piece]:
        """This piece of text as (phase, text) parts, in order."""
        return self._parser.feed(text)

    def feed(self, text: str) -> tuple[str, str]:
        """(reasoning part, answer part) of this piece of text."""
        return _join(self._parser.feed(text))

    def flush(self) -> tuple[str, str]:
        """End of the stream: whatever was held back."""
        return _join(self._parser.flush())

    def flush_pieces(self) -> list[Piece]:
        return self._parser.flush()


def _join(pieces: list[Piece]) -> tuple[str, str]:
    reasoning = "".join(t for p, t in pieces if p is Phase.REASONING)
    answer = "".join(t for p, t in pieces if p is Phase.ANSWER)
    return reasoning, answer


def split_reasoning(text: str, fmt: ReasoningFormat = THINK, *, start: Start = Start.OUTSIDE) -> tuple[str | None, str]:
    """(reasoning, answer) of a whole output. Reasoning is None when there was no reasoning block
    (neither opened by the output nor by the prompt); an unclosed block is all reasoning (the
    answer had not started yet). Newlines around the reasoning and whitespace before the answer are
    trimmed, as stored."""
    splitter = ReasoningSplitter(fmt, start)
    reasoning, answer = splitter.feed(text)
    r2, a2 = splitter.flush()
    reasoning, answer = reasoning + r2, answer + a2
    if not splitter.saw_reasoning:
        return None, answer
    return reasoning.strip("\n"), answer.lstrip()
