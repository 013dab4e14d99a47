"""MarkdownChunker: a streamed answer cut into chunks must render as the whole text would."""

from __future__ import annotations

from itertools import chain

import pytest
from markdown_it import MarkdownIt

from llama_tui.markdown_chunks import MarkdownChunker
from tests.harness.samples import sample_markdown


def stream(text: str, min_chars: int, piece_sizes: list[int]) -> list[str]:
    """Feed `text` in pieces of the given sizes (cycled); return the chunks."""
    chunker = MarkdownChunker(min_chars)
    chunks = [""]
    i = k = 0
    while i < len(text):
        size = piece_sizes[k % len(piece_sizes)]
        pieces = chunker.feed(text[i : i + size])
        chunks[-1] += pieces[0]
        chunks.extend(pieces[1:])
        i += size
        k += 1
    return chunks


def block_types(text: str) -> list[str]:
    tokens = MarkdownIt("gfm-like").parse(text)
    return [t.type for t in tokens if t.level == 0 and t.nesting >= 0]


@pytest.mark.parametrize("piece_sizes", [[1], [4], [3, 1, 7, 2], [50], [10_000]])
def test_chunks_join_to_the_text_and_render_the_same_blocks(piece_sizes: list[int]) -> None:
    text = sample_markdown()
    chunks = stream(text, 500, piece_sizes)
    assert "".join(chunks) == text
    assert len(chunks) >= 4
    assert list(chain.from_iterable(block_types(c) for c in chunks)) == block_types(text)


def test_cuts_only_after_a_blank_line_before_a_safe_start_and_outside_fences() -> None:
    text = sample_markdown()
    chunks = stream(text, 300, [4])
    offset = 0
    for chunk in chunks[:-1]:
        offset += len(chunk)
        before, after = text[:offset], text[offset:]
        assert before.endswith("\n\n")
        assert after[0].isalpha() or after[0] in "#`~|"
        fences = sum(1 for line in before.splitlines() if line.startswith("```"))
        assert fences % 2 == 0, f"cut inside a code fence at {offset}"
    assert all(len(c) >= 300 for c in chunks[:-1])


def test_no_cut_before_min_chars_or_inside_lists_and_quotes() -> None:
    chunker = MarkdownChunker(10)
    text = "first paragraph here\n\n- item one\n\n- item two\n\n> quote\n\n    indented code\n\n1. one\n\n"
    assert chunker.feed(text) == [text]
    assert chunker.feed("Next paragraph") == ["", "Next paragraph"]


def test_text_already_shown_counts_and_an_open_fence_blocks_cuts() -> None:
    chunker = MarkdownChunker(5, text_so_far="```\ncode\n\n")
    assert chunker.feed("more\n\nstill code\n```\n\nAfter") == ["more\n\nstill code\n```\n\n", "After"]
    tilde = MarkdownChunker(5, text_so_far="~~~~\n")
    # A shorter or different closing marker does not close the fence.
    assert tilde.feed("x\n~~~\n\n```\n\nin") == ["x\n~~~\n\n```\n\nin"]
