"""The code blocks of a markdown text, in order: what `b` copies, one after the other; and the one
markdown parser of the app (markdown-it, "gfm-like" like Textual's Markdown widget).

The chat numbers code blocks the same way (fenced or indented, at any depth, in the order
markdown-it finds them), so the number shown on a block is the press of `b` that copies it.
markdown-it is imported on first use: it is not needed for the first frame (~15 ms of start-up).
Pure logic: markdown-it only, no Textual.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@cache
def parser() -> MarkdownIt:
    """The parser (its parse() keeps its state per call: one instance serves every thread)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


def code_blocks(markdown: str) -> list[str]:
    """The text of each code block (without its fences), in order."""
    return [token.content for token in parser().parse(markdown) if token.type in ("fence", "code_block")]
