"""MarkdownDocument: an answer laid out while it streams is, line for line, the same text laid out
at once; an append lays out only the end."""

from __future__ import annotations

import random

import pytest

from llama_tui.widgets.markdown_document import MarkdownDocument, as_content, layout_sections, plain, same_line
from tests.harness.samples import sample_markdown


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(same_line(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_streamed_in_random_pieces_it_lays_out_like_the_whole_text(seed: int) -> None:
    text = sample_markdown(sections=4)
    rng = random.Random(seed)
    streamed = MarkdownDocument()
    i = 0
    while i < len(text):
        size = rng.choice([1, 2, 3, 7, 40, 300])
        streamed.append(text[i : i + size])
        i += size
        if rng.random() < 0.3:
            streamed.lines(70)  # laid out along the way, as the widget does
    whole = MarkdownDocument(text)
    assert streamed.source == text
    assert len(streamed.sections()) > 5
    assert same(streamed.lines(70), whole.lines(70))
    # Code blocks are numbered across sections, in order.
    labels = [
        plain(line).rstrip() for line in whole.lines(70) if plain(line).rstrip().endswith(("#1", "#2", "#3", "#4"))
    ]
    assert [label[-2:] for label in labels] == ["#1", "#2", "#3", "#4"]


def test_an_append_keeps_the_lines_above_the_last_section() -> None:
    document = MarkdownDocument(sample_markdown(sections=3))
    before = document.lines(60)
    frozen = document.frozen_lines()
    assert frozen > 10
    document.append("more text at the end")
    after = document.lines(60)
    assert all(after[y] is before[y] for y in range(frozen))  # the same objects: not laid out again
    assert plain(after[-1]).rstrip().endswith("more text at the end")


def test_layouts_made_in_a_thread_are_adopted_for_unchanged_sections() -> None:
    text = sample_markdown(sections=3)
    document = MarkdownDocument(text)
    laid = layout_sections(document.sections(), 50)  # what the worker thread does
    document.append("\n\nA new paragraph.")  # meanwhile the answer went on
    assert document.adopt(laid)
    assert document.pending_chars(50) < 200  # only the changed last section is left to lay out
    assert same(document.lines(50), MarkdownDocument(text + "\n\nA new paragraph.").lines(50))


def test_a_new_width_lays_everything_out_again() -> None:
    document = MarkdownDocument(sample_markdown(sections=2))
    narrow, wide = document.lines(40), document.lines(100)
    assert len(narrow) > len(wide)
    assert all(as_content(line).cell_length <= 40 for line in narrow)
