"""Another client on the same llama-server (a second terminal, a script): a long generation that
holds a slot until the block ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from llama_tui.client import LlamaCppClient


@contextlib.asynccontextmanager
async def another_client_generating(
    url: str, n_predict: int = 100_000, **params: Any
) -> AsyncIterator[asyncio.Task[None]]:
    """A long generation by another client until the block ends; `params` go with it (`id_slot`)."""

    async def generate() -> None:
        async with LlamaCppClient(url) as client:
            async for _ in client.stream_completion(
                "<|im_start|>user\ncount<|im_end|>\n", n_predict=n_predict, ignore_eos=True, **params
            ):
                pass

    task = asyncio.ensure_future(generate())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
