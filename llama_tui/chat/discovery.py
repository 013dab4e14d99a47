"""Finding a llama-server when no URL is given: probe the usual loopback ports and the config's
named servers with GET /health, and use the first (in that order) that answers. No Textual.

A llama-server answers /health with 200 (ready) or 503 (loading its model); anything else (a
refused connection, another web server's 404, silence) is not one. The probes run at once, so the
answer comes as soon as the first candidate in order has answered: a server on 8080 costs one
loopback round trip, and a silent remote `[servers.NAME]` only delays the result when nothing
before it answered. Each probe is bounded by `timeout`.

`LLAMA_TUI_PROBE` (comma-separated URLs) replaces the loopback list: for a server on another port,
and for tests that must not depend on what listens on 8080 here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..client import LlamaCppClient, LlamaError, ModelLoading
from ..config import Config

# llama-server's default port, and the one newer llama.cpp builds document instead (9931).
DEFAULT_URLS = ("http://127.0.0.1:8080", "http://127.0.0.1:9931")
PROBE_ENV = "LLAMA_TUI_PROBE"
PROBE_TIMEOUT = 1.5  # seconds; loopback answers (or refuses) in about a millisecond


@dataclass(frozen=True)
class Candidate:
    url: str
    name: str | None = None  # the [servers.NAME] profile, if it comes from one
    api_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"“{self.name}” ({self.url})" if self.name else self.url


@dataclass(frozen=True)
class Found:
    candidate: Candidate
    loading: bool  # /health said 503: the server is there, its model is still loading

    @property
    def url(self) -> str:
        return self.candidate.url


def should_discover(config: Config, server_arg: str | None) -> bool:
    """Discovery runs only when nothing says where the server is: no --server, no server_url in
    the config file."""
    return not server_arg and not config.server_url_set


def candidates(config: Config, api_key: str | None = None) -> list[Candidate]:
    """The places to look, in order: the loopback defaults (or $LLAMA_TUI_PROBE), then the config's
    named servers. `api_key` (--api-key, $LLAMA_API_KEY, the config's) goes with the loopback ones."""
    env = os.environ.get(PROBE_ENV, "")
    urls = [u.strip().rstrip("/") for u in env.split(",") if u.strip()] if env.strip() else list(DEFAULT_URLS)
    out = [Candidate(url, None, api_key) for url in urls]
    seen = set(urls)
    for name, profile in config.servers.items():
        url = profile.url.rstrip("/")
        if url not in seen:
            seen.add(url)
            out.append(Candidate(url, name, profile.resolved_key()))
    return out


async def probe(url: str, *, timeout: float = PROBE_TIMEOUT) -> bool | None:
    """Is a llama-server at `url`? True: ready; False: loading its model (503); None: no."""
    client = LlamaCppClient(url, None, connect_timeout=timeout, read_timeout=timeout, max_retries=0)
    try:
        await asyncio.wait_for(client.health(), timeout)
        return True
    except ModelLoading:
        return False
    except (LlamaError, TimeoutError, OSError, ValueError):
        return None
    finally:
        await client.close()


async def find_server(found_in: Sequence[Candidate], *, timeout: float = PROBE_TIMEOUT) -> Found | None:
    """The first candidate, in order, with a llama-server behind it; None if none has."""
    tasks = [asyncio.ensure_future(probe(c.url, timeout=timeout)) for c in found_in]
    try:
        for candidate, task in zip(found_in, tasks, strict=True):
            ready = await task
            if ready is not None:
                return Found(candidate, loading=not ready)
        return None
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def nothing_found_message(looked_at: Sequence[Candidate]) -> str:
    where = ", ".join(c.url.removeprefix("http://") for c in looked_at)
    return f"no llama-server answers at {where}"
