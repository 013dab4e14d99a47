"""Cutting a streamed markdown answer into chunks at safe block boundaries.

A long answer shown as one Markdown widget gets slower with every block: each append makes
Textual lay out all of the document's blocks again. Shown as a run of Markdown widgets of a few
thousand characters each, only the last one changes, so the cost of a token stays flat.

A cut is safe where the text renders the same in two documents as in one: after a blank line,
outside a fenced code block, before a line that starts a new block on its own (a paragraph or
heading or fence, not a list item, quote or indented line that could continue what came before).
Pure logic: no Textual.
"""

from __future__ import annotations

import re

# Characters that start a block which cannot continue the one before a blank line.
_SAFE_START = frozenset("#`~|")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def _safe_start(char: str) -> bool:
    return char.isalpha() or char in _SAFE_START


class MarkdownChunker:
    """Feed the answer's text as it streams; `feed` says where a new chunk should begin."""

    def __init__(self, min_chars: int, text_so_far: str = "") -> None:
        self.min_chars = min_chars
        self._size = 0  # characters in the current chunk
        self._line: list[str] = []  # the current line so far
        self._at_line_start = True
        self._after_blank = False
        self._fence: str | None = None  # the open fence's marker (``` or ~~~~ ...)
        if text_so_far:
            self._track(text_so_far)
            self._size = len(text_so_far)

    def feed(self, text: str) -> list[str]:
        """Split `text`: the first piece belongs to the current chunk, each further piece starts
        a new chunk. Usually one piece."""
        pieces: list[str] = []
        start = 0
        i = 0
        n = len(text)
        while i < n:
            if (
                self._at_line_start
                and self._after_blank
                and self._fence is None
                and self._size + (i - start) >= self.min_chars
                and _safe_start(text[i])
            ):
                pieces.append(text[start:i])
                self._size = 0
                start = i
            newline = text.find("\n", i)
            if newline == -1:
                self._line.append(text[i:])
                self._at_line_start = False
                break
            self._line.append(text[i:newline])
            self._end_line()
            i = newline + 1
        pieces.append(text[start:])
        self._size += n - start
        return pieces

    def _track(self, text: str) -> None:
        """Follow lines and fences without cutting (text already shown)."""
        *complete, rest = text.split("\n")
        for line in complete:
            self._line.append(line)
            self._end_line()
        if rest:
            self._line.append(rest)
            self._at_line_start = False

    def _end_line(self) -> None:
        line = "".join(self._line)
        self._line.clear()
        self._at_line_start = True
        match = _FENCE.fullmatch(line.rstrip("\r"))
        if self._fence is None:
            # A backtick fence's info string may not contain a backtick (CommonMark).
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                self._fence = match.group(1)
                self._after_blank = False
                return
        elif (
            match
            and match.group(1)[0] == self._fence[0]
            and len(match.group(1)) >= len(self._fence)
            and not match.group(2).strip()
        ):
            self._fence = None
            self._after_blank = False
            return
        self._after_blank = self._fence is None and not line.strip()
