"""Issue 14, items 4, 12 and 13 (client side): replies a real llama-server cannot produce, from
the fault server (or a raw socket), and what the client makes of them.

Each test: what is injected -> what the caller is told (typed event or error, in plain words) ->
what did not happen (memory kept, prompt sent elsewhere, a password shown).
"""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import web

from llama_tui.client import (
    FinalEvent,
    KeepAliveEvent,
    LlamaCppClient,
    ProtocolError,
    RateLimited,
    RedirectRefused,
    RetryEvent,
    ServerError,
    ServerUnreachable,
    StreamCutOff,
    TokenEvent,
    collect,
)
from tests.harness.fault_server import FaultServer, final, json_error, token
from tests.harness.raw_server import RawServer

# What a message shown to a person must never contain: Python's or aiohttp's own words.
PYTHON_WORDS = re.compile(r"Error\b|Exception|message=|payload|<[A-Za-z]+Error|Traceback|aiohttp")


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# -- item 4: one endless SSE line ----------------------------------------------------------------


async def test_an_endless_line_fails_with_a_clear_error_at_the_cap_and_keeps_earlier_tokens() -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(token("kept"))
        try:
            for _ in range(64):  # 16 MiB at most, then the server gives up by itself
                await resp.write(b"x" * (256 * 1024))
                sent += 256 * 1024
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async with FaultServer() as fs:
        fs.completion = endless
        async with LlamaCppClient(fs.url, max_event_bytes=1024 * 1024) as client:
            seen: list[str] = []
            with pytest.raises(ProtocolError) as info:
                async for ev in client.stream_completion("hi"):
                    if isinstance(ev, TokenEvent):
                        seen.append(ev.content)
    assert seen == ["kept"]
    assert "MiB without a line end" in info.value.message
    assert not PYTHON_WORDS.search(info.value.message)
    # It gave up near the cap, long before the 16 MiB the server was willing to send.
    assert sent < 8 * 1024 * 1024


async def test_a_real_size_final_event_still_passes_the_default_cap() -> None:
    echo = "p" * (3 * 1024 * 1024)  # a 3 MiB prompt echo: bigger than any seen in practice
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("ok"), final(1, prompt=echo)])
        async with LlamaCppClient(fs.url) as client:
            done = await collect(client.stream_completion("hi"))
    assert done.content == "ok" and done.final.prompt == echo


# -- item 12: failures that should speak ---------------------------------------------------------


async def test_429_with_a_long_retry_after_is_reported_before_the_wait() -> None:
    calls = 0

    async def limited(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return json_error(429, "slow down", "rate_limit_error", headers={"Retry-After": "240"})
        return await fs.stream(request, [token("hi"), final(1)])

    async with FaultServer() as fs:
        fs.completion = limited
        sleep = SleepRecorder()
        told: list[RetryEvent] = []
        async with LlamaCppClient(fs.url, sleep=sleep, on_retry=told.append) as client:
            events = [ev async for ev in client.stream_completion("hi")]
    retry = events[0]
    assert isinstance(retry, RetryEvent) and told == [retry]
    assert isinstance(retry.error, RateLimited)
    assert retry.delay_s == 120.0 and sleep.delays == [120.0]  # capped at 120 s, and said before waiting
    assert retry.describe() == "rate limited (429): retrying in 120 s (retry 1 of 2)"
    assert isinstance(events[-1], FinalEvent)


async def test_a_server_sending_only_pings_is_surfaced_with_the_time_waited() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [b": ping\n\n"] * 8, delay=0.05)
        async with LlamaCppClient(fs.url) as client:
            alive: list[KeepAliveEvent] = []
            with pytest.raises(StreamCutOff):
                async for ev in client.stream_completion("hi"):
                    assert isinstance(ev, KeepAliveEvent)
                    alive.append(ev)
    assert len(alive) >= 4
    assert [a.pings for a in alive] == sorted({a.pings for a in alive}) and alive[-1].pings == 8
    assert alive[-1].elapsed_s > alive[0].elapsed_s > 0


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in &middot; Corp Proxy</title></head>"
    "<body><h1>Please sign in</h1>" + "<p>filler</p>" * 2000 + "</body></html>"
)


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/event-stream"])
async def test_an_html_page_instead_of_a_stream_is_named_as_one(content_type: str) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=HTML_PAGE.encode(), headers={"Content-Type": content_type})

    async with FaultServer() as fs:
        fs.completion = page
        async with LlamaCppClient(fs.url) as client:
            with pytest.raises(ProtocolError) as info:
                await collect(client.stream_completion("hi"))
    message = info.value.message
    assert 'an HTML page ("Sign in · Corp Proxy")' in message
    assert "closed the stream" not in message and len(message) < 300


