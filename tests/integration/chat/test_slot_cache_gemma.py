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
from tests.harness.samples import PROSE
from tests.harness.server import LlamaServer
from tests.harness.slot_turns import follow_up, turn, user_turn

# About 1,000 Gemma tokens of real English: well past the 512-token sliding window.
PROMPT = user_turn("Summarise this:\n" + PROSE, GEMMA_TURNS)


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


async def test_with_swa_full_a_restored_cache_is_the_never_evicted_one_bit_for_bit(
    fresh_llama_server: Callable[..., LlamaServer], gemma_model: Path, tmp_path: Path
) -> None:
    """Restored after a restart, the cache gives the never-evicted slot's cache_n and, token by
    token, its exact probabilities; a fresh re-processing does not (so "the same greedy answer as
    a fresh run" is not something any restore can give: the restore gives the live slot's).

    Why one thread (measured on build b1-0c1e570 with --swa-full, 2 threads, a ~1,050-token
    prompt): the restored slot's first answer token has bit-identical probabilities, but from
    the second token on they differ by up to 0.18 in log-probability, and at a near-tie the
    greedy answer flips (README text: ' the' -1.4086 vs ' `' -1.4175 at token 14). The saved data
    is exact (restore then save gives the same file; after the next turn both slots save
    byte-identical files with one thread). What differs is where the cache sits: a per-sequence
    save of a sliding-window layer keeps only the last n_swa (512) positions, so the restored
    cache fills cells 0..~530 where the live one used 0..1068, and the CPU flash attention splits
    a one-token decode's KV cells across threads by cell index (ggml ops.cpp, use_split_kv_path,
    n_kv >= 512), so the partial softmax sums are rounded differently. Prompt batches (2..63 new
    tokens) go through the unsplit kernel, which skips masked cells: identical. A full
    re-processing differs more: other batch splits change every cached value (first token off by
    0.02, greedy answer different from the 3rd token). With one thread there is one chunk, and
    the restore is indistinguishable from the slot that was never evicted."""
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    args = ["--slot-save-path", str(save_dir), *GEMMA_SERVER_ARGS, "--swa-full"]
    server = fresh_llama_server(gemma_model, extra_args=args, threads=1, timeout=120)
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
        never_evicted = await turn(client, None, 1, nxt, preferred_slot=0, n_predict=16, n_probs=3)
    server.restart()
    async with LlamaCppClient(server.url) as client:
        cache = cache_for(client)
        await cache.refresh()
        back = await turn(client, cache, 1, nxt, n_predict=16, n_probs=3)
        await client.erase_slot(0)
        fresh = await turn(client, None, 1, nxt, preferred_slot=0, n_predict=16, n_probs=3)
    assert never_evicted.cache_n > 900
    assert back.prepared.restored > 900
    assert back.cache_n == never_evicted.cache_n
    assert len(never_evicted.top_logprobs) == 16
    assert back.top_logprobs == never_evicted.top_logprobs  # every token, every candidate, exactly
    assert back.completion.content == never_evicted.completion.content
    assert back.report is not None and back.report.reused
    assert fresh.cache_n == 0
    assert fresh.top_logprobs[0] != never_evicted.top_logprobs[0]  # already the first token
