"""A scripted fake llama-server for faults a real one cannot produce on demand: malformed events,
errors mid-stream, stalls, chosen status codes. Real behaviour is tested against the real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def token(content: str, token_id: int = 1) -> bytes:
    return event({"index": 0, "content": content, "tokens": [token_id], "stop": False})


def final(predicted_n: int = 1, **extra: Any) -> bytes:
    timings = {
        "cache_n": 0,
        "prompt_n": 5,
        "prompt_ms": 1.0,
        "prompt_per_token_ms": 0.2,
        "prompt_per_second": 5000.0,
        "predicted_n": predicted_n,
        "predicted_ms": 2.0,
        "predicted_per_token_ms": 2.0 / max(predicted_n, 1),
        "predicted_per_second": predicted_n * 500.0,
    }
    return event(
        {
            "index": 0,
            "content": "",
            "tokens": [],
            "stop": True,
            "stop_type": "eos",
            "stopping_word": "",
            "truncated": False,
            "tokens_cached": 6,
            "tokens_evaluated": 5,
            "tokens_predicted": predicted_n,
            "timings": timings,
            **extra,
        }
    )


def json_error(
    status: int, message: str, etype: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {"error": {"code": status, "message": message, "type": etype, **extra}}
    return web.json_response(body, status=status, headers=headers)


class FaultServer:
    """`async with FaultServer() as fs:` then set `fs.completion` (and friends) to a handler.
    Every request is counted in `fs.hits[path]`; `fs.disconnects` counts streams the client
    closed before the end."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.disconnects = 0
        self.bodies: list[Any] = []
        self.completion: Handler = self._default_completion
        self.routes: dict[str, Handler] = {}  # any other path -> handler (e.g. "/slots/0")
        self.health: Handler = lambda r: _json({"status": "ok"})
        self.props: Handler = lambda r: _json(
            {
                "default_generation_settings": {"n_ctx": 4096, "params": {}},
                "total_slots": 1,
                "model_path": "/m/fake.gguf",
                "bos_token": "<s>",
                "eos_token": "</s>",
            }
        )
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FaultServer:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.hits[path] = self.hits.get(path, 0) + 1
        if request.can_read_body:
            try:
                self.bodies.append(await request.json())
            except ValueError:
                self.bodies.append(None)
        handler = {"/completion": self.completion, "/health": self.health, "/props": self.props, **self.routes}.get(
            path
        )
        if handler is None:
            return json_error(404, "File Not Found", "not_found_error")
        return await handler(request)

    async def _default_completion(self, request: web.Request) -> web.StreamResponse:
        return await self.stream(request, [token("Hello"), token(" world"), final(2)])

    async def stream(self, request: web.Request, chunks: list[bytes], delay: float = 0.0) -> web.StreamResponse:
        """Send raw chunks as a 200 SSE response, `delay` seconds apart."""
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            for chunk in chunks:
                if delay:
                    await asyncio.sleep(delay)
                await resp.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            raise
        return resp


async def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
