"""Tokens and time of the reasoning and of the answer, counted apart as the output streams."""

from __future__ import annotations

import math

import pytest

from llama_tui.reasoning import HARMONY, THINK, Phase, ReasoningStream, ReasoningTally, Start


def test_each_event_counts_to_the_phase_it_started_in() -> None:
    stream = ReasoningStream(THINK, Start.REASONING)
    # (text, tokens, arrival time): the first event's wait is prompt processing, counted nowhere.
    events = [("Let", 1, 10.0), (" me", 1, 10.1), (" see", 1, 10.2), ("</think>", 1, 10.3), ("\n\n", 1, 10.4)]
    events += [("Yes", 1, 10.6), (".", 1, 10.9)]
    shown = [stream.feed(text, tokens, now) for text, tokens, now in events]
    stream.finish()
    assert "".join(r for r, _ in shown) == "Let me see"
    assert "".join(a for _, a in shown) == "Yes."
    tally = stream.tally
    assert tally.reasoning.tokens == 4  # the closing marker is reasoning
    assert tally.answer.tokens == 3
    assert math.isclose(tally.reasoning.seconds, 0.3)
    assert math.isclose(tally.answer.seconds, 0.6)
    assert tally.answer.per_second is not None and math.isclose(tally.answer.per_second, 5.0)


def test_undecided_start_goes_to_the_phase_that_follows() -> None:
    # Qwen3 (thinking on): "<", "think", ">" could be the opening marker until it is complete.
    stream = ReasoningStream(THINK, Start.OUTSIDE)
    for i, text in enumerate(["<", "think", ">", "hmm", "</think>", "ok"]):
        stream.feed(text, 1, float(i))
    stream.finish()
    assert (stream.tally.reasoning.tokens, stream.tally.answer.tokens) == (5, 1)
    assert (stream.tally.reasoning.seconds, stream.tally.answer.seconds) == (4.0, 1.0)

    plain = ReasoningStream(THINK, Start.OUTSIDE)
    for i, text in enumerate(["<", "b", ">bold"]):
        plain.feed(text, 1, float(i))
    plain.finish()
    assert (plain.tally.reasoning.tokens, plain.tally.answer.tokens) == (0, 3)


def test_harmony_headers_count_to_the_message_they_open() -> None:
    stream = ReasoningStream(HARMONY, Start.OUTSIDE)
    pieces = ["<|channel|>", "analysis", "<|message|>", "We", " think", "<|end|>", "<|start|>", "assistant"]
    pieces += ["<|channel|>", "final", "<|message|>", "Yes"]
    for i, text in enumerate(pieces):
        stream.feed(text, 1, float(i))
    stream.finish()
    assert (stream.tally.reasoning.tokens, stream.tally.answer.tokens) == (6, 6)


def test_held_back_events_and_a_stream_that_never_decides() -> None:
    tally = ReasoningTally()
    tally.add(None, 2, 1.0)
    tally.add(None, 0, 1.5)  # an event with held-back text: no token, time still passes
    tally.close()
    assert (tally.answer.tokens, tally.answer.seconds, tally.reasoning.tokens) == (2, 0.5, 0)
    assert tally.reasoning.per_second is None


def test_bad_numbers_are_refused_and_time_never_runs_backwards() -> None:
    tally = ReasoningTally()
    with pytest.raises(ValueError):
        tally.add(Phase.ANSWER, -1, 0.0)
    with pytest.raises(ValueError):
        tally.add(Phase.ANSWER, 1, math.nan)
    tally.add(Phase.REASONING, 1, 5.0)
    tally.add(Phase.REASONING, 1, 4.0)  # a clock step back counts as no time
    tally.add(Phase.REASONING, 1, 6.0)
    assert tally.reasoning.seconds == 1.0
