"""Splitting <think> reasoning from the answer, whole and streamed in every possible chunking."""

from __future__ import annotations

import pytest

from llama_tui.reasoning import ReasoningSplitter, split_reasoning


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("plain answer", None, "plain answer"),
        ("<think>\nstep 1\nstep 2\n</think>\n\nThe answer.", "step 1\nstep 2", "The answer."),
        ("  <think>x</think>y", "x", "y"),
        ("<think>still thinking", "still thinking", ""),
        ("answer mentions <think> later", None, "answer mentions <think> later"),
    ],
)
def test_split(text: str, reasoning: str | None, answer: str) -> None:
    assert split_reasoning(text) == (reasoning, answer)


@pytest.mark.parametrize(
    "text",
    [
        "<think>\nhmm, 2+2</think>\n\n**4**",
        "no thinking here",
        "<thi",
        "<think>a</thi",
        "<think></think>done",
        "<the answer",
    ],
)
def test_streamed_split_matches_whole_split_at_every_chunk_size(text: str) -> None:
    for size in range(1, len(text) + 1):
        splitter = ReasoningSplitter()
        thought, answer = "", ""
        for i in range(0, len(text), size):
            t, a = splitter.feed(text[i : i + size])
            thought += t
            answer += a
        t, a = splitter.flush()
        thought, answer = thought + t, answer + a
        expected_reasoning, expected_answer = split_reasoning(text)
        if expected_reasoning is None:
            # Text that never became a think block is all answer once it is clearly not a tag.
            assert thought == "" and answer == text, (size, thought, answer)
        else:
            assert thought.strip("\n") == expected_reasoning, size
            assert answer == expected_answer, size
