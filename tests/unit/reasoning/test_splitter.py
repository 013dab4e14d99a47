"""Splitting reasoning from the answer, whole and streamed in every possible chunking, for every
format: a block the output opens, one the prompt opened, harmony channels, Gemma 4 thoughts."""

from __future__ import annotations

import random
import re

import pytest

from llama_tui.reasoning import (
    GEMMA4,
    GRANITE,
    HARMONY,
    MISTRAL,
    THINK,
    Phase,
    ReasoningFormat,
    ReasoningSplitter,
    Start,
    split_reasoning,
)
from tests.harness.reasoning import chunkings, stream_split

# --- the original API: a leading <think> block, no format given --------------------------------


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


# --- every format ---------------------------------------------------------------------------------

IN, OUT, ANS = Start.REASONING, Start.OUTSIDE, Start.ANSWER
FINAL = "<|start|>assistant<|channel|>final<|message|>"

CASES: list[tuple[ReasoningFormat, Start, str, str | None, str]] = [
    # Qwen3.5, DeepSeek-R1, GLM-4.7: the prompt ends "<think>\n", the output only closes the block.
    (THINK, IN, "step 1\nstep 2\n</think>\n\nThe answer.", "step 1\nstep 2", "The answer."),
    (THINK, IN, "still thinking", "still thinking", ""),
    (THINK, IN, "", "", ""),
    (THINK, IN, "a</thi", "a</thi", ""),
    (THINK, IN, "r</think>a</think>b", "r", "a</think>b"),  # a second closing marker is answer text
    (THINK, IN, "\n</think>\n\nNo thoughts.", "", "No thoughts."),
    # Qwen3 with thinking on: the output opens the block itself.
    (THINK, OUT, "<think>\nLet me see.\n</think>\n\nYes.", "Let me see.", "Yes."),
    (THINK, OUT, "\n\n<think>x</think>y", "x", "y"),
    (THINK, OUT, "answer mentions </think> later", None, "answer mentions </think> later"),
    # Thinking off: the prompt closed an empty block; a block in the output is not reasoning.
    (THINK, ANS, "Hello.", None, "Hello."),
    (THINK, ANS, "<think>x</think>y", None, "<think>x</think>y"),
    # Gemma 4: thought channel, possibly again later; a stray closing marker at the end is dropped.
    (GEMMA4, OUT, "<|channel>thought\nLet me see.<channel|>The answer.", "Let me see.", "The answer."),
    (GEMMA4, OUT, "A1 <|channel>thought\nmore<channel|>A2", "more", "A1 A2"),
    (GEMMA4, OUT, "<|channel>thought\na<channel|>B<|channel>thought\nc<channel|>D", "a\n\n\nc", "BD"),
    (GEMMA4, OUT, "The answer.<channel|>", None, "The answer."),
    (GEMMA4, OUT, "x <channel|> y", None, "x <channel|> y"),
    (GEMMA4, ANS, "Hi there", None, "Hi there"),
    (GEMMA4, IN, "\nhmm<channel|>ok", "hmm", "ok"),
    # Granite 3.3 (thinking): <think></think><response></response>.
    (GRANITE, OUT, "<think>hmm</think>\n<response>Yes.</response>\n", "hmm", "Yes."),
    (GRANITE, OUT, "<think>hmm</think><response>a </response> b</response>", "hmm", "a </response> b"),
    (GRANITE, OUT, "Yes.", None, "Yes."),
    # Magistral / Ministral 3 Reasoning.
    (MISTRAL, OUT, "[THINK]hmm[/THINK]Yes.", "hmm", "Yes."),
    # gpt-oss (harmony): analysis is reasoning, final and commentary preambles are answer.
    (HARMONY, OUT, f"<|channel|>analysis<|message|>We think.<|end|>{FINAL}The answer.", "We think.", "The answer."),
    (HARMONY, OUT, f"<|channel|>analysis<|message|>We think.{FINAL}The answer.", "We think.", "The answer."),
    (HARMONY, OUT, "<|channel|>final<|message|>Just this.", None, "Just this."),
    (HARMONY, OUT, "<|channel|>analysis<|message|>unfinished", "unfinished", ""),
    (HARMONY, OUT, "<|channel|>analysis<|message|>", "", ""),
    (
        HARMONY,
        OUT,
        "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>commentary<|message|>Let me check."
        f"<|end|><|start|>assistant<|channel|>analysis<|message|>b<|end|>{FINAL}Done.",
        "a\n\nb",
        "Let me check.\n\nDone.",
    ),
    (  # gpt-oss sometimes writes a stray commentary channel first (llama.cpp's parser allows it)
        HARMONY,
        OUT,
        "<|channel|>commentary to=assistant<|channel|>analysis<|message|>x<|end|>" + FINAL + "y",
        "x",
        "y",
    ),
    (  # a tool call is not ours to run: it stays in the answer verbatim
        HARMONY,
        OUT,
        "<|channel|>analysis<|message|>need a tool<|end|><|start|>assistant<|channel|>commentary "
        'to=functions.weather <|constrain|>json<|message|>{"city":"Paris"}',
        "need a tool",
        '<|start|>assistant<|channel|>commentary to=functions.weather <|constrain|>json<|message|>{"city":"Paris"}',
    ),
    (HARMONY, OUT, "Hello, no harmony here.", None, "Hello, no harmony here."),
    (HARMONY, OUT, "<|channel|>" + "x" * 300, None, "<|channel|>" + "x" * 300),  # no <|message|>: not a header
    (HARMONY, IN, f"more thought<|end|>{FINAL}ok", "more thought", "ok"),
    (HARMONY, ANS, "rest of the answer", None, "rest of the answer"),
]


