"""Reasoning ("thinking") text that models emit before their answer, as <think>...</think>.

Stored apart from the answer so it can be shown collapsed and is not sent back in later turns.
Pure functions, no Textual.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """(reasoning, answer). Only a <think> block at the very start counts (after whitespace);
    an unclosed block is all reasoning (the answer had not started yet)."""
    stripped = text.lstrip()
    if not stripped.startswith(OPEN):
        return None, text
    body = stripped[len(OPEN) :]
    end = body.find(CLOSE)
    if end == -1:
        return body.strip("\n"), ""
    return body[:end].strip("\n"), body[end + len(CLOSE) :].lstrip()


class ReasoningSplitter:
    """Routes streamed text: what belongs to a leading <think> block, and what is the answer.
    Holds back only as much text as could still turn out to be a tag."""

    def __init__(self) -> None:
        self._pending = ""
        self._state = "start"  # start -> (thinking -> after -> answer) | answer

    def feed(self, text: str) -> tuple[str, str]:
        """(reasoning part, answer part) of this piece of text."""
        if self._state == "answer":
            return "", text
        if self._state == "after":  # whitespace between </think> and the answer is dropped
            text = text.lstrip()
            if text:
                self._state = "answer"
            return "", text
        self._pending += text
        if self._state == "start":
            head = self._pending.lstrip()
            if not head:
                return "", ""
            if head.startswith(OPEN):
                self._state = "thinking"
                self._pending = head[len(OPEN) :]
            elif OPEN.startswith(head):
                return "", ""  # could still be "<think>"
            else:
                self._state, out, self._pending = "answer", self._pending, ""
                return "", out
        end = self._pending.find(CLOSE)
        if end != -1:
            thought, rest = self._pending[:end], self._pending[end + len(CLOSE) :].lstrip()
            self._state, self._pending = ("answer" if rest else "after"), ""
            return thought, rest
        # Keep a tail that might be the start of "</think>".
        keep = next(
            (k for k in range(min(len(CLOSE) - 1, len(self._pending)), 0, -1) if CLOSE.startswith(self._pending[-k:])),
            0,
        )
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep :]
        return out, ""

    def flush(self) -> tuple[str, str]:
        """End of the stream: whatever was held back."""
        pending, self._pending = self._pending, ""
        if self._state == "thinking":
            return pending, ""
        return "", pending if self._state == "start" else ""
