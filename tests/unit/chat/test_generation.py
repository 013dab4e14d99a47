"""chat/generation.py: one answer streamed into the store, whatever happens, with a scripted
stand-in for the client's stream (the real server: tests/integration/chat/test_generation.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llama_tui.chat.generation import Generation
from llama_tui.chat.request import CompletionRequest, PromptError
from llama_tui.client import FinalEvent, KeepAliveEvent, ProgressEvent, RetryEvent, StreamCutOff, TokenEvent
from llama_tui.domain import ChatMessage, Session
from llama_tui.reasoning import THINK, Start
from llama_tui.store import Store, StoreError


class ScriptedClient:
    """A client whose stream yields the given events (an exception instead of an event raises it);
    it records what was asked and whether the stream was closed."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.asked: list[tuple[Any, dict[str, Any]]] = []
        self.closed = False

    def stream_completion(self, prompt: Any, **params: Any) -> AsyncIterator[Any]:
        self.asked.append((prompt, params))
        return self._stream()

    async def _stream(self) -> AsyncIterator[Any]:
        try:
            for event in self.events:
                if isinstance(event, BaseException):
                    raise event
                yield event
        finally:
            self.closed = True


class Sink:
    def __init__(self, block_after: int | None = None) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tokens: list[tuple[int, bool]] = []
        self.progress: list[float] = []
        self.store_errors: list[StoreError] = []
        self.statuses: list[str] = []
        self.block_after = block_after

    async def on_text(self, text: str) -> None:
        self.text.append(text)
        if self.block_after is not None and len(self.text) >= self.block_after:
            await asyncio.Event().wait()  # the UI is busy here when the user presses Esc

    def on_reasoning(self, text: str) -> None:
        self.reasoning.append(text)

    def on_tokens(self, count: int, thinking: bool) -> None:
        self.tokens.append((count, thinking))

    def on_progress(self, event: ProgressEvent) -> None:
        self.progress.append(event.fraction)

    def on_status(self, text: str) -> None:
        self.statuses.append(text)

    def on_store_error(self, error: StoreError) -> None:
        self.store_errors.append(error)


FINAL = FinalEvent.from_json(
    {"stop": True, "stop_type": "eos", "timings": {"predicted_n": 3, "predicted_per_second": 50.0}}, 12.5
)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "sessions.sqlite3")
    yield s
    s.close()


def streaming_answer(store: Store, content: str = "") -> ChatMessage:
    session = store.create_session(Session())
    user = store.add_message(ChatMessage(role="user", content="q", session_id=session.id))
    return store.add_message(
        ChatMessage(role="assistant", content=content, session_id=session.id, parent_id=user.id, state="streaming")
    )


def request(prompt: Any = "P", **params: Any):
    async def build() -> CompletionRequest:
        return CompletionRequest(prompt, params)

    return build


async def test_streams_into_the_store_and_ends_with_the_servers_figures(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([ProgressEvent(10, 5, 0, 1.0), TokenEvent("Hel", [1]), TokenEvent("lo", [2]), FINAL])
    sink = Sink()
    result = await Generation(client, store).run(answer, request(("P", 5), n_predict=3), sink)  # type: ignore[arg-type]
    assert client.asked == [(["P", 5], {"n_predict": 3})]  # exactly the request's body
    assert sink.text == ["Hel", "lo"] and sink.progress == [0.5]
    saved = store.get_message(answer.id)
    assert saved.content == "Hello" and saved.state == "complete" and saved.stop_type == "eos"
    assert saved.timings == {"predicted_n": 3, "predicted_per_second": 50.0} and saved.ttft_ms == 12.5
    assert result.error is None and result.saved and client.closed


async def test_the_first_token_is_checkpointed_at_once(store: Store) -> None:
    """A crash right after the first token keeps it (the next checkpoint is a second later)."""
    answer = streaming_answer(store)
    seen: list[str] = []

    class Peek(Sink):
        async def on_text(self, text: str) -> None:
            seen.append(store.get_message(answer.id).content)

    client = ScriptedClient([TokenEvent("first", [1]), TokenEvent(" second", [2]), FINAL])
    await Generation(client, store, clock=lambda: 100.0).run(answer, request(), Peek())  # type: ignore[arg-type]
    assert seen == ["first", "first"]  # saved before the UI saw it; the second waits for the interval


async def test_cancel_while_the_ui_is_busy_closes_the_stream_and_keeps_the_text(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("a", [1]), TokenEvent("b", [2]), TokenEvent("c", [3]), FINAL])
    task = asyncio.ensure_future(
        Generation(client, store).run(answer, request(), Sink(block_after=2))  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert client.closed  # the HTTP response is closed: the server stops generating
    saved = store.get_message(answer.id)
    assert saved.content == "ab" and saved.state == "interrupted"


async def test_a_stream_that_breaks_keeps_what_arrived(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("partial", [1]), StreamCutOff("connection lost")])
    result = await Generation(client, store).run(answer, request(), Sink())  # type: ignore[arg-type]
    saved = store.get_message(answer.id)
    assert saved.content == "partial" and saved.state == "interrupted" and saved.error == "connection lost"
    assert isinstance(result.error, StreamCutOff)


