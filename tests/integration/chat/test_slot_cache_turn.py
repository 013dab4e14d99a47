"""CachedTurn: the slot cache fitted to chat/generation.py, with a real store and llama-server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llama_tui.chat.generation import Generation
from llama_tui.chat.request import CompletionRequest
from llama_tui.chat.slot_cache import RestoreReport, SlotCache
from llama_tui.chat.slot_cache_turn import CachedTurn
from llama_tui.chat.slot_support import Support
from llama_tui.client import LlamaCppClient, ProgressEvent
from llama_tui.domain import ChatMessage, Session
from llama_tui.reasoning import GRANITE, Start
from llama_tui.store import Store, StoreError
from tests.harness.server import LlamaServer
from tests.harness.slot_turns import filler, follow_up, turn, user_turn


class Sink:
    async def on_text(self, text: str) -> None:
        pass

    def on_reasoning(self, text: str) -> None:
        pass

    def on_tokens(self, count: int, thinking: bool) -> None:
        pass

    def on_progress(self, event: ProgressEvent) -> None:
        pass

    def on_store_error(self, error: StoreError) -> None:
        raise AssertionError(error)


async def answer(
    url: str, cache_root: Path, save_dir: Path, model: Path, store: Store, session: Session, prompt: str
) -> tuple[ChatMessage, CachedTurn, RestoreReport | None]:
    """One answer as the screen gives it: a stored message, the generation, the slot cache."""
    message = store.add_message(ChatMessage(role="assistant", content="", session_id=session.id, state="streaming"))

    async def request() -> CompletionRequest:  # what RequestBuilder.build gives on a one-slot server
        return CompletionRequest(prompt, {"n_predict": 8, "temperature": 0.0, "cache_prompt": True})

    async with LlamaCppClient(url) as client:
        cache = SlotCache(client, root=cache_root, max_bytes=10**9, files_dir=save_dir, model_file=model)
        await cache.refresh()
        assert session.id is not None
        turn = CachedTurn(cache, session.id, request)
        result = await Generation(client, store).run(message, turn.request, Sink())
        report = await turn.finish(result.message)
        await cache.save_all()  # as on quit
    return result.message, turn, report


async def test_a_restored_session_answers_with_its_cache_and_says_so(
    fresh_llama_server: Callable[..., LlamaServer], chatml_model: Path, tmp_path: Path
) -> None:
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    store = Store.open(tmp_path / "s.sqlite3")
    session = store.create_session(Session())
    prompt = user_turn(filler(700))
    first, turn, report = await answer(server.url, tmp_path / "rec", save_dir, chatml_model, store, session, prompt)
    assert report is None and turn.prepared is not None and turn.prepared.restored == 0
    assert len(list(save_dir.iterdir())) == 1
    server.restart()
    nxt = follow_up(prompt, first.content, "and then?")
    second, turn, report = await answer(server.url, tmp_path / "rec", save_dir, chatml_model, store, session, nxt)
    assert turn.prepared is not None and turn.prepared.restored > 700 and turn.prepared.slot == 0
    assert second.state == "complete" and second.timings is not None and second.timings["cache_n"] > 700
    assert report is not None and report.reused
    assert report.footer == f"cache restored: {second.timings['cache_n']:,} prompt tokens not re-processed"
    store.close()


async def test_the_request_goes_where_the_session_is_and_keeps_everything_else(
    fresh_llama_server: Callable[..., LlamaServer], chatml_model: Path, tmp_path: Path
) -> None:
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)], parallel=2, ctx_size=8192)
    prompt = user_turn(filler(600))
    asked = CompletionRequest(prompt + "x", {"id_slot": 1, "n_predict": 4}, reasoning=GRANITE, start=Start.REASONING)

    async def request() -> CompletionRequest:
        return asked

    async with LlamaCppClient(server.url) as client:
        cache = SlotCache(client, root=tmp_path / "rec", max_bytes=10**9, files_dir=save_dir, model_file=chatml_model)
        await cache.refresh()
        await turn(client, cache, 3, prompt, preferred_slot=0)  # session 3 now sits in slot 0
        sent = await CachedTurn(cache, 3, request).request()
    assert sent.params == {"id_slot": 0, "n_predict": 4}  # where its cache is, not the pinned slot 1
    assert (sent.prompt, sent.reasoning, sent.start) == (asked.prompt, asked.reasoning, asked.start)


async def test_an_answer_that_failed_after_a_restore_proves_nothing(
    fresh_llama_server: Callable[..., LlamaServer], chatml_model: Path, tmp_path: Path
) -> None:
    """The restore works, then the server refuses the prompt (too long for the context): no final
    event, no timings. That must not count as "restored cache not reused" (which would stop saving)."""
    save_dir = tmp_path / "files"
    save_dir.mkdir()
    server = fresh_llama_server(extra_args=["--slot-save-path", str(save_dir)])
    store = Store.open(tmp_path / "s.sqlite3")
    session = store.create_session(Session())
    prompt = user_turn(filler(700))
    first, _, _ = await answer(server.url, tmp_path / "rec", save_dir, chatml_model, store, session, prompt)
    server.restart()
    too_long = follow_up(prompt, first.content, filler(5000))
    failed, turn, report = await answer(server.url, tmp_path / "rec", save_dir, chatml_model, store, session, too_long)
    assert turn.prepared is not None and turn.prepared.restored > 700  # restored, then refused
    assert failed.state == "error" and failed.timings is None
    assert report is None
    assert turn.cache.support.support is Support.REUSED  # still saving and restoring
    store.close()
