"""A message's markdown as sections laid out at one width, kept up to date as text streams in.

The text is cut into sections at safe block boundaries (`markdown_chunks`: a cut never changes how
the text renders), and each section is laid out on its own (`markdown_layout`). A streamed token
changes only the last section, so an update lays out a few hundred characters whatever the length
of the answer; and an answer shown while it streams is, line for line, what the same text shows
when it is opened later. A change of width lays every section out again: for a long message the
widget does that in a worker thread (`layout_sections` is pure) and adopts the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from textual.content import Content, Span

from ..markdown_chunks import MarkdownChunker
from .markdown_layout import LaidBlock, join_blocks, layout_markdown

# A line as the document keeps it: Content while its section may still change; once frozen, its
# text and spans as a tuple of strings and ints, which the cyclic GC stops tracking (a long answer's
# thousands of Content objects made each full collection longer: 2x the CPU per token at 40,000
# characters). The widget turns the few lines on screen back into Content.
Line = Content | tuple[str, tuple[Span, ...]]


def as_content(line: Line) -> Content:
    if isinstance(line, Content):
        return line
    return Content(line[0], list(line[1]), strip_control_codes=False)


def plain(line: Line) -> str:
    return line.plain if isinstance(line, Content) else line[0]


def same_line(a: Line, b: Line) -> bool:
    if a is b:
        return True
    if isinstance(a, Content) and isinstance(b, Content):
        return a.is_same(b)
    return _compact(a) == _compact(b)


def _compact(line: Line) -> tuple[str, tuple[Span, ...]]:
    return (line.plain, tuple(line.spans)) if isinstance(line, Content) else line


# Sections are at least this long (a cut waits for the next safe boundary): small enough that an
# update re-parses little, large enough that a long answer is not thousands of tiny parses.
SECTION_CHARS = 200


@dataclass(frozen=True)
class LaidSection:
    """One section laid out: its text, the width, the number of its first code block, its blocks."""

    text: str
    width: int
    code_number: int
    blocks: list[LaidBlock]

    @cached_property
    def codes(self) -> int:
        return sum(len(block.code) for block in self.blocks)


_FROZEN = LaidSection("", 0, 0, [])  # stands for a section whose lines were moved into the frozen part


def layout_sections(sections: list[str], width: int, stop: Callable[[], bool] = lambda: False) -> list[LaidSection]:
    """Lay out every section (pure: safe in a worker thread). `stop` is asked before each section:
    once the layout is no longer wanted (another width, the widget gone) it ends there and returns
    the sections laid out so far."""
    out: list[LaidSection] = []
    number = 1
    for text in sections:
        if stop():
            break
        laid = LaidSection(text, width, number, layout_markdown(text, width, number))
        number += laid.codes
        out.append(laid)
    return out


class MarkdownDocument:
    """The sections of one message and their layout at the current width."""

    def __init__(self, source: str = "") -> None:
        self._chunker = MarkdownChunker(SECTION_CHARS)
        self._sections: list[str] = []
        self._laid: list[LaidSection | None] = []
        self._width = 0
        # Lines of the sections before the last one, joined (they no longer change while streaming).
        self._frozen: list[Line] = []
        self._frozen_blocks: list[LaidBlock] = []  # the last block of the frozen part (for its margin)
        self._frozen_sections = 0
        self._frozen_codes = 0
        self._lines: list[Line] | None = None
        self.version = 0  # bumped on every change of text
        if source:
            self.append(source)

    @property
    def source(self) -> str:
        return "".join(self._sections)

    @property
    def chars(self) -> int:
        return sum(len(section) for section in self._sections)

    def sections(self) -> list[str]:
        return list(self._sections)

    def append(self, text: str) -> int:
        """Add streamed text; returns the index of the first section that changed."""
        if not text:
            return len(self._sections)
        pieces = self._chunker.feed(text)
        if self._sections:
            first = len(self._sections) - 1
            self._sections[-1] += pieces[0]
            self._laid[-1] = None
        else:
            first = 0
            self._sections.append(pieces[0])
            self._laid.append(None)
        for piece in pieces[1:]:
            self._sections.append(piece)
            self._laid.append(None)
        self._lines = None
        self.version += 1
        return first

    def replace(self, source: str) -> None:
        self._chunker = MarkdownChunker(SECTION_CHARS)
        self._sections = []
        self._laid = []
        self._reset_frozen()
        self._lines = None
        self.version += 1
        self.append(source)

    def _reset_frozen(self) -> None:
        self._frozen = []
        self._frozen_blocks = []
        self._frozen_sections = 0
        self._frozen_codes = 0  # code blocks in the frozen sections

    def pending_chars(self, width: int) -> int:
        """Characters that must be laid out before `lines(width)` can answer."""
        if width != self._width:
            return self.chars
        start = self._frozen_sections  # the frozen sections are laid out (at this width)
        return sum(len(self._sections[i]) for i in range(start, len(self._sections)) if self._laid[i] is None)

    def only_the_last_pending(self, width: int) -> bool:
        """Only the last section waits to be laid out at `width` (the streaming case)."""
        if width != self._width:
            return len(self._sections) <= 1
        return all(self._laid[i] is not None for i in range(self._frozen_sections, len(self._sections) - 1))

    def adopt(self, laid: list[LaidSection]) -> bool:
        """Take layouts made elsewhere (a worker thread) for the sections whose text is unchanged.
        False if they are for another width than the current one and nothing was taken."""
        if not laid:
            return False
        width = laid[0].width
        if width != self._width:
            self._set_width(width)
        for index, section in enumerate(laid):
            if index < len(self._sections) and self._laid[index] is None and section.text == self._sections[index]:
                self._laid[index] = section
        self._lines = None
        return True

    def _set_width(self, width: int) -> None:
        self._width = width
        self._laid = [None] * len(self._sections)
        self._reset_frozen()
        self._lines = None

    def lines(self, width: int) -> list[Line]:
        """Every line of the document at `width` (lays out what is missing)."""
        if width != self._width:
            self._set_width(width)
        if self._lines is not None:
            return self._lines
        # Only from the first section not frozen: an update costs the same however long the answer.
        number = 1 + self._frozen_codes
        for index in range(self._frozen_sections, len(self._sections)):
            laid = self._laid[index]
            if laid is None or laid.code_number != number:
                text = self._sections[index]
                laid = LaidSection(text, width, number, layout_markdown(text, width, number))
                self._laid[index] = laid
            number += laid.codes
        self._freeze()
        blocks = [block for laid in self._laid[self._frozen_sections :] if laid is not None for block in laid.blocks]
        self._lines = self._frozen + _after(self._frozen_blocks, blocks)
        return self._lines

    def _freeze(self) -> None:
        """Join the sections before the last into the frozen lines (once each)."""
        while self._frozen_sections < len(self._sections) - 1:
            laid = self._laid[self._frozen_sections]
            assert laid is not None
            if laid.blocks:
                self._frozen.extend(_compact(line) for line in _after(self._frozen_blocks, laid.blocks))
                last = laid.blocks[-1]
                self._frozen_blocks = [LaidBlock([], last.top, last.bottom)]  # its margins are all that matter
            self._frozen_codes += laid.codes
            self._laid[self._frozen_sections] = _FROZEN  # its lines are in _frozen now
            self._frozen_sections += 1

    def frozen_lines(self) -> int:
        """How many lines at the top can no longer change while text is appended."""
        return len(self._frozen)


def _after(previous: list[LaidBlock], blocks: list[LaidBlock]) -> list[Content]:
    """The lines of `blocks` placed after `previous` (at most one block): the gap, then theirs."""
    if not previous or not blocks:
        return join_blocks(blocks)
    return join_blocks(previous + blocks)[len(previous[0].lines) :]
