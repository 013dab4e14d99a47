"""The code blocks of a markdown text, in order: what `b` copies, one after the other.

The chat numbers code blocks the same way (fenced or indented, at any depth, in the order
markdown-it finds them), so the number shown on a block is the press of `b` that copies it.
Pure logic: markdown-it only, no Textual.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_PARSER = MarkdownIt("gfm-like")


def code_blocks(markdown: str) -> list[str]:
    """The text of each code block (without its fences), in order."""
    return [token.content for token in _PARSER.parse(markdown) if token.type in ("fence", "code_block")]
