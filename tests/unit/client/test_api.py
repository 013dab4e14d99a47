"""Client error mapping, retry policy and stream faults, against a scripted fake server.
(What a real llama-server can produce is tested in tests/integration against the real one.)"""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from llama_tui.client import (
    AuthenticationError,
    ContextOverflow,
    FinalEvent,
    LlamaCppClient,
    ModelLoading,
    NotFound,
    ProtocolError,
    RateLimited,
    ReadTimeout,
    ServerError,
    ServerUnreachable,
    StreamCutOff,
    StreamError,
    TokenEvent,
    collect,
)
from tests.harness.fault_server import FaultServer, event, final, json_error, token


class SleepRecorder:
    """Stands in for asyncio.sleep in the retry loop so backoff delays can be checked instantly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def client_for(fs: FaultServer, **kw: object) -> tuple[LlamaCppClient, SleepRecorder]:
    sleep = SleepRecorder()
    return LlamaCppClient(fs.url, sleep=sleep, **kw), sleep  # type: ignore[arg-type]


async def test_happy_stream_yields_tokens_then_final() -> None:
    async with FaultServer() as fs:
        client, _ = client_for(fs)
        async with client:
            events = [e async for e in client.stream_completion("hi", n_predict=2)]
    assert [e.content for e in events if isinstance(e, TokenEvent)] == ["Hello", " world"]
    assert isinstance(events[-1], FinalEvent)
    assert events[-1].timings is not None and events[-1].timings.predicted_n == 2
    assert events[-1].ttft_ms is not None and events[-1].ttft_ms > 0
    assert fs.bodies[-1]["stream"] is True and fs.bodies[-1]["n_predict"] == 2


async def test_401_is_authentication_error_and_never_retried() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(json_error(401, "Invalid API Key", "authentication_error"))
        client, sleep = client_for(fs, api_key="wrong")
        async with client:
            with pytest.raises(AuthenticationError, match="Invalid API Key"):
                await collect(client.stream_completion("hi"))
    assert fs.hits["/completion"] == 1
    assert sleep.delays == []


async def test_context_overflow_keeps_token_counts_and_is_not_retried() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(
            json_error(
                400,
                "the request exceeds the available context size",
                "exceed_context_size_error",
                n_prompt_tokens=5000,
                n_ctx=4096,
            )
        )
        client, _ = client_for(fs)
        async with client:
            with pytest.raises(ContextOverflow) as info:
                await collect(client.stream_completion("hi"))
    assert (info.value.n_prompt_tokens, info.value.n_ctx) == (5000, 4096)
    assert "context size" in info.value.message
    assert fs.hits["/completion"] == 1


async def test_404_is_not_found_and_not_retried() -> None:
    async with FaultServer() as fs:
        client, _ = client_for(fs)
        async with client:
            with pytest.raises(NotFound):
                await client.models()
    assert fs.hits["/models"] == 1


async def test_503_loading_is_retried_twice_then_raised() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(json_error(503, "Loading model", "unavailable_error"))
        client, sleep = client_for(fs)
        async with client:
            with pytest.raises(ModelLoading, match="Loading model"):
                await collect(client.stream_completion("hi"))
    assert fs.hits["/completion"] == 3
    assert len(sleep.delays) == 2
    # Jittered exponential backoff: base 0.5 s x 2^attempt x [0.5, 1.5).
    assert 0.25 <= sleep.delays[0] <= 0.75 and 0.5 <= sleep.delays[1] <= 1.5


async def test_500_then_success_returns_the_stream() -> None:
    async with FaultServer() as fs:
        calls = 0

        async def flaky(request: web.Request) -> web.StreamResponse:
            nonlocal calls
            calls += 1
            if calls < 3:
                return json_error(500, "internal", "server_error")
            return await fs.stream(request, [token("ok"), final(1)])

        fs.completion = flaky
        client, sleep = client_for(fs)
        async with client:
            result = await collect(client.stream_completion("hi"))
    assert result.content == "ok"
    assert calls == 3 and len(sleep.delays) == 2


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("500", 120.0)])
async def test_429_honours_retry_after_up_to_120_s(header: str, expected: float) -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(json_error(429, "slow down", "rate_limit", headers={"Retry-After": header}))
        client, sleep = client_for(fs)
        async with client:
            with pytest.raises(RateLimited):
                await collect(client.stream_completion("hi"))
    assert sleep.delays == [expected, expected]


async def test_connection_refused_is_unreachable_after_retries() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = SleepRecorder()
    async with LlamaCppClient(f"http://127.0.0.1:{port}", sleep=sleep) as client:
        with pytest.raises(ServerUnreachable, match=f"127.0.0.1:{port}"):
            await client.props()
    assert len(sleep.delays) == 2


async def test_health_is_never_retried() -> None:
    async with FaultServer() as fs:
        fs.health = lambda r: _ret(json_error(503, "Loading model", "unavailable_error"))
        client, sleep = client_for(fs)
        async with client:
            with pytest.raises(ModelLoading):
                await client.health()
    assert fs.hits["/health"] == 1 and sleep.delays == []


@pytest.mark.parametrize(
    "error_chunk",
    [
        event({"error": {"code": 500, "message": "slot crashed", "type": "server_error"}}),
        b'error: {"code": 500, "message": "slot crashed", "type": "server_error"}\n\n',
    ],
    ids=["data-error", "older-error-line"],
)
async def test_error_inside_stream_after_tokens_is_raised_and_not_retried(error_chunk: bytes) -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("par"), token("tial"), error_chunk])
        client, sleep = client_for(fs)
        received: list[str] = []
        async with client:
            with pytest.raises(StreamError, match="slot crashed"):
                async for ev in client.stream_completion("hi"):
                    if isinstance(ev, TokenEvent):
                        received.append(ev.content)
    assert received == ["par", "tial"]
    assert fs.hits["/completion"] == 1 and sleep.delays == []


async def test_context_overflow_inside_stream_is_typed() -> None:
    overflow = {
        "error": {
            "code": 400,
            "message": "exceeds context",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 9000,
            "n_ctx": 4096,
        }
    }
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [event(overflow)])
        client, _ = client_for(fs)
        async with client:
            with pytest.raises(ContextOverflow) as info:
                await collect(client.stream_completion("hi"))
    assert info.value.n_prompt_tokens == 9000


async def test_malformed_json_is_protocol_error_after_keeping_earlier_tokens() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("kept"), b"data: {not json\n\n"])
        client, _ = client_for(fs)
        received: list[str] = []
        async with client:
            with pytest.raises(ProtocolError, match="malformed"):
                async for ev in client.stream_completion("hi"):
                    if isinstance(ev, TokenEvent):
                        received.append(ev.content)
    assert received == ["kept"]


async def test_stream_without_stop_is_cut_off() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("a"), token("b")])
        client, _ = client_for(fs)
        async with client:
            with pytest.raises(StreamCutOff):
                await collect(client.stream_completion("hi"))


async def test_unknown_fields_crlf_and_pings_are_tolerated() -> None:
    crlf = b': ping\r\n\r\ndata: {"content":"x","tokens":[5],"stop":false,"brand_new_field":{"a":1}}\r\n\r\n' + final(
        1
    ).replace(b"\n", b"\r\n")
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [crlf[:13], crlf[13:40], crlf[40:]])
        client, _ = client_for(fs)
        async with client:
            result = await collect(client.stream_completion("hi"))
    assert result.content == "x"
    assert result.final.stop_type == "eos"


async def test_final_event_with_two_mebibyte_prompt_echo() -> None:
    huge = "word " * (2 * 1024 * 1024 // 5 + 1)
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("a"), final(1, prompt=huge)])
        client, _ = client_for(fs)
        async with client:
            result = await collect(client.stream_completion("hi"))
    assert result.final.prompt == huge


async def test_stall_longer_than_read_timeout_is_read_timeout() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("a"), token("b"), final(2)], delay=1.5)
        client, _ = client_for(fs, read_timeout=0.5)
        async with client:
            with pytest.raises(ReadTimeout, match="read timeout"):
                await collect(client.stream_completion("hi"))


async def test_slow_stream_with_pings_outlives_read_timeout_many_times_over() -> None:
    # 16 chunks 0.2 s apart = 3.2 s in all, with a read timeout of 1 s and no total timeout
    # (1 s, not less: a loaded machine can stall the loop for a few hundred milliseconds).
    chunks = [b": ping\n\n" if i % 2 else token("t") for i in range(15)] + [final(8)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, chunks, delay=0.2)
        client, _ = client_for(fs, read_timeout=1.0)
        async with client:
            result = await collect(client.stream_completion("hi"))
    assert result.content == "t" * 8


async def test_closing_the_iterator_closes_the_connection() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(str(i)) for i in range(200)] + [final(200)], delay=0.01)
        client, _ = client_for(fs)
        async with client:
            stream = client.stream_completion("hi")
            async for ev in stream:
                if isinstance(ev, TokenEvent):
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            for _ in range(100):
                if fs.disconnects:
                    break
                await asyncio.sleep(0.02)
    assert fs.disconnects == 1


async def test_server_error_5xx_is_server_error() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(web.Response(status=502, text="bad gateway"))
        client, _ = client_for(fs, max_retries=0)
        async with client:
            with pytest.raises(ServerError, match="bad gateway"):
                await collect(client.stream_completion("hi"))


async def test_api_key_is_sent_as_bearer_and_hidden_from_repr() -> None:
    seen: list[str | None] = []

    async def props(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"default_generation_settings": {"n_ctx": 1}})

    async with FaultServer() as fs:
        fs.props = props
        client, _ = client_for(fs, api_key="s3cret")
        async with client:
            await client.props()
    assert seen == ["Bearer s3cret"]
    assert "s3cret" not in repr(client)


async def _ret(response: web.StreamResponse) -> web.StreamResponse:
    return response


async def test_count_tokens_refuses_tokens_that_are_not_a_list() -> None:
    async def tokenize(request: web.Request) -> web.Response:
        return web.json_response({"tokens": "12 34 56"})

    async with FaultServer() as fs:
        fs.routes["/tokenize"] = tokenize
        client, _ = client_for(fs)
        async with client:
            with pytest.raises(ProtocolError, match="expected a list of tokens, got the text"):
                await client.count_tokens("hello")
    assert fs.bodies[-1] == {"content": "hello", "with_pieces": False, "add_special": False}
