"""client_throughput: how many llama-server events per second LlamaCppClient.stream_completion
decodes, against a bare aiohttp reader in the same run.

The replay server (a separate process) sends a recording of the real tiny-model server, cycled to
N token events, as fast as it can, one HTTP chunk per event like llama-server. Both readers get the
same bytes; each is run ROUNDS times, interleaved (order alternating), and the median is reported.

- client: ``async for ev in LlamaCppClient(url).stream_completion(prompt, n_predict=N)``
- bare:   ``resp.content.iter_chunked(64 KiB)``, split on b"\\n\\n", ``json.loads`` of each ``data: `` payload

Targets (from the issue): client/bare >= 0.8 and client >= 50,000 events/s.
A cProfile run of the client path (PROFILE_N events) gives the hot spots.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import BenchResult, log, median, real_server
from .replay_server import ReplayServer, record_from_server, synthesise_recording

NAME = "client_throughput"
N_EVENTS = int(os.environ.get("BENCH_THROUGHPUT_EVENTS", "200000"))
PROFILE_N = int(os.environ.get("BENCH_PROFILE_EVENTS", "50000"))
ROUNDS = 3
RECORD_TOKENS = 1000


def get_recording(tmpdir: Path) -> tuple[Path, dict[str, Any]]:
    """Record a real stream from the real tiny-model server; synthesise one if that fails."""
    try:
        with real_server() as server:
            rec = record_from_server(server.url, n_predict=RECORD_TOKENS)
    except Exception as e:  # no llama-server here: use the documented format instead
        log(f"{NAME}: could not record from llama-server ({type(e).__name__}: {e}); synthesising events")
        rec = synthesise_recording(RECORD_TOKENS)
        rec["record_error"] = f"{type(e).__name__}: {e}"
    path = tmpdir / "recording.json"
    path.write_text(json.dumps(rec, ensure_ascii=False))
    info = {
        "source": rec["source"],
        "token_events": len(rec["tokens"]),
        "progress_events": len(rec["prefix"]),
        "record_error": rec.get("record_error"),
        "sample_event": rec["tokens"][0],
        "mean_event_bytes": round(
            sum(len(json.dumps(e, ensure_ascii=False, separators=(",", ":"))) + 8 for e in rec["tokens"])
            / len(rec["tokens"]),
            1,
        ),
    }
    return path, info


async def read_client(url: str, n: int) -> tuple[int, int]:
    from llama_tui.client import LlamaCppClient
    from llama_tui.client.types import FinalEvent, TokenEvent

    count = tokens = 0
    final_seen = False
    async with LlamaCppClient(url, max_retries=0) as client:
        async for ev in client.stream_completion("bench", n_predict=n):
            count += 1
            if type(ev) is TokenEvent:
                tokens += 1
            elif type(ev) is FinalEvent:
                final_seen = True
    if not final_seen:
        raise RuntimeError("client: no final event")
    return count, tokens


async def read_bare(url: str, n: int) -> tuple[int, int]:
    import aiohttp

    loads = json.loads
    count = tokens = 0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url + "/completion", json={"prompt": "bench", "n_predict": n, "stream": True}) as resp,
    ):
        resp.raise_for_status()
        rest = b""
        async for chunk in resp.content.iter_chunked(64 * 1024):
            parts = (rest + chunk).split(b"\n\n")
            rest = parts.pop()
            for part in parts:
                if part.startswith(b"data: "):
                    data = loads(part[6:])
                    count += 1
                    if not data.get("stop") and "prompt_progress" not in data:
                        tokens += 1
    return count, tokens


async def timed(reader: Any, url: str, n: int, server: ReplayServer) -> dict[str, Any]:
    s0 = server.cpu_seconds()
    c0 = time.process_time()
    t0 = time.perf_counter()
    count, tokens = await reader(url, n)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    server_cpu = server.cpu_seconds() - s0
    return {
        "events": count,
        "tokens": tokens,
        "seconds": wall,
        "events_per_s": count / wall,
        "client_cpu_s": cpu,
        "cpu_us_per_event": cpu / count * 1e6,
        "server_cpu_share": server_cpu / wall,  # near 1.0 would mean the replay server is the bottleneck
    }


def profile_client(url: str, n: int, top: int = 12) -> dict[str, Any]:
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(read_client(url, n))
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({func})",
                "ncalls": nc,
                "tottime_s": round(tt, 4),
                "cumtime_s": round(ct, 4),
                "share_of_total": round(tt / total, 3) if total else None,
                "us_per_event": round(tt / n * 1e6, 3),
            }
        )
    by_tottime = sorted(rows, key=lambda r: r["tottime_s"], reverse=True)[:top]
    by_cumtime = sorted(rows, key=lambda r: r["cumtime_s"], reverse=True)[: top * 2]
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    return {
        "events": n,
        "total_s": round(total, 3),
        "top_tottime": by_tottime,
        "top_cumtime": by_cumtime,
        "pstats": text.getvalue(),
    }


class _MemoryContent:
    def __init__(self, chunks: list[bytes]) -> None:
        self._it = iter(chunks)

    async def readany(self) -> bytes:
        return next(self._it, b"")


class _MemoryResponse:
    status = 200
    headers = {"Content-Type": "text/event-stream"}  # stream_completion checks for an HTML page

    def __init__(self, chunks: list[bytes]) -> None:
        self.content = _MemoryContent(chunks)

    def close(self) -> None:
        pass


def offline_breakdown(rec_path: Path, n: int) -> dict[str, float]:
    """Per-event CPU cost of each stage on the same bytes, without sockets or aiohttp (64 KiB chunks).

    ``client_pipeline`` runs the real stream_completion with its HTTP response replaced by an
    in-memory one (LlamaCppClient._open patched on the instance), so it is SSEDecoder + json.loads +
    event dispatch + TokenEvent objects + the async generator, and nothing else."""
    import timeit

    from llama_tui.client import LlamaCppClient
    from llama_tui.client.sse import SSEDecoder, SSEEvent
    from llama_tui.client.types import TokenEvent

    from .replay_server import Replay

    replay = Replay(json.loads(rec_path.read_text()))
    body = b"".join(replay.events(n))
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    count = len(replay.events(n))
    loads = json.loads
    out: dict[str, float] = {}

    def per_event(fn: Any, reps: int = 3) -> float:
        best = min(timeit.repeat(fn, number=1, repeat=reps))
        return best / count * 1e6

    def bare() -> None:
        rest = b""
        for c in chunks:
            parts = (rest + c).split(b"\n\n")
            rest = parts.pop()
            for part in parts:
                if part.startswith(b"data: "):
                    loads(part[6:])

    def split_only() -> None:
        rest = b""
        for c in chunks:
            parts = (rest + c).split(b"\n\n")
            rest = parts.pop()
            for part in parts:
                if part.startswith(b"data: "):
                    part[6:].decode()

    def decoder_only() -> None:
        d = SSEDecoder()
        for c in chunks:
            d.feed(c)

    def decoder_loads() -> None:
        d = SSEDecoder()
        for c in chunks:
            for ev in d.feed(c):
                loads(ev.data)

    def client_pipeline() -> None:
        client = LlamaCppClient("http://in-memory.invalid", max_retries=0)

        async def fake_open(method: str, path: str, *, json_body: Any = None) -> Any:
            return _MemoryResponse(chunks)

        client._open = fake_open  # type: ignore[method-assign]

        async def go() -> int:
            k = 0
            async for _ev in client.stream_completion("bench", n_predict=n):
                k += 1
            return k

        loop = asyncio.new_event_loop()
        try:
            got = loop.run_until_complete(go())
        finally:
            loop.close()
        if got != count:
            raise RuntimeError(f"in-memory client pipeline yielded {got} events, expected {count}")

    out["bare_split_loads_us"] = per_event(bare)
    out["split_decode_only_us"] = per_event(split_only)
    out["sse_decoder_only_us"] = per_event(decoder_only)
    out["sse_decoder_plus_loads_us"] = per_event(decoder_loads)
    out["client_pipeline_us"] = per_event(client_pipeline)
    k = 200_000
    out["SSEEvent_construct_us"] = min(timeit.repeat(lambda: SSEEvent("x", "message"), number=k, repeat=3)) / k * 1e6
    out["TokenEvent_construct_us"] = (
        min(timeit.repeat(lambda: TokenEvent("x", [1], None, {}), number=k, repeat=3)) / k * 1e6
    )
    out["tuple_construct_us"] = min(timeit.repeat(lambda: ("x", [1], None, {}), number=k, repeat=3)) / k * 1e6
    return {key: round(v, 3) for key, v in out.items()}


def _short(filename: str) -> str:
    for marker in ("site-packages/", "llama_tui/", "lib/python3"):
        i = filename.find(marker)
        if i >= 0:
            return filename[i:]
    return filename


def run() -> BenchResult:
    res = BenchResult()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        rec_path, rec_info = get_recording(Path(tmp))
        log(f"{NAME}: recording from {rec_info['source']}; replaying {N_EVENTS:,} token events")
        with ReplayServer(rec_path, prebuild=[N_EVENTS, PROFILE_N]) as server:
            url = server.url
            expected = rec_info["progress_events"] + N_EVENTS + 1
            runs: dict[str, list[dict[str, Any]]] = {"client": [], "bare": []}

            async def rounds() -> None:
                await read_bare(url, 2000)  # warm-up: imports, connection set-up, page cache
                await read_client(url, 2000)
                for r in range(ROUNDS):
                    order = ("client", "bare") if r % 2 == 0 else ("bare", "client")
                    for name in order:
                        reader = read_client if name == "client" else read_bare
                        result = await timed(reader, url, N_EVENTS, server)
                        runs[name].append(result)
                        log(f"{NAME}: round {r + 1} {name}: {result['events_per_s']:,.0f} events/s")

            asyncio.run(rounds())
            log(f"{NAME}: profiling the client path on {PROFILE_N:,} events")
            profile = profile_client(url, PROFILE_N)
        log(f"{NAME}: offline per-stage breakdown on {N_EVENTS:,} events")
        breakdown = offline_breakdown(rec_path, N_EVENTS)

    for name, rs in runs.items():
        for r in rs:
            if r["events"] != expected:
                raise RuntimeError(f"{name} decoded {r['events']} events, expected {expected}")
    client = median(r["events_per_s"] for r in runs["client"])
    bare = median(r["events_per_s"] for r in runs["bare"])
    client_cpu = median(r["cpu_us_per_event"] for r in runs["client"])
    bare_cpu = median(r["cpu_us_per_event"] for r in runs["bare"])
    res.add(NAME, "events/s, client vs bare aiohttp", client, "ev/s", baseline=bare, target=">= 0.8", on="ratio")
    res.add(NAME, "events/s, client (absolute)", client, "ev/s", target=">= 50000")
    res.add(NAME, "client CPU per event", client_cpu, "us", baseline=bare_cpu)
    res.add(
        NAME,
        "wall per stream (median)",
        median(r["seconds"] for r in runs["client"]),
        "s",
        baseline=median(r["seconds"] for r in runs["bare"]),
    )
    res.add(NAME, "events per stream", expected, note="2 progress + N tokens + final")
    res.add(
        NAME,
        "replay server CPU share",
        median(r["server_cpu_share"] for r in runs["client"]),
        baseline=median(r["server_cpu_share"] for r in runs["bare"]),
        note="server CPU s / stream wall s; well below 1 means the server is not the bottleneck",
    )
    res.add(
        NAME,
        "decode CPU per event, no I/O",
        breakdown["client_pipeline_us"],
        "us",
        baseline=breakdown["bare_split_loads_us"],
        note="client stream_completion on in-memory chunks vs bare split+loads on the same bytes",
    )
    res.details = {"recording": rec_info, "runs": runs, "profile": profile, "breakdown_us_per_event": breakdown}
    report = [
        f"{NAME}: cProfile of the client path, {PROFILE_N:,} events, top 5 by own time "
        f"(total {profile['total_s']} s under the profiler):"
    ]
    for row in profile["top_tottime"][:5]:
        report.append(
            f"  {row['share_of_total'] * 100:5.1f}%  {row['us_per_event']:7.3f} us/event  "
            f"{row['ncalls']:>8} calls  {row['function']}"
        )
    b = breakdown
    report.append(
        f"{NAME}: per-event CPU without I/O (us): bare split+loads {b['bare_split_loads_us']}, "
        f"of which split+decode {b['split_decode_only_us']}; SSEDecoder.feed {b['sse_decoder_only_us']}, "
        f"+loads {b['sse_decoder_plus_loads_us']}; whole client pipeline {b['client_pipeline_us']}; "
        f"construct SSEEvent {b['SSEEvent_construct_us']}, TokenEvent {b['TokenEvent_construct_us']}, "
        f"tuple {b['tuple_construct_us']}"
    )
    res.details["report"] = report
    return res
