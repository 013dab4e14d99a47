"""SlotCache with the real Gemma 3 270M model (sliding-window attention, n_swa 512): what a
restored cache is worth depends on --swa-full, and the service says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llama_tui.chat.slot_cache import EventKind, SlotCache, SlotCacheEvent
from llama_tui.chat.slot_support import Support
from llama_tui.client import LlamaCppClient
from tests.harness.gemma import GEMMA_SERVER_ARGS, GEMMA_TURNS, gemma_model_path
from tests.harness.server import REPO_ROOT, LlamaServer
from tests.harness.slot_turns import follow_up, turn, user_turn

# About 1,000 Gemma tokens of real English: well past the 512-token sliding window.
TEXT = (REPO_ROOT / "README.md").read_text(encoding="utf-8")[:3600]
PROMPT = user_turn("Summarise this:\n" + TEXT, GEMMA_TURNS)


@pytest.fixture(scope="module")
def gemma_model() -> Path:
    return gemma_model_path()


def start(factory: Callable[..., LlamaServer], model: Path, save_dir: Path, *extra: str) -> LlamaServer:
    args = ["--slot-save-path", str(save_dir), *GEMMA_SERVER_ARGS, *extra]
    return factory(model, extra_args=args, threads=2, timeout=120)


async def test_without_swa_full_a_managed_server_does_not_save(
    fresh_llama_server: Callable[..., LlamaServer], gemma_model: Path, tmp_path: Path
) -> None:
    server = start(fresh_llama_server, gemma_model, tmp_path)
    events: list[SlotCacheEvent] = []
    async with LlamaCppClient(server.url) as client:
        cache = SlotCache(
            client, root=tmp_path / "rec", max_bytes=10**9, files_dir=tmp_path, model_file=gemma_model,
            swa_full=False, managed=True, on_event=events.append,
        )  # fmt: skip
        support = await cache.refresh()
        await turn(client, cache, 1, PROMPT)
        saved = await cache.save_all()
    assert support.support is Support.NOT_REUSED
    assert "sliding-window" in support.summary and "--swa-full" in support.hint
    assert saved == 0 and events == [] and list(tmp_path.glob("*.kv")) == []


async def test_an_external_server_learns_that_restores_are_not_reused(
    fresh_llama_server: Callable[..., LlamaServer], gemma_model: Path, tmp_path: Path
) -> None:
    """Flags unknown: saved, restored, and the server's cache_n 0 shows it was not reused."""
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    server = start(fresh_llama_server, gemma_model, save_dir)
    events: list[SlotCacheEvent] = []

    def cache_for(client: LlamaCppClient) -> SlotCache:
        return SlotCache(client, root=tmp_path / "rec", max_bytes=10**9, on_event=events.append)

    async with LlamaCppClient(server.url) as client:
        cache = cache_for(client)
        assert (await cache.refresh()).support is Support.UNVERIFIED
        first = await turn(client, cache, 1, PROMPT)
        assert await cache.save_all() == 1
    server.restart()
    async with LlamaCppClient(server.url) as client:
        cache = cache_for(client)
        await cache.refresh()
        back = await turn(client, cache, 1, follow_up(PROMPT, first.completion.content, "Shorter.", GEMMA_TURNS))
    assert back.prepared.restored > 900  # the restore itself works...
    assert back.cache_n == 0  # ...but llama-server re-processed every token
    assert back.report is not None and not back.report.reused
    assert cache.support.support is Support.NOT_REUSED and "--swa-full" in cache.support.hint
    assert [e.kind for e in events if e.kind is EventKind.NOT_REUSED] == [EventKind.NOT_REUSED]


async def test_with_swa_full_a_restore_is_reused_like_a_llama_models(
    fresh_llama_server: Callable[..., LlamaServer], gemma_model: Path, tmp_path: Path
) -> None:
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    server = start(fresh_llama_server, gemma_model, save_dir, "--swa-full")
    events: list[SlotCacheEvent] = []

    def cache_for(client: LlamaCppClient) -> SlotCache:
        return SlotCache(
            client, root=tmp_path / "rec", max_bytes=10**9, files_dir=save_dir, model_file=gemma_model,
            swa_full=True, managed=True, on_event=events.append,
        )  # fmt: skip

    async with LlamaCppClient(server.url) as client:
        cache = cache_for(client)
        assert (await cache.refresh()).support is Support.REUSED
        first = await turn(client, cache, 1, PROMPT)
        assert await cache.save_all() == 1
        nxt = follow_up(PROMPT, first.completion.content, "Shorter.", GEMMA_TURNS)
        never_evicted = await turn(client, None, 1, nxt, preferred_slot=0, n_predict=16)
    server.restart()
    async with LlamaCppClient(server.url) as client:
        cache = cache_for(client)
        await cache.refresh()
        back = await turn(client, cache, 1, nxt, n_predict=16)
    assert never_evicted.cache_n > 900
    assert back.prepared.restored > 900
    assert back.cache_n == never_evicted.cache_n
    assert back.completion.content == never_evicted.completion.content
    assert back.report is not None and back.report.reused