async def test_an_html_page_instead_of_props_is_named_as_one() -> None:
    async with FaultServer() as fs:
        fs.props = lambda r: _ret(web.Response(text=HTML_PAGE, content_type="text/html"))
        async with LlamaCppClient(fs.url) as client:
            with pytest.raises(ProtocolError) as info:
                await client.props()
    assert 'an HTML page ("Sign in · Corp Proxy")' in info.value.message


@pytest.mark.parametrize(
    "reply",
    [
        # A chunked body cut in the middle of a chunk (aiohttp: "TransferEncodingError: 400, ...").
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'40\r\ndata: {"content":"par',
        # Fewer bytes than Content-Length says ("Response payload is not completed").
        b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 500\r\n\r\ndata: {"content":"par',
        # Not HTTP at all.
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ],
    ids=["chunk-cut", "short-body", "not-http"],
)
async def test_broken_transfers_are_told_in_plain_words(reply: bytes) -> None:
    async with RawServer(reply) as rs, LlamaCppClient(rs.url, max_retries=0) as client:
        with pytest.raises((StreamCutOff, ServerUnreachable, ProtocolError)) as info:
            await collect(client.stream_completion("hi"))
    message = info.value.message
    assert not PYTHON_WORDS.search(message), message
    assert message and len(message) < 300


@pytest.mark.parametrize("as_json", [True, False], ids=["json-error", "text-error"])
async def test_a_200_kb_server_error_is_capped_to_a_readable_length(as_json: bool) -> None:
    huge = "the server is unhappy " * 10_000  # 220 KB

    async def failing(request: web.Request) -> web.StreamResponse:
        if as_json:
            return json_error(500, huge, "server_error")
        return web.Response(status=500, text=huge)

    async with FaultServer() as fs:
        fs.completion = failing
        async with LlamaCppClient(fs.url, sleep=SleepRecorder()) as client:
            with pytest.raises(ServerError) as info:
                await collect(client.stream_completion("hi"))
    message = info.value.message
    assert message.startswith("the server is unhappy")
    assert len(message) < 400 and "more characters)" in message


# -- item 13: credentials and redirects ----------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308, 302])
async def test_a_redirect_to_another_host_is_refused_and_the_prompt_never_goes_there(status: int) -> None:
    async with FaultServer() as elsewhere, FaultServer() as fs:
        fs.completion = lambda r: _ret(
            web.Response(status=status, headers={"Location": elsewhere.url + "/completion?token=abc"})
        )
        async with LlamaCppClient(fs.url, api_key="k-secret") as client:
            with pytest.raises(RedirectRefused) as info:
                await collect(client.stream_completion("the secret prompt"))
        assert elsewhere.hits == {} and elsewhere.bodies == []
        assert fs.hits["/completion"] == 1  # not retried
    message = info.value.message
    assert "another server" in message and "does not follow redirects" in message
    assert "abc" not in message and "k-secret" not in message


async def test_a_password_in_the_server_url_never_shows_in_errors_or_repr() -> None:
    async with FaultServer() as fs:
        port = fs.url.rsplit(":", 1)[1]
        url = f"http://alice:hunter2@127.0.0.1:{port}"
        fs.completion = lambda r: _ret(web.Response(status=302, headers={"Location": "/elsewhere"}))
        async with LlamaCppClient(url, sleep=SleepRecorder()) as client:
            assert "hunter2" not in repr(client) and "hunter2" not in client.display_url
            with pytest.raises(RedirectRefused) as redirected:
                await collect(client.stream_completion("hi"))
    async with LlamaCppClient("http://alice:hunter2@127.0.0.1:9", sleep=SleepRecorder()) as client:
        with pytest.raises(ServerUnreachable) as unreachable:
            await client.props()
    for error in (redirected.value, unreachable.value):
        assert "hunter2" not in error.message and "hunter2" not in str(error)
        assert "***@127.0.0.1" in error.message


async def _ret(response: web.StreamResponse) -> web.StreamResponse:
    return response
