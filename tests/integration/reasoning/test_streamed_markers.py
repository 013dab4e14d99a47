"""Reasoning markers as the real llama-server streams them from /completion, split as they come.

A random-weight model cannot think, but a grammar forces its exact output through the real
sampler and detokenizer: the tiny model carries the marker tokens typed as in the real GGUFs
(`<think>` user-defined, harmony's and Tekken's control tokens), so the events are the ones a real
model produces, markers split across tokens included. Also "stop thinking now" end to end: cancel
the stream mid-reasoning, continue from prompt + output + the stop text, get an answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_tui.client import FinalEvent, LlamaCppClient, TokenEvent
from llama_tui.reasoning import (
    GEMMA4,
    HARMONY,
    MISTRAL,
    THINK,
    ReasoningFormat,
    ReasoningStream,
    Start,
    format_for,
    split_reasoning,
    start_for,
    stop_thinking,
)
from tests.harness.server import LlamaServer
from tests.harness.tiny_model import REASONING_TOKENS, make_tiny_model

CHATML = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
HARMONY_PROMPT = "<|start|>user<|message|>What is 2+2?<|end|><|start|>assistant"


@pytest.fixture(scope="module")
def server(llama_server_bin: Path, tiny_models_dir: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    model = make_tiny_model(tiny_models_dir, extra_tokens=REASONING_TOKENS)
    with LlamaServer(llama_server_bin, model, log_dir=server_logs_dir) as started:
        yield started


async def _stream(url: str, prompt: str, **params: Any) -> tuple[list[TokenEvent], FinalEvent]:
    events: list[TokenEvent] = []
    final: FinalEvent | None = None
    async with LlamaCppClient(url) as client:
        async for event in client.stream_completion(prompt, n_predict=200, temperature=0, **params):
            if isinstance(event, TokenEvent):
                events.append(event)
            elif isinstance(event, FinalEvent):
                final = event
    assert final is not None
    return events, final


def _split(fmt: ReasoningFormat, start: Start, events: list[TokenEvent]) -> tuple[str, str, ReasoningStream]:
    stream = ReasoningStream(fmt, start)
    reasoning, answer = "", ""
    for event in events:
        r, a = stream.feed(event.content, len(event.tokens), time.monotonic())
        reasoning, answer = reasoning + r, answer + a
    r, a = stream.finish()
    return (reasoning + r).strip("\n"), (answer + a).lstrip(), stream


async def _token_id(url: str, text: str) -> int:
    async with LlamaCppClient(url) as client:
        tokens = await client.tokenize(text)
    assert len(tokens) == 1, tokens
    return tokens[0].id


async def test_output_that_starts_inside_the_reasoning(server: LlamaServer) -> None:
    """Qwen3.5 / DeepSeek-R1: the prompt opened <think>; the output only closes it."""
    prompt = CHATML + "<think>\n"
    fmt = format_for("qwen3.5", prompt)
    start = start_for(fmt, prompt)
    assert start is Start.REASONING
    grammar = 'root ::= "Let me see, two and two." </think> "\\n\\nThe answer is four."'
    events, final = await _stream(server.url, prompt, grammar=grammar)
    assert "</think>" in [e.content for e in events]  # one token, as in Qwen's vocabulary
    reasoning, answer, stream = _split(fmt, start, events)
    assert (reasoning, answer) == ("Let me see, two and two.", "The answer is four.")
    tally = stream.tally
    assert tally.reasoning.tokens > 5 and tally.answer.tokens > 5
    assert tally.reasoning.tokens + tally.answer.tokens == sum(len(e.tokens) for e in events) == final.tokens_predicted


async def test_a_closing_marker_written_in_pieces(server: LlamaServer) -> None:
    """With the `</think>` token banned the model spells it from "<", "/", "think", ">": the
    splitter holds back only those pieces and still finds the marker."""
    prompt = CHATML + "<think>\n"
    think_close = await _token_id(server.url, "</think>")
    grammar = 'root ::= "two and two" "</think>" "\\n\\nfour"'
    events, _ = await _stream(server.url, prompt, grammar=grammar, logit_bias=[[think_close, False]])
    pieces = [e.content for e in events]
    assert "</think>" not in pieces and any(p and p in "</think>" for p in pieces)
    reasoning, answer, _ = _split(THINK, Start.REASONING, events)
    assert (reasoning, answer) == ("two and two", "four")


async def test_harmony_channels_from_the_real_stream(server: LlamaServer) -> None:
    fmt = format_for(None, HARMONY_PROMPT)
    assert fmt is HARMONY and start_for(fmt, HARMONY_PROMPT) is Start.OUTSIDE
    grammar = (
        'root ::= <|channel|> "analysis" <|message|> "We add two and two." <|end|> '
        '<|start|> "assistant" <|channel|> "final" <|message|> "It is four."'
    )
    events, _ = await _stream(server.url, HARMONY_PROMPT, grammar=grammar)
    # llama.cpp shows these control tokens as text (it makes <|end|> user-defined when the
    # vocabulary has <|return|> and <|call|>, as gpt-oss's does); <|return|> ends the generation.
    assert {"<|channel|>", "<|message|>", "<|start|>", "<|end|>"} <= {e.content for e in events}
    reasoning, answer, stream = _split(fmt, Start.OUTSIDE, events)
    assert (reasoning, answer) == ("We add two and two.", "It is four.")
    assert stream.tally.reasoning.tokens > 0 and stream.tally.answer.tokens > 0


async def test_gemma4_thought_channel(server: LlamaServer) -> None:
    prompt = "<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n"
    fmt = format_for(None, prompt)
    assert fmt is GEMMA4
    grammar = 'root ::= <|channel> "thought\\nTwo and two." <channel|> "Four."'
    events, _ = await _stream(server.url, prompt, grammar=grammar)
    assert _split(fmt, start_for(fmt, prompt), events)[:2] == ("Two and two.", "Four.")


async def test_control_token_markers_need_preserved_tokens(server: LlamaServer) -> None:
    """Tekken's [THINK] is a control token: /completion drops it from the text unless the request
    lists it in preserved_tokens, which the format says."""
    ids = [await _token_id(server.url, t) for t in ("[THINK]", "[/THINK]")]
    grammar = f'root ::= <[{ids[0]}]> "two and two" <[{ids[1]}]> "four"'
    bare, _ = await _stream(server.url, CHATML, grammar=grammar)
    assert "".join(e.content for e in bare) == "two and twofour"  # the markers are gone
    kept, _ = await _stream(server.url, CHATML, grammar=grammar, preserved_tokens=list(MISTRAL.preserved_tokens))
    assert "".join(e.content for e in kept) == "[THINK]two and two[/THINK]four"
    assert _split(MISTRAL, Start.OUTSIDE, kept)[:2] == ("two and two", "four")


@pytest.mark.parametrize(
    ("fmt", "prompt", "opening"),
    [
        (THINK, CHATML + "<think>\n", ""),  # Qwen3.5: the prompt opened the block
        (THINK, CHATML, "<think> "),  # Qwen3: the output opens it
        (HARMONY, HARMONY_PROMPT, "<|channel|> analysis <|message|> "),
    ],
)
async def test_stop_thinking_now(server: LlamaServer, fmt: ReasoningFormat, prompt: str, opening: str) -> None:
    """Cancel the stream mid-reasoning, append the stop text, let the model answer: the next
    prompt has no open reasoning block and what comes is the answer."""
    start = start_for(fmt, prompt)
    grammar = f'root ::= {opening}("think "){{40}}'.replace("analysis", '"analysis"')  # more than we wait for
    output = ""
    async with LlamaCppClient(server.url) as client:
        events = client.stream_completion(prompt, grammar=grammar, n_predict=500, temperature=0)
        try:
            async for event in events:
                if isinstance(event, TokenEvent):
                    output += event.content
                    if output.count("think") >= 8:
                        break  # the user pressed "stop thinking"
        finally:
            await events.aclose()
    stop = stop_thinking(fmt, start, output)
    assert stop is not None
    next_prompt = prompt + output + stop
    assert start_for(fmt, next_prompt) is Start.ANSWER
    events_after, _ = await _stream(server.url, next_prompt, grammar='root ::= "Four."')
    continuation = "".join(e.content for e in events_after)
    reasoning, answer = split_reasoning(output + stop + continuation, fmt, start=start)
    assert answer == "Four."
    assert reasoning is not None and reasoning.count("think") >= 8 - opening.count("think")
