"""The streaming parser for reasoning written between two markers (`<think>...</think>`,
`<|channel>thought...<channel|>`, `[THINK]...[/THINK]`): an optional block at the start, or one
the prompt already opened; with `anywhere`, further blocks between answer parts too."""

from __future__ import annotations

import enum

from .formats import ReasoningFormat, Start
from .scan import MarkerParser, Phase, Piece, find_first, held_back


class _State(enum.Enum):
    OUTSIDE = "outside"  # nothing but whitespace yet: a block may still open
    REASONING = "reasoning"
    AFTER = "after"  # just closed: whitespace (and an answer-opening marker) are dropped
    ANSWER = "answer"


class TagParser(MarkerParser):
    """Feed text, get (phase, text) pieces in order; holds back only what could still be a marker."""

    def __init__(self, fmt: ReasoningFormat, start: Start = Start.OUTSIDE) -> None:
        super().__init__()
        self.fmt = fmt
        self._state = {
            Start.OUTSIDE: _State.OUTSIDE,
            Start.REASONING: _State.REASONING,
            Start.ANSWER: _State.AFTER,
        }[start]
        self.blocks = 1 if start is Start.REASONING else 0  # reasoning blocks seen

    @property
    def phase(self) -> Phase | None:
        """Where the next text goes, None while that is still open (only at the very start)."""
        if self._state is _State.OUTSIDE:
            return None
        return Phase.REASONING if self._state is _State.REASONING else Phase.ANSWER

    def _open_block(self, out: list[Piece]) -> None:
        if self.blocks:  # a later block: keep it apart from the earlier ones
            self._emit(out, Phase.REASONING, "\n\n")
        self.blocks += 1
        self._state = _State.REASONING

    def _step(self, out: list[Piece]) -> bool:
        """One move of the state machine; False when it needs more text."""
        fmt, buf = self.fmt, self._buf
        if self._state is _State.OUTSIDE:
            head = buf.lstrip()
            if head.startswith(fmt.open):
                self._buf = head[len(fmt.open) :]
                self._open_block(out)
                return True
            if not head or fmt.open.startswith(head):
                return False  # could still be the opening marker
            self._state = _State.ANSWER  # no block: all of it is answer, leading whitespace too
            return True
        if self._state is _State.REASONING:
            found = find_first(buf, [fmt.close])
            if found is None:
                keep = held_back(buf, [fmt.close])
                self._emit(out, Phase.REASONING, buf[: len(buf) - keep])
                self._buf = buf[len(buf) - keep :]
                return False
            self._emit(out, Phase.REASONING, buf[: found[0]])
            self._buf = buf[found[0] + len(found[1]) :]
            self._state = _State.AFTER
            return True
        if self._state is _State.AFTER:
            head = buf.lstrip()
            if fmt.answer_open:
                if head.startswith(fmt.answer_open):
                    head = head[len(fmt.answer_open) :].lstrip()
                elif not head or fmt.answer_open.startswith(head):
                    self._buf = head
                    return False
            self._buf = head
            if not head:
                return False
            self._state = _State.ANSWER
            return True
        return self._answer_step(out)

    def _end_markers(self) -> list[str]:
        """Markers dropped when they end the answer: the answer's own closing marker, and for
        `anywhere` formats a stray reasoning-closing one (Gemma 4 sometimes ends with `<channel|>`)."""
        fmt = self.fmt
        return [m for m in (fmt.answer_close, fmt.close if fmt.anywhere else "") if m]

    def _answer_step(self, out: list[Piece]) -> bool:
        fmt, buf = self.fmt, self._buf
        markers = [fmt.open] if fmt.anywhere else []
        markers += self._end_markers()
        found = find_first(buf, markers)
        if found is None:
            keep = held_back(buf, markers)
            self._emit(out, Phase.ANSWER, buf[: len(buf) - keep])
            self._buf = buf[len(buf) - keep :]
            return False
        i, marker = found
        if marker == fmt.open:
            self._emit(out, Phase.ANSWER, buf[:i])
            self._buf = buf[i + len(marker) :]
            self._open_block(out)
            return True
        # An end marker is dropped only at the very end: hold it while only whitespace follows.
        rest = buf[i + len(marker) :]
        if not rest.strip():
            self._emit(out, Phase.ANSWER, buf[:i])
            self._buf = buf[i:]
            return False
        self._emit(out, Phase.ANSWER, buf[: i + len(marker)])
        self._buf = rest
        return True

    def flush(self) -> list[Piece]:
        """End of the output: what was held back, where it belongs. Nothing is dropped but markers
        and the whitespace right after a closed block."""
        buf, self._buf = self._buf, ""
        if self._state is _State.REASONING:
            return [(Phase.REASONING, buf)] if buf else []
        if self._state is _State.ANSWER and buf.strip() in self._end_markers():
            return []
        if self._state is _State.AFTER and not buf.strip():
            return []
        if buf:
            self.answered = True
            return [(Phase.ANSWER, buf)]
        return []
