"""A fake llama-server that replays a recorded /completion SSE stream, at full speed or at a fixed
rate of tokens per second. For benchmarks of the client and the TUI: the real tiny model generates
a few thousand tokens/s at most, which is too slow (and too noisy) to find the client's limit.

The recording comes from the real llama-server on the tiny test model (``record_from_server``) or,
when no server is available, is synthesised in exactly the format llama-server sends
(``synthesise_recording``, see /work/shared/LLAMA-SERVER-NOTES.md). A recording holds the prompt
progress events, the token events and the final event (as parsed JSON), plus /props.

Wire format: like llama-server (cpp-httplib), every SSE event is its own HTTP/1.1 chunk
(``Transfer-Encoding: chunked``), compact JSON, non-ASCII as raw UTF-8. The body for a given number of
events is built once and cached, so at full speed the server only copies bytes to the socket.

Run it as a separate process (so it does not share the client's CPU/GIL):

    python -m bench.replay_server --recording REC.json [--port 0] [--rate 0] [--events 1000]

It prints ``READY <url>`` on stdout once listening. Per request, the JSON body may override:
``n_predict`` (token events to send, default ``--events``) and ``replay_rate`` (tokens/s, 0 = as fast
as possible, default ``--rate``). Endpoints: POST /completion (stream true or false), GET /health,
GET /props, GET /slots, POST /apply-template (ChatML), anything else 404 in llama-server's error format.
``ReplayServer`` (below) starts and stops it from Python.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

# -- recordings -------------------------------------------------------------------------------------------


def encode_event(payload: dict[str, Any]) -> bytes:
    """One SSE event exactly as llama-server writes it (nlohmann::json dump(): compact, UTF-8)."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
    return events


def split_recording(events: list[dict[str, Any]], props: dict[str, Any], source: str) -> dict[str, Any]:
    prefix = [e for e in events if "prompt_progress" in e and not e.get("content")]
    tokens = [e for e in events if not e.get("stop") and e not in prefix]
    finals = [e for e in events if e.get("stop")]
    if not tokens or len(finals) != 1:
        raise ValueError(f"recording has {len(tokens)} token events and {len(finals)} final events")
    return {"source": source, "prefix": prefix, "tokens": tokens, "final": finals[0], "props": props}


