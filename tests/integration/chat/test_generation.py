"""chat/generation.py against the real llama-server: stopping an answer stops the server (#13.1)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from llama_tui.chat.generation import Generation
from llama_tui.chat.request import CompletionRequest
from llama_tui.client import LlamaCppClient, ProgressEvent
from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store, StoreError


class SlowScreen:
    """A sink that, from token `block_at` on, is busy (the UI laying out) when Esc lands."""

    def __init__(self, block_at: int | None) -> None:
        self.tokens = 0
        self.block_at = block_at

    async def on_text(self, text: str) -> None:
        self.tokens += 1
        if self.block_at is not None and self.tokens >= self.block_at:
            await asyncio.sleep(3600)

    def on_reasoning(self, text: str) -> None:
        pass

    def on_tokens(self, count: int, thinking: bool) -> None:
        pass

    def on_progress(self, event: ProgressEvent) -> None:
        pass

    def on_store_error(self, error: StoreError) -> None:
        raise AssertionError(error)


async def like_a_textual_worker(work: Any, kept: list[BaseException]) -> None:
    """Run `work` as Textual's Worker does: it keeps the CancelledError (and so its traceback, the
    generation's frame and the open stream) for as long as the worker object lives."""
    try:
        await work
    except asyncio.CancelledError as error:
        kept.append(error)
        raise


async def busy_slots(client: LlamaCppClient) -> int:
    return sum(slot.is_processing for slot in await client.slots())


@pytest.mark.parametrize(
    ("block_at", "cancel_after"),
    [(1, 0.3), (5, 0.3), (40, 0.6), (None, 0.2), (None, 0.5), (None, 1.0)],
    ids=["in-ui-first-token", "in-ui-5", "in-ui-40", "mid-stream-0.2s", "mid-stream-0.5s", "mid-stream-1s"],
)
async def test_a_cancelled_answer_frees_the_slot_within_a_second(
    fresh_llama_server, tmp_path: Path, block_at: int | None, cancel_after: float
) -> None:
    server = fresh_llama_server(parallel=1, ctx_size=16384)
    store = Store.open(tmp_path / "s.sqlite3")
    session = store.create_session(Session())
    answer = store.add_message(ChatMessage(role="assistant", content="", session_id=session.id, state="streaming"))

    async def request() -> CompletionRequest:
        return CompletionRequest("<|im_start|>user\ncount<|im_end|>\n", {"n_predict": 12000, "ignore_eos": True})

    async with LlamaCppClient(server.url) as client:
        kept: list[BaseException] = []
        generation = Generation(client, store).run(answer, request, SlowScreen(block_at))
        task = asyncio.ensure_future(like_a_textual_worker(generation, kept))
        deadline = time.monotonic() + 10
        while await busy_slots(client) == 0:  # the server is generating
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.02)
        await asyncio.sleep(cancel_after)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stopped = time.monotonic()
        while await busy_slots(client) > 0:
            assert time.monotonic() - stopped < 1.0, "the server is still generating after Esc"
            await asyncio.sleep(0.02)
        assert kept  # the worker still holds the error: nothing but the explicit close freed the slot
    assert store.get_message(answer.id).state == "interrupted"
    store.close()


async def test_the_result_says_which_slot_answered(fresh_llama_server, tmp_path: Path) -> None:
    """The final event's id_slot, for the slot cache to know where the session now sits."""
    server = fresh_llama_server(parallel=3, ctx_size=3072)
    store = Store.open(tmp_path / "s.sqlite3")
    session = store.create_session(Session())
    slots = []
    async with LlamaCppClient(server.url) as client:
        for slot in (2, 1):
            answer = store.add_message(
                ChatMessage(role="assistant", content="", session_id=session.id, state="streaming")
            )

            async def request(slot: int = slot) -> CompletionRequest:
                return CompletionRequest("<|im_start|>user\nhi<|im_end|>\n", {"n_predict": 4, "id_slot": slot})

            result = await Generation(client, store).run(answer, request, SlowScreen(None))
            slots.append(result.id_slot)
    store.close()
    assert slots == [2, 1]
