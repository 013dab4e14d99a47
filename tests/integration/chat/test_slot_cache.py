"""SlotCache against the real llama-server (tiny llama-architecture models): save, restart,
restore; files named for session and model, bounded, deleted with the session; refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llama_tui.chat.connection import ServerConnection
from llama_tui.chat.slot_cache import EventKind, SlotCache, SlotCacheEvent
from llama_tui.chat.slot_cache_files import slot_filename
from llama_tui.chat.slot_support import Support
from llama_tui.client import LlamaCppClient, NotSupported, SlotFileRefused, collect
from tests.harness.server import LlamaServer
from tests.harness.slot_turns import filler, follow_up, turn, user_turn
from tests.harness.tiny_model import make_tiny_model


@pytest.fixture
def save_dir(tmp_path: Path) -> Path:
    path = tmp_path / "slot-files"
    path.mkdir()
    return path


@pytest.fixture
def events() -> list[SlotCacheEvent]:
    return []


def make_cache(
    client: LlamaCppClient,
    tmp_path: Path,
    events: list[SlotCacheEvent],
    *,
    files_dir: Path | None,
    model: Path | None = None,
    max_bytes: int = 10**9,
) -> SlotCache:
    return SlotCache(
        client,
        root=tmp_path / "records",
        max_bytes=max_bytes,
        files_dir=files_dir,
        model_file=model,
        swa_full=False if model is not None else None,
        on_event=events.append,
    )


def kinds(events: list[SlotCacheEvent]) -> list[EventKind]:
    return [e.kind for e in events]


async def test_restore_after_restart_matches_a_never_evicted_slot_and_a_fresh_run(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    prompt = user_turn(filler(900))
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        assert (await cache.refresh()).support is Support.REUSED
        first = await turn(client, cache, 7, prompt)
        assert await cache.save_all() == 1
        saved = [e for e in events if e.kind is EventKind.SAVED]
        assert len(saved) == 1 and saved[0].n_tokens > 900 and saved[0].session_id == 7
        files = list(save_dir.iterdir())
        assert [f.name for f in files] == [slot_filename(7, cache.identity.key)]  # type: ignore[union-attr]
        assert files[0].stat().st_size == saved[0].n_bytes
        nxt = follow_up(prompt, first.completion.content, "and now the rest")
        never_evicted = await turn(client, None, 7, nxt, preferred_slot=0, n_predict=24)
    assert never_evicted.cache_n > 900

    server.restart()
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        restored = await turn(client, cache, 7, nxt, n_predict=24)
    assert restored.prepared.restored == saved[0].n_tokens
    assert restored.cache_n == never_evicted.cache_n
    assert restored.completion.content == never_evicted.completion.content
    assert restored.report is not None and restored.report.reused
    assert restored.report.footer == f"cache restored: {restored.cache_n:,} prompt tokens not re-processed"
    assert EventKind.RESTORED in kinds(events) and EventKind.REUSED in kinds(events)

    server.restart()
    async with LlamaCppClient(server.url) as client:  # no cache: the prompt is processed again
        fresh = await turn(client, None, 7, nxt, preferred_slot=0, n_predict=24)
    assert fresh.cache_n == 0
    assert fresh.completion.content == restored.completion.content


async def test_a_session_still_in_its_slot_is_not_restored(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)], parallel=2, ctx_size=8192)
    prompt = user_turn(filler(600))
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        first = await turn(client, cache, 1, prompt, preferred_slot=1)
        assert await cache.save_all() == 1
        assert await cache.save_all() == 0  # the file already holds it
        again = await turn(client, cache, 1, follow_up(prompt, first.completion.content, "more"), preferred_slot=0)
    # It went back to slot 1, where its prompt still is, instead of restoring into slot 0.
    assert again.prepared.slot == 1 and again.prepared.restored == 0
    assert again.cache_n > 600
    assert EventKind.RESTORED not in kinds(events)


async def test_switching_sessions_on_one_slot_saves_and_restores_each(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    a_prompt, b_prompt = user_turn(filler(700)), user_turn(filler(800, offset=3))
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        a1 = await turn(client, cache, 1, a_prompt)
        cache.leave(1, next_slot=0)  # the next session uses the same slot: A is at risk
        await cache.wait_idle()
        assert [(e.kind, e.session_id) for e in events] == [(EventKind.SAVED, 1)]
        b1 = await turn(client, cache, 2, b_prompt)
        assert b1.cache_n < 50 and b1.prepared.restored == 0  # B was never saved: processed as usual
        # Back to A without leave(): B is saved on the way out of the slot, A restored into it.
        a2 = await turn(client, cache, 1, follow_up(a_prompt, a1.completion.content, "go on"))
        assert (EventKind.SAVED, 2) in [(e.kind, e.session_id) for e in events]
        assert a2.prepared.restored > 700 and a2.cache_n > 700
        b2 = await turn(client, cache, 2, follow_up(b_prompt, b1.completion.content, "go on"))
        assert b2.prepared.restored > 800 and b2.cache_n > 800
        rows = await cache.saved_caches()
    assert sorted(r.session_id for r in rows) == [1, 2]
    assert all(r.this_model and r.n_bytes > 0 for r in rows)


async def test_disk_use_stays_under_the_cap_least_recently_used_first(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    async with LlamaCppClient(server.url) as client:
        # Room for two files of ~700 tokens (about 190 kB each on this model), not three.
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model, max_bytes=450_000)
        await cache.refresh()
        for session in (1, 2, 3):
            await turn(client, cache, session, user_turn(filler(700, offset=session)))
            assert await cache.save_all() == 1
        rows = await cache.saved_caches()
    assert sorted(r.session_id for r in rows) == [2, 3]
    assert [(e.kind, e.session_id) for e in events if e.kind is EventKind.REMOVED] == [(EventKind.REMOVED, 1)]
    assert sum(f.stat().st_size for f in save_dir.iterdir()) <= 450_000
    assert len(list(save_dir.iterdir())) == 2


async def test_deleting_a_session_deletes_its_files(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        for session in (1, 2):
            await turn(client, cache, session, user_turn(filler(500, offset=session)))
            await cache.save_all()
        assert len(list(save_dir.iterdir())) == 2
        assert await cache.forget_session(1) == 1
        rows = await cache.saved_caches()
        # Nothing left to restore for session 1: its next turn is processed as if new.
        again = await turn(client, cache, 1, user_turn(filler(500, offset=1)) + "x")
    assert [r.session_id for r in rows] == [2]
    assert [f.name for f in save_dir.iterdir()] == [slot_filename(2, cache.identity.key)]  # type: ignore[union-attr]
    assert again.prepared.restored == 0


async def test_deleting_a_session_blanks_its_file_on_a_remote_server(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    """A server llama-tui cannot reach the disk of: the file is overwritten with an empty save
    right before the next restore (whose slot is replaced anyway)."""
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    a_prompt = user_turn(filler(600))
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=None)  # files only on the server's side
        # The model file is on this machine, so its traits are read: a llama model, fully reused.
        assert (await cache.refresh()).support is Support.REUSED
        a1 = await turn(client, cache, 1, a_prompt)
        await turn(client, cache, 2, user_turn(filler(600, offset=5)))  # saves A on the way
        await cache.save_all()
        assert await cache.forget_session(2) == 1
        big = {f.name: f.stat().st_size for f in save_dir.iterdir()}
        a2 = await turn(client, cache, 1, follow_up(a_prompt, a1.completion.content, "more"))
    assert a2.prepared.restored > 600 and a2.cache_n > 600
    sizes = {f.name: f.stat().st_size for f in save_dir.iterdir()}
    name_b = next(n for n in big if n.startswith("llama-tui-s2-"))
    assert big[name_b] > 100_000 and sizes[name_b] < 100  # an empty slot's save (36 bytes here)
    assert await cache.saved_caches() and all(r.session_id == 1 for r in await cache.saved_caches())


async def test_a_file_from_another_model_is_never_restored(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    tiny_models_dir: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    prompt = user_turn(filler(700))
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        first = await turn(client, cache, 1, prompt)
        await cache.save_all()
        assert cache.identity is not None
        original = slot_filename(1, cache.identity.key)
    server.stop()
    # Same shapes, other weights: llama-server itself takes this file without a word...
    twin = make_tiny_model(tiny_models_dir, chat_template="chatml", seed=1)
    other = fresh_llama_server(twin, extra_args=["--slot-save-path", str(save_dir)])
    nxt = follow_up(prompt, first.completion.content, "more")
    async with LlamaCppClient(other.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=twin)
        await cache.refresh()
        on_twin = await turn(client, cache, 1, nxt)
        direct = await client.restore_slot(0, original)
    # ...but the service never offers it: its record names the other model.
    assert on_twin.prepared.restored == 0 and on_twin.cache_n < 50
    assert direct.n_restored > 700
    assert EventKind.RESTORED not in kinds(events)


async def test_a_file_the_server_refuses_is_dropped_and_the_prompt_processed(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    tiny_models_dir: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    prompt = user_turn(filler(700))
    bigger = make_tiny_model(tiny_models_dir, chat_template="chatml", n_embd=128, n_layer=3)
    foreign = fresh_llama_server(bigger, extra_args=["--slot-save-path", str(save_dir)])
    async with LlamaCppClient(foreign.url) as client:
        await turn(client, None, 9, prompt, preferred_slot=0)
        await client.save_slot(0, "foreign.kv")
    foreign.stop()
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        first = await turn(client, cache, 1, prompt)
        await cache.save_all()
        assert cache.identity is not None
        ours = save_dir / slot_filename(1, cache.identity.key)
        (save_dir / "foreign.kv").replace(ours)  # the file changed behind our back
        with pytest.raises(SlotFileRefused, match="Unable to restore slot"):
            await client.restore_slot(0, ours.name)
    server.restart()
    async with LlamaCppClient(server.url) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        nxt = follow_up(prompt, first.completion.content, "more")
        refused = await turn(client, cache, 1, nxt)
    assert refused.prepared.restored == 0 and refused.cache_n == 0
    assert refused.completion.final.tokens_predicted == 8  # the answer came all the same
    failed = [e for e in events if e.kind is EventKind.RESTORE_FAILED]
    assert len(failed) == 1 and "Unable to restore slot" in failed[0].message
    assert not ours.exists() and await cache.saved_caches() == []


async def test_a_failed_save_is_reported_quietly_and_nothing_is_lost(
    fresh_llama_server: Callable[..., LlamaServer],
    chatml_model: Path,
    save_dir: Path,
    tmp_path: Path,
    events: list[SlotCacheEvent],
) -> None:
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    prompt = user_turn(filler(600))
    async with LlamaCppClient(server.url, backoff_base=0.01) as client:
        cache = make_cache(client, tmp_path, events, files_dir=save_dir, model=chatml_model)
        await cache.refresh()
        first = await turn(client, cache, 1, prompt)
        save_dir.rmdir()  # the server cannot write its file any more: "Unable to save slot" (500)
        assert await cache.save_all() == 0
        again = await turn(client, cache, 1, follow_up(prompt, first.completion.content, "more"))
    [failed] = events
    assert failed.kind is EventKind.SAVE_FAILED and "Unable to save slot" in failed.message
    assert again.cache_n > 600  # the server's own cache still serves the session
    assert await cache.saved_caches() == []


async def test_it_follows_the_connection_and_knows_the_slot_of_a_one_slot_server(
    fresh_llama_server: Callable[..., LlamaServer], tmp_path: Path, events: list[SlotCacheEvent]
) -> None:
    dirs = [tmp_path / "one", tmp_path / "two"]
    servers = []
    for d in dirs:
        d.mkdir()
        servers.append(fresh_llama_server(extra_args=["--slot-save-path", str(d)]))
    prompt = user_turn(filler(600))
    connection = ServerConnection(LlamaCppClient(servers[0].url))
    cache = SlotCache(connection, root=tmp_path / "records", max_bytes=10**9, on_event=events.append)
    try:
        await cache.refresh()
        prepared = await cache.prepare(1, prompt)
        done = await collect(connection.client.stream_completion(prompt, n_predict=4, cache_prompt=True))
        assert prepared.slot is None and done.final.timings is not None
        # The answer's slot is not passed: with one slot, it can only be slot 0.
        await cache.after_answer(1, prepared, slot=None, text=prompt + done.content, cache_n=done.final.timings.cache_n)
        assert await cache.save_all() == 1
        assert len(list(dirs[0].iterdir())) == 1
        await connection.client.close()
        connection.client = LlamaCppClient(servers[1].url)  # as ServerConnection.use does
        await cache.refresh()
        assert await cache.saved_caches() == []  # another server: its own records
        assert await cache.save_all() == 0  # nothing of ours sits in its slots
    finally:
        await connection.client.close()
    assert list(dirs[1].iterdir()) == []


async def test_a_server_without_slot_save_path_works_as_before(
    llama_server: LlamaServer, chatml_model: Path, tmp_path: Path, events: list[SlotCacheEvent]
) -> None:
    prompt = user_turn(filler(700))
    async with LlamaCppClient(llama_server.url) as client:
        assert await client.slot_files_enabled() is False
        with pytest.raises(NotSupported, match="--slot-save-path"):
            await client.save_slot(0, "x.kv")
        cache = make_cache(client, tmp_path, events, files_dir=None)
        support = await cache.refresh()
        first = await turn(client, cache, 1, prompt, preferred_slot=1)
        cache.leave(1, next_slot=1)
        await cache.wait_idle()
        saved = await cache.save_all()
        again = await turn(client, cache, 1, follow_up(prompt, first.completion.content, "more"), preferred_slot=1)
    assert support.support is Support.OFF and "--slot-save-path" in support.hint
    assert first.prepared.slot == 1 and again.prepared.slot == 1  # the caller's slot, untouched
    assert again.cache_n > 700  # the server's own cache, as today
    assert saved == 0 and events == []
    assert not (tmp_path / "records").exists()