async def test_a_prompt_that_cannot_be_built_ends_the_answer_as_an_error(store: Store) -> None:
    answer = streaming_answer(store)

    async def broken() -> CompletionRequest:
        raise PromptError("template 'x': unknown")

    client = ScriptedClient([])
    result = await Generation(client, store).run(answer, broken, Sink())  # type: ignore[arg-type]
    saved = store.get_message(answer.id)
    assert saved.state == "error" and saved.error == "template 'x': unknown"
    assert client.asked == [] and isinstance(result.error, PromptError)


async def test_continuing_keeps_the_partial_text_in_front(store: Store) -> None:
    answer = streaming_answer(store, content="Once upon")
    client = ScriptedClient([TokenEvent(" a time", [1]), FINAL])
    await Generation(client, store).run(answer, request(), Sink())  # type: ignore[arg-type]
    assert store.get_message(answer.id).content == "Once upon a time"


async def test_reasoning_is_stored_apart_at_the_end(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("<think>hm</think>", [1]), TokenEvent("\n\nYes.", [2]), FINAL])
    await Generation(client, store).run(answer, request(), Sink())  # type: ignore[arg-type]
    saved = store.get_message(answer.id)
    assert saved.reasoning == "hm" and saved.content == "Yes."


async def test_a_refused_checkpoint_is_reported_and_the_result_says_unsaved(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = streaming_answer(store)

    def full(message: ChatMessage) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(store, "update_message", full)
    sink = Sink()
    client = ScriptedClient([TokenEvent("x", [1]), FINAL])
    result = await Generation(client, store).run(answer, request(), sink)  # type: ignore[arg-type]
    assert [str(e) for e in sink.store_errors] == ["the disk is full", "the disk is full"]
    assert not result.saved and result.message.content == "x" and result.message.state == "complete"


class TwoStreams(ScriptedClient):
    """The first stream thinks until it is closed; the second one answers."""

    def __init__(self, answer: list[Any]) -> None:
        super().__init__([])
        self.answer = answer
        self.first_closed = False

    def stream_completion(self, prompt: Any, **params: Any) -> AsyncIterator[Any]:
        self.asked.append((prompt, params))
        return self._thinking() if len(self.asked) == 1 else self._answering()

    async def _thinking(self) -> AsyncIterator[Any]:
        try:
            n = 0
            while True:
                n += 1
                yield TokenEvent(f" step{n}", [n])
                await asyncio.sleep(0)
        finally:
            self.first_closed = True

    async def _answering(self) -> AsyncIterator[Any]:
        for event in self.answer:
            yield event


async def test_stop_thinking_now_closes_the_reasoning_and_the_same_answer_goes_on(store: Store) -> None:
    """Qwen3.5-style: the prompt opened <think>; ctrl+g ends it and the model answers."""
    answer = streaming_answer(store)
    client = TwoStreams([TokenEvent("Forty-two.", [9]), FINAL])
    generation = Generation(client, store)

    class Impatient(Sink):
        async def on_text(self, text: str) -> None:
            self.text.append(text)

        def on_reasoning(self, text: str) -> None:
            self.reasoning.append(text)
            if len(self.reasoning) == 3:
                generation.end_reasoning()

    async def build() -> CompletionRequest:
        return CompletionRequest("PROMPT<think>\n", {"n_predict": 50}, THINK, Start.REASONING)

    sink = Impatient()
    result = await generation.run(answer, build, sink)  # type: ignore[arg-type]
    assert client.first_closed
    second_prompt, second_params = client.asked[1]
    assert second_prompt == "PROMPT<think>\n step1 step2 step3\n</think>\n\n" and second_params == {"n_predict": 50}
    saved = store.get_message(answer.id)
    assert saved.reasoning == " step1 step2 step3" and saved.content == "Forty-two." and saved.state == "complete"
    assert saved.meta is not None and saved.meta["reasoning_stopped"] and saved.meta["reasoning_tokens"] == 3
    assert saved.meta["answer_tokens"] == 1
    assert sink.text == ["Forty-two."] and result.error is None


async def test_stop_thinking_while_answering_changes_nothing(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("Answer", [1]), TokenEvent(" here.", [2]), FINAL])
    generation = Generation(client, store)
    generation.end_reasoning()  # pressed while the model answers (the prompt closed the reasoning)

    async def build() -> CompletionRequest:
        return CompletionRequest("PROMPT<think>\n\n</think>\n\n", {}, THINK, Start.ANSWER)

    await generation.run(answer, build, Sink())  # type: ignore[arg-type]
    assert len(client.asked) == 1
    saved = store.get_message(answer.id)
    assert saved.content == "Answer here." and saved.reasoning is None and saved.meta is None


