"""Stop thinking now, rebuilding a stored answer's raw output, and which reasoning is sent back."""

from __future__ import annotations

import pytest

from llama_tui.domain import ChatMessage
from llama_tui.reasoning import (
    FORMATS,
    GEMMA4,
    HARMONY,
    MISTRAL,
    THINK,
    Phase,
    ReasoningFormat,
    ReasoningSplitter,
    Resend,
    Start,
    history_reasoning,
    rebuild_output,
    split_reasoning,
    stop_thinking,
)

IN, OUT, ANS = Start.REASONING, Start.OUTSIDE, Start.ANSWER
FINAL = "<|start|>assistant<|channel|>final<|message|>"
STOP_CASES: list[tuple[ReasoningFormat, Start, str, str | None]] = [
    (THINK, IN, "Let me think", "\n</think>\n\n"),
    (THINK, IN, "Let me think\n", "</think>\n\n"),
    (THINK, IN, "Let me think</thi", "nk>\n\n"),  # it was writing the marker: finish it
    (THINK, IN, "", "\n</think>\n\n"),
    (THINK, IN, "r</think>\n\nThe ans", None),  # already answering
    (THINK, OUT, "", "<think>\n</think>\n\n"),  # nothing yet: an empty block, as with thinking off
    (THINK, OUT, "<thi", "nk>\n</think>\n\n"),
    (THINK, OUT, "<think>\nabc", "\n</think>\n\n"),
    (THINK, OUT, "Hello", None),
    (THINK, ANS, "", None),
    (GEMMA4, OUT, "<|channel>thought\nhmm", "\n<channel|>"),
    (GEMMA4, OUT, "", "<|channel>thought\n<channel|>"),  # the official thinking-off generation prompt's end
    (MISTRAL, OUT, "[THINK]hmm", "[/THINK]"),
    (HARMONY, OUT, "", "<|channel|>final<|message|>"),
    (HARMONY, OUT, "<|channel|>analysis<|message|>hmm", "<|end|>" + FINAL),
    (HARMONY, OUT, "<|channel|>analysis<|message|>hmm<|end|>", FINAL),
    (HARMONY, OUT, "<|channel|>analysis<|message|>hmm<|end|><|start|>assistant", "<|channel|>final<|message|>"),
    (  # a second analysis message under way: left empty
        HARMONY,
        OUT,
        "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>anal",
        "ysis<|message|><|end|>" + FINAL,
    ),
    (HARMONY, OUT, "<|channel|>final<|message|>x", None),
    (HARMONY, IN, "", "<|end|>" + FINAL),
    (HARMONY, ANS, "x", None),
]


@pytest.mark.parametrize(("fmt", "start", "output", "text"), STOP_CASES)
def test_stop_thinking_text(fmt: ReasoningFormat, start: Start, output: str, text: str | None) -> None:
    assert stop_thinking(fmt, start, output) == text


@pytest.mark.parametrize(("fmt", "start", "output", "text"), [c for c in STOP_CASES if c[3] is not None])
def test_after_stopping_the_model_writes_the_answer(fmt: ReasoningFormat, start: Start, output: str, text: str) -> None:
    """The next prompt (prompt + output + stop text) has no open reasoning block: what the model
    writes next is answer, and the reasoning so far is kept."""
    splitter = ReasoningSplitter(fmt, start)
    _, answer = splitter.feed(output + text)
    assert answer == "" and splitter.phase is Phase.ANSWER
    assert splitter.feed("The answer.") == ("", "The answer.")
    whole = split_reasoning(output + text + "The answer.", fmt, start=start)
    assert whole[1] == "The answer."
    so_far = split_reasoning(output, fmt, start=start)[0] or ""
    assert so_far.startswith(whole[0] or "")  # all of it (but a half-written closing marker)
    assert len(so_far) - len(whole[0] or "") <= len("</thi")


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))
@pytest.mark.parametrize("start", list(Start))
@pytest.mark.parametrize("reasoning", [None, "", "R1\nR2"])
@pytest.mark.parametrize("answer", ["", "A1\n\nA2"])
def test_rebuilt_output_splits_back_to_what_was_stored(
    fmt: ReasoningFormat, start: Start, reasoning: str | None, answer: str
) -> None:
    if start is Start.REASONING and reasoning is None:
        reasoning = ""  # the prompt opened a block: there is reasoning, maybe empty
    if start is Start.ANSWER:
        reasoning = None  # the prompt closed it: no reasoning in the output
    raw = rebuild_output(fmt, start, reasoning, answer)
    assert split_reasoning(raw, fmt, start=start) == (reasoning, answer)


def test_rebuilt_output_is_the_official_history_form() -> None:
    # Qwen3's template renders a final assistant turn as "<think>\nR\n</think>\n\nA"; Qwen3.5's
    # generation prompt already holds "<think>\n"; gpt-oss: analysis message, then the final one.
    assert rebuild_output(THINK, OUT, "R1", "A1") == "<think>\nR1\n</think>\n\nA1"
    assert rebuild_output(THINK, IN, "R1", "A1") == "R1\n</think>\n\nA1"
    assert rebuild_output(HARMONY, OUT, "R1", "A1") == "<|channel|>analysis<|message|>R1<|end|>" + FINAL + "A1"
    assert rebuild_output(THINK, IN, "R1", "") == "R1"  # no answer yet: the block stays open


def _assistant(content: str, reasoning: str | None = None) -> ChatMessage:
    return ChatMessage(role="assistant", content=content, reasoning=reasoning)


def test_history_never_holds_reasoning_in_content_and_keeps_it_only_where_the_template_does() -> None:
    path = [
        ChatMessage(role="user", content="what is <think>?"),
        _assistant("Four.", reasoning="2+2"),
        _assistant("<think>\nold, interrupted\n</think>\n\nPartial"),  # stored before reasoning was split
        _assistant("<think>\nnever closed"),
    ]
    dropped = history_reasoning(path, Resend.NEVER)
    assert [(m.content, m.reasoning) for m in dropped] == [
        ("what is <think>?", None),
        ("Four.", None),
        ("Partial", None),
        ("", None),
    ]
    kept = history_reasoning(path, Resend.ALWAYS)
    assert [(m.content, m.reasoning) for m in kept[1:]] == [
        ("Four.", "2+2"),
        ("Partial", "old, interrupted"),
        ("", "never closed"),
    ]
    assert path[1].reasoning == "2+2"  # the stored messages are not changed