def record_from_server(url: str, n_predict: int = 1000, seed: int = 42, timeout: float = 60) -> dict[str, Any]:
    """Stream one real completion (ignore_eos, return_progress) from llama-server at ``url``."""
    prompt = "<|im_start|>user\nWrite a long story about a server.<|im_end|>\n<|im_start|>assistant\n"
    body = {
        "prompt": prompt,
        "n_predict": n_predict,
        "ignore_eos": True,
        "seed": seed,
        "stream": True,
        "return_progress": True,
        "cache_prompt": False,
    }
    req = urllib.request.Request(
        url + "/completion", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    with urllib.request.urlopen(url + "/props", timeout=timeout) as resp:
        props = json.loads(resp.read())
    rec = split_recording(parse_sse(raw), props, f"llama-server {props.get('build_info', '?')} tiny model")
    rec["raw_bytes"] = len(raw)
    return rec


def synthesise_recording(n_tokens: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Events in exactly the format of llama-server b1-0c1e570 (see LLAMA-SERVER-NOTES.md), with
    random word pieces, some control/non-ASCII characters and U+FFFD like the tiny model emits."""
    rng = random.Random(seed)
    pieces = [" the", " server", " chat", " str", " cou", "t", " imp", "\u0010", "\ufffd", " é", "##", " 1.", "\n"]
    n_prompt = 23
    prefix = [
        {
            "index": 0, "content": "", "tokens": [0], "stop": False, "id_slot": -1, "tokens_predicted": 0,
            "tokens_evaluated": n_prompt,
            "prompt_progress": {"total": n_prompt, "cache": 0, "processed": p, "time_ms": 0},
        }
        for p in (0, n_prompt)
    ]  # fmt: skip
    tokens = [
        {
            "index": 0, "content": rng.choice(pieces), "tokens": [rng.randrange(3, 900)], "stop": False,
            "id_slot": -1, "tokens_predicted": i + 1, "tokens_evaluated": n_prompt,
        }
        for i in range(n_tokens)
    ]  # fmt: skip
    final = {
        "index": 0, "content": "", "tokens": [], "id_slot": 0, "stop": True, "model": "/models/tiny.gguf",
        "tokens_predicted": n_tokens, "tokens_evaluated": n_prompt,
        "generation_settings": {"n_predict": n_tokens, "temperature": 0.8, "top_k": 40, "ignore_eos": True},
        "prompt": "<s><|im_start|> user\nhi<|im_end|>\n<|im_start|> assistant\n", "has_new_line": False,
        "truncated": False, "stop_type": "limit", "stopping_word": "", "tokens_cached": n_prompt + n_tokens,
        "timings": {
            "cache_n": 0, "prompt_n": n_prompt, "prompt_ms": 2.318, "prompt_per_token_ms": 0.1,
            "prompt_per_second": 9922.3, "predicted_n": n_tokens, "predicted_ms": n_tokens * 0.165,
            "predicted_per_token_ms": 0.165, "predicted_per_second": 6060.6,
        },
    }  # fmt: skip
    props = {
        "default_generation_settings": {"n_ctx": 4096, "params": {"temperature": 0.8, "top_k": 40, "n_predict": -1}},
        "total_slots": 1, "model_path": "/models/tiny.gguf", "model_alias": "", "chat_template": "",
        "bos_token": "<s>", "eos_token": "</s>", "build_info": "replay", "is_sleeping": False, "modalities": {},
    }  # fmt: skip
    return split_recording([*prefix, *tokens, final], props, "synthesised")


# -- building bodies -----------------------------------------------------------------------------------


def frame(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


class Replay:
    def __init__(self, recording: dict[str, Any]) -> None:
        self.rec = recording
        self._bodies: dict[int, list[bytes]] = {}
        self._joined: dict[int, bytes] = {}

    def events(self, n: int) -> list[bytes]:
        """The encoded events of a stream with ``n`` token events (recorded tokens, cycled)."""
        cached = self._bodies.get(n)
        if cached is not None:
            return cached
        toks = self.rec["tokens"]
        out = [encode_event(e) for e in self.rec["prefix"]]
        encoded = [encode_event(e) for e in toks]
        if n <= len(toks):
            out += encoded[:n]
        else:
            # Keep tokens_predicted counting up like the real server: re-encode past the first cycle.
            out += encoded
            for i in range(len(toks), n):
                e = dict(toks[i % len(toks)])
                e["tokens_predicted"] = i + 1
                out.append(encode_event(e))
        final = dict(self.rec["final"])
        final["tokens_predicted"] = n
        if isinstance(final.get("timings"), dict):
            final["timings"] = {**final["timings"], "predicted_n": n}
        out.append(encode_event(final))
        self._bodies[n] = out
        return out

    def framed(self, n: int) -> bytes:
        """The whole chunked body for ``n`` token events, terminating 0-chunk included."""
        body = self._joined.get(n)
        if body is None:
            body = b"".join(frame(e) for e in self.events(n)) + b"0\r\n\r\n"
            self._joined[n] = body
        return body

    def content(self, n: int) -> str:
        toks = self.rec["tokens"]
        return "".join(toks[i % len(toks)].get("content", "") for i in range(n))


# -- the aiohttp app ------------------------------------------------------------------------------------


def make_app(replay: Replay, *, default_events: int, default_rate: float) -> Any:
    from aiohttp import web

    # last_event_sent: time.monotonic() (CLOCK_MONOTONIC, the same clock in every process on Linux) just
    # after the last event of the latest stream went to the socket, so a client can time its own lag.
    stats: dict[str, Any] = {"streams": 0, "disconnects": 0, "last_event_sent": None}

    def error(status: int, message: str, etype: str) -> web.Response:
        return web.json_response({"error": {"code": status, "message": message, "type": etype}}, status=status)

    async def completion(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid JSON", "invalid_request_error")
        n = body.get("n_predict")
        n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else default_events
        rate = body.get("replay_rate", default_rate)
        rate = float(rate) if isinstance(rate, (int, float)) else default_rate
        if not body.get("stream"):
            final = dict(replay.rec["final"], content=replay.content(n), tokens_predicted=n)
            return web.json_response(final)
        stats["streams"] += 1
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        writer = getattr(resp, "_payload_writer", None)
        # Pre-framed bytes: write them raw (one HTTP chunk per event, as llama-server does).
        raw = writer is not None and getattr(writer, "chunked", None) is True
        try:
            if raw:
                writer.chunked = False  # type: ignore[union-attr]
            if rate <= 0:
                if raw:
                    body_bytes = replay.framed(n)
                    step = 256 * 1024
                    view = memoryview(body_bytes)
                    for i in range(0, len(body_bytes), step):
                        await resp.write(view[i : i + step])
                else:
                    for ev in replay.events(n):
                        await resp.write(ev)
            else:
                events = replay.events(n)
                prefix = len(replay.rec["prefix"])
                t0 = time.perf_counter()
                i = 0
                while i < len(events):
                    # Progress events go out at once, token k at t0 + k/rate, the final event at t0 + n/rate.
                    wait = t0 + max(0, i - prefix) / rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    # Everything due by now goes in one write (sleep granularity is ~1 ms).
                    j = max(i + 1, min(len(events), prefix + int((time.perf_counter() - t0) * rate) + 1))
                    batch = events[i:j]
                    await resp.write(b"".join(frame(e) for e in batch) if raw else b"".join(batch))
                    i = j
                stats["last_event_sent"] = time.monotonic()
                if raw:
                    await resp.write(b"0\r\n\r\n")
            if rate <= 0:
                stats["last_event_sent"] = time.monotonic()
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            stats["disconnects"] += 1
            raise
        return resp

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def props(request: web.Request) -> web.Response:
        return web.json_response(replay.rec["props"])

    async def slots(request: web.Request) -> web.Response:
        n_ctx = replay.rec["props"].get("default_generation_settings", {}).get("n_ctx", 4096)
        return web.json_response([{"id": 0, "n_ctx": n_ctx, "is_processing": False}])

    async def apply_template(request: web.Request) -> web.Response:
        body = await request.json()
        prompt = "".join(
            f"<|im_start|>{m.get('role')}\n{m.get('content')}<|im_end|>\n" for m in body.get("messages", [])
        )
        return web.json_response({"prompt": prompt + "<|im_start|>assistant\n"})

    async def stats_handler(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def fallback(request: web.Request) -> web.Response:
        return error(404, "File Not Found", "not_found_error")

    app = web.Application()
    app.router.add_post("/completion", completion)
    app.router.add_post("/completions", completion)
    app.router.add_get("/health", health)
    app.router.add_get("/props", props)
    app.router.add_get("/slots", slots)
    app.router.add_post("/apply-template", apply_template)
    app.router.add_get("/replay-stats", stats_handler)
    app.router.add_route("*", "/{tail:.*}", fallback)
    return app


async def serve(replay: Replay, host: str, port: int, default_events: int, default_rate: float) -> None:
    from aiohttp import web

    runner = web.AppRunner(make_app(replay, default_events=default_events, default_rate=default_rate),
                           access_log=None)  # fmt: skip
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    addr = runner.addresses[0]
    print(f"READY http://{addr[0]}:{addr[1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--recording", type=Path, help="recording JSON (default: synthesised)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    p.add_argument("--rate", type=float, default=0.0, help="tokens/s; 0 = as fast as possible")
    p.add_argument("--events", type=int, default=1000, help="token events per stream when n_predict is not given")
    p.add_argument("--prebuild", type=int, action="append", default=[], help="build the body for N events now")
    args = p.parse_args(argv)
    rec = json.loads(args.recording.read_text()) if args.recording else synthesise_recording()
    replay = Replay(rec)
    for n in args.prebuild:
        replay.framed(n)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(replay, args.host, args.port, args.events, args.rate))
    return 0


# -- controlling it from Python -----------------------------------------------------------------------------


class ReplayServer:
    """``with ReplayServer(recording_path, prebuild=[200_000]) as rs: rs.url``: a replay server in a
    child process (same interpreter), stopped on exit."""

    def __init__(
        self,
        recording: Path | None = None,
        *,
        rate: float = 0.0,
        events: int = 1000,
        prebuild: list[int] | None = None,
        ready_timeout: float = 120,
    ) -> None:
        self.recording = recording
        self.rate = rate
        self.events = events
        self.prebuild = prebuild or []
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> ReplayServer:
        cmd = [sys.executable, "-m", "bench.replay_server", "--rate", str(self.rate), "--events", str(self.events)]
        if self.recording is not None:
            cmd += ["--recording", str(self.recording)]
        for n in self.prebuild:
            cmd += ["--prebuild", str(n)]
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        line = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replay server exited with {self.proc.returncode} before READY")
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith(b"READY "):
                    self.url = line.split()[1].decode()
                    return self
        self.stop()
        raise RuntimeError(f"replay server not ready after {self.ready_timeout}s (last line {line!r})")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        from .common import proc_cpu_seconds

        return proc_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
