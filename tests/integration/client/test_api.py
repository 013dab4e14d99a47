"""Every client method against the real llama-server (tiny random-weight model)."""

from __future__ import annotations

import asyncio
import time

import pytest

from llama_tui.client import (
    AuthenticationError,
    FinalEvent,
    LlamaCppClient,
    NotSupported,
    ProgressEvent,
    TokenEvent,
    collect,
)
from llama_tui.templates import get_template


async def test_health_and_props(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        health = await client.health()
        props = await client.props()
    assert health.ok
    assert props.n_ctx >= 4096
    assert props.total_slots >= 1
    assert props.model_path.endswith(".gguf")
    assert "<|im_start|>" in props.chat_template
    assert props.bos_token == "<s>"
    assert "temperature" in props.default_params


async def test_tokenize_with_pieces_and_detokenize_round_trip(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        tokens = await client.tokenize("hello world", with_pieces=True)
        plain = await client.tokenize("hello world")
        text = await client.detokenize([t.id for t in tokens])
    assert [t.id for t in tokens] == [t.id for t in plain]
    assert all(t.piece is not None for t in tokens)
    assert "".join(t.piece for t in tokens if isinstance(t.piece, str)).replace("▁", " ").strip() == "hello world"
    assert text.strip() == "hello world"


async def test_count_tokens_counts_as_tokenize_does(llama_server) -> None:
    """Control tokens included (parsed as specials, one token each), no BOS added."""
    text = "<|im_start|>user\nhello world, " + "the llama server streams tokens " * 200 + "<|im_end|>\n"
    async with LlamaCppClient(llama_server.url) as client:
        count = await client.count_tokens(text)
        tokens = await client.tokenize(text)
    assert count == len(tokens) > 400


async def test_apply_template_renders_the_models_chatml(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        prompt = await client.apply_template([{"role": "user", "content": "hi"}])
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


async def test_slots_lists_every_slot(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        props = await client.props()
        slots = await client.slots()
    assert len(slots) == props.total_slots
    assert all(s.n_ctx > 0 for s in slots)


async def test_metrics_needs_the_flag(llama_server, llama_server_metrics) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        with pytest.raises(NotSupported):
            await client.metrics()
    async with LlamaCppClient(llama_server_metrics.url) as client:
        # ignore_eos: the random model may end its answer after a token or two (a flaky 3 >= 8).
        await collect(client.stream_completion("hello", n_predict=8, ignore_eos=True))
        metrics = await client.metrics()
    assert metrics["llamacpp:tokens_predicted_total"] >= 8


async def test_models_lists_the_loaded_model(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        models = await client.models()
    assert models and models[0].id


async def test_wrong_api_key_is_authentication_error(llama_server_auth) -> None:
    async with LlamaCppClient(llama_server_auth.url, api_key="wrong-key") as client:
        assert (await client.health()).ok  # /health needs no key...
        with pytest.raises(AuthenticationError, match="Invalid API Key"):
            await client.props()  # ...but everything else does
    async with LlamaCppClient(llama_server_auth.url, api_key=llama_server_auth.api_key) as client:
        assert (await client.props()).n_ctx > 0


async def test_4000_token_stream_with_consistent_timings(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        received_tokens = 0
        text: list[str] = []
        final: FinalEvent | None = None
        progress: list[ProgressEvent] = []
        async for event in client.stream_completion(
            "Once upon a time", n_predict=4000, ignore_eos=True, seed=1, return_progress=True
        ):
            if isinstance(event, TokenEvent):
                # A token that ends mid-character is held back and sent joined with the next
                # one, so count with the server's running total, not len(event.tokens).
                received_tokens = event.raw["tokens_predicted"]
                text.append(event.content)
            elif isinstance(event, ProgressEvent):
                progress.append(event)
            else:
                final = event
    assert final is not None and final.timings is not None
    assert final.stop_type == "limit"
    assert received_tokens == 4000
    assert final.timings.predicted_n == received_tokens == final.tokens_predicted
    assert final.timings.prompt_n + final.timings.cache_n == final.tokens_evaluated
    assert final.timings.predicted_per_second == pytest.approx(
        final.timings.predicted_n / final.timings.predicted_ms * 1000, rel=0.01
    )
    assert final.ttft_ms is not None and final.ttft_ms > 0
    assert progress and progress[-1].processed == progress[-1].total
    assert len("".join(text)) > 0


async def test_cancelling_the_stream_stops_generation_on_the_server(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        stream = client.stream_completion("count", n_predict=200_000, ignore_eos=True)
        got = 0
        async for event in stream:
            if isinstance(event, TokenEvent):
                got += 1
                if got == 20:
                    break
        await stream.aclose()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while True:
            slots = await client.slots()
            if not any(s.is_processing for s in slots):
                break
            assert time.monotonic() < deadline, "the slot kept generating after the stream was closed"
            await asyncio.sleep(0.05)


async def test_complete_non_streaming(llama_server) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        result = await client.complete("hello", n_predict=16, ignore_eos=True)
    assert result.final.tokens_predicted == 16
    assert result.final.timings is not None and result.final.timings.predicted_n == 16


async def test_megabyte_conversation_streams_to_the_end(big_context_server) -> None:
    # Over 1 MB of prompt text; the final event echoes it, a line far past aiohttp's readline limit.
    big = "x" * (1024 * 1024 + 1000)
    messages = [
        {"role": "user", "content": big},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]
    async with LlamaCppClient(big_context_server.url) as client:
        prompt = get_template("chatml").render(messages)
        result = await collect(client.stream_completion(prompt, n_predict=16, ignore_eos=True))
    assert result.final.tokens_predicted == 16
    assert result.final.prompt is not None and len(result.final.prompt) > 1024 * 1024