@pytest.mark.parametrize(("fmt", "start", "text", "reasoning", "answer"), CASES)
def test_split_each_format(fmt: ReasoningFormat, start: Start, text: str, reasoning: str | None, answer: str) -> None:
    assert split_reasoning(text, fmt, start=start) == (reasoning, answer)


@pytest.mark.parametrize(("fmt", "start", "text", "reasoning", "answer"), CASES)
def test_streamed_split_is_the_whole_split_in_every_chunking(
    fmt: ReasoningFormat, start: Start, text: str, reasoning: str | None, answer: str
) -> None:
    for pieces in chunkings(text):
        got_reasoning, got_answer, _ = stream_split(fmt, start, pieces)
        if reasoning is None:
            assert (got_reasoning, got_answer) == ("", answer), pieces
        else:
            assert (got_reasoning.strip("\n"), got_answer.lstrip()) == (reasoning, answer), pieces


def test_only_what_could_be_a_marker_is_held_back() -> None:
    splitter = ReasoningSplitter(THINK, Start.REASONING)
    assert splitter.feed("thinking </") == ("thinking ", "")
    assert splitter.feed("b> more") == ("</b> more", "")
    assert splitter.feed("</think>") == ("", "")
    assert splitter.phase is Phase.ANSWER
    assert splitter.feed("\n\nThe") == ("", "The")
    harmony = ReasoningSplitter(HARMONY)
    assert harmony.phase is None
    assert harmony.feed("<|channel|>analysis<|message|>We <|") == ("We ", "")
    assert harmony.phase is Phase.REASONING


def test_phase_follows_the_output() -> None:
    splitter = ReasoningSplitter(THINK)
    assert splitter.phase is None  # a <think> may still come
    splitter.feed("<think>")
    assert splitter.phase is Phase.REASONING
    splitter.feed("x</think>")
    assert splitter.phase is Phase.ANSWER
    assert ReasoningSplitter(THINK).feed("Hi") == ("", "Hi")


def _visible(fmt: ReasoningFormat, text: str) -> str:
    """The text without the format's markers (harmony: its header words too) and whitespace: what
    must survive any split, in order."""
    markers = [fmt.open, fmt.close, fmt.answer_open, fmt.answer_close]
    if fmt.kind == "harmony":
        markers += ["<|start|>", "<|end|>", "<|channel|>", "<|message|>", "assistant", "analysis", "final"]
    for marker in sorted(filter(None, markers), key=len, reverse=True):
        text = text.replace(marker, "")
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize("fmt", [THINK, GEMMA4, GRANITE, MISTRAL, HARMONY])
@pytest.mark.parametrize("start", list(Start))
def test_no_text_is_ever_lost(fmt: ReasoningFormat, start: Start) -> None:
    """Random mixes of words, markers and pieces of markers: every character that is not a marker
    comes out, in order, in the reasoning or the answer."""
    words = ["a", "bc", " ", "\n", "<", "|", ">", "think", "/", "channel", "analysis", "final", "message"]
    markers = [fmt.open, fmt.close, fmt.answer_open, fmt.answer_close, "<|start|>assistant", "<|end|>"]
    markers += ["<|channel|>final<|message|>", "<|message|>", "<|channel|>"]
    rng = random.Random(f"{fmt.name}-{start.value}")
    for _ in range(300):
        text = "".join(rng.choice(words + [m for m in markers if m]) for _ in range(rng.randint(0, 12)))
        cut = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, 3)))
        pieces = [text[a:b] for a, b in zip([0, *cut], [*cut, len(text)], strict=False)]
        _, _, parts = stream_split(fmt, start, pieces)
        assert _visible(fmt, "".join(t for _, t in parts)) == _visible(fmt, text), (text, parts)