async def test_retries_and_keep_alive_pings_are_reported_to_the_sink_in_plain_words(store: Store) -> None:
    answer = streaming_answer(store)
    retry = RetryEvent("rate limited (429)", 120.0, 1, 2)
    client = ScriptedClient([retry, KeepAliveEvent(3.4, 1), KeepAliveEvent(41.0, 5), TokenEvent("a", [1]), FINAL])
    sink = Sink()
    result = await Generation(client, store).run(answer, request(), sink)  # type: ignore[arg-type]
    assert result.message.content == "a" and result.message.state == "complete"
    assert sink.statuses == [
        "rate limited (429): retrying in 120 s (retry 1 of 2)",
        "waiting for llama-server: 3 s, no text yet (it says it is still working)",
        "waiting for llama-server: 41 s, no text yet (it says it is still working)",
    ]


async def test_pings_after_some_tokens_say_how_many_came(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("a", [1, 2]), KeepAliveEvent(9.0, 1), FINAL])
    sink = Sink()
    await Generation(client, store).run(answer, request(), sink)  # type: ignore[arg-type]
    assert sink.statuses == ["waiting for llama-server: 9 s, 2 tokens so far (it says it is still working)"]


async def test_an_unexpected_failure_is_told_in_plain_words_and_its_detail_kept(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent("kept", [1]), ZeroDivisionError("division by zero")])
    result = await Generation(client, store).run(answer, request(), Sink())  # type: ignore[arg-type]
    stored = store.get_message(answer.id)
    assert stored.content == "kept" and stored.state == "interrupted"
    assert stored.error == "the answer stopped because of an unexpected problem in llama-tui (what arrived is kept)"
    assert result.error is not None and "ZeroDivisionError" not in result.error.message
    assert (stored.meta or {})["failure_detail"] == "ZeroDivisionError: division by zero"
    assert "ZeroDivisionError: division by zero" in caplog.text  # the log has the traceback


async def test_stop_thinking_under_a_reasoning_budget_does_not_restart_the_budget(store: Store) -> None:
    """With a budget the request says the prompt opened the reasoning (`generation_prompt`); once
    ctrl+g has closed it, the continued request must not say so again, or the server's budget
    would count the answer as reasoning and force the closing marker into it."""
    answer = streaming_answer(store)
    client = TwoStreams([TokenEvent("Forty-two.", [9]), FINAL])
    generation = Generation(client, store)

    class Impatient(Sink):
        def on_reasoning(self, text: str) -> None:
            self.reasoning.append(text)
            generation.end_reasoning()

    budget = {"reasoning_budget_tokens": 50, "reasoning_budget_start_tag": "<think>", "generation_prompt": "<think>\n"}

    async def build() -> CompletionRequest:
        return CompletionRequest("PROMPT<think>\n", dict(budget), THINK, Start.REASONING)

    await generation.run(answer, build, Impatient())  # type: ignore[arg-type]
    (_, first), (_, second) = client.asked
    assert first["generation_prompt"] == "<think>\n"
    assert "generation_prompt" not in second and second["reasoning_budget_tokens"] == 50


async def test_a_constrained_answer_records_it(store: Store) -> None:
    answer = streaming_answer(store)
    client = ScriptedClient([TokenEvent('{"n": ', [1]), TokenEvent("1}", [2]), FINAL])
    schema = {"type": "object", "required": ["n"]}
    await Generation(client, store).run(answer, request(json_schema=schema), Sink())  # type: ignore[arg-type]
    assert store.get_message(answer.id).meta == {"constrained": "json_schema", "schema_ok": True}
