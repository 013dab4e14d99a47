"""chat/compare_run.py against real llama-servers: a temperature sweep on one model, the tiny
model against the real Gemma 3 270M in router mode, and a server killed in one column while the
other goes on. What each column received is what the store holds, as sibling answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_tui.chat.compare import CompareTarget, parse_spec, shared_seed
from llama_tui.chat.compare_run import CompareRun
from llama_tui.chat.connection import ServerConnection, TargetClients
from llama_tui.chat.conversation import Conversation, Sent
from llama_tui.chat.request import RequestBuilder
from llama_tui.chat.writes import WriteGuard
from llama_tui.client import LlamaCppClient, ProgressEvent
from llama_tui.config import Config, ServerProfile
from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.store import Store, StoreError


class Recorder:
    """A column sink that keeps everything the column was shown."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tokens = 0
        self.progress: list[ProgressEvent] = []
        self.started = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def on_waiting(self) -> None:
        pass

    def on_started(self) -> None:
        self.started = True

    async def on_text(self, text: str) -> None:
        self.parts.append(text)

    def on_reasoning(self, text: str) -> None:
        raise AssertionError(f"no reasoning expected: {text!r}")

    def on_tokens(self, count: int, thinking: bool) -> None:
        self.tokens = count

    def on_progress(self, event: ProgressEvent) -> None:
        self.progress.append(event)

    def on_store_error(self, error: StoreError) -> None:
        raise AssertionError(error)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "sessions.sqlite3")
    yield s
    s.close()


def conversation_on(store: Store, **session: object) -> Conversation:
    made = store.create_session(Session(**session))  # type: ignore[arg-type]
    return Conversation(store, made, WriteGuard(store, lambda error, first: pytest.fail(str(error))))


async def compare(
    conversation: Conversation,
    url: str,
    targets: list[CompareTarget],
    prompt: str,
    sinks: list[Recorder],
    config: Config | None = None,
) -> tuple[CompareRun, list[ChatMessage], Sent]:
    app = ServerConnection(LlamaCppClient(url))
    clients = TargetClients(app, config or Config(server_url=url))
    sent = conversation.send(prompt)
    assert isinstance(sent, Sent)
    run = CompareRun(conversation, RequestBuilder(app), clients, targets)
    columns = run.prepare(sent.path)
    assert isinstance(columns, list)
    try:
        ended = await run.run(sinks)
    finally:
        await clients.close()
        await app.client.close()
    return run, ended, sent


def assert_columns_are_the_stored_alternatives(
    store: Store, run: CompareRun, ended: list[ChatMessage], sinks: list[Recorder], sent: Sent
) -> list[ChatMessage]:
    stored = [store.get_message(column.answer.id) for column in run.columns]  # type: ignore[arg-type]
    assert [m.content for m in stored] == [m.content for m in ended] == [s.text for s in sinks]
    assert all(m.parent_id == sent.user.id for m in stored)  # type: ignore[union-attr]
    assert [m.id for m in store.siblings(stored[0].id)] == [m.id for m in stored]  # type: ignore[arg-type]
    for index, message in enumerate(stored):
        compare = (message.meta or {})["compare"]
        assert (compare["run"], compare["column"], compare["of"]) == (run.run_id, index + 1, len(stored))
        assert compare["label"] == run.targets[index].label
    return stored


async def test_a_temperature_sweep_on_one_model_shares_a_seed_and_runs_at_once(llama_server, store: Store) -> None:
    conversation = conversation_on(store, template="chatml", settings=SamplingSettings({"n_predict": 48}))
    targets, seed = shared_seed(parse_spec("temperature=0.2,1.5"), conversation.session.settings.values)
    sinks = [Recorder(), Recorder()]
    run, ended, sent = await compare(conversation, llama_server.url, targets, "Tell me about llamas", sinks)
    stored = assert_columns_are_the_stored_alternatives(store, run, ended, sinks, sent)
    assert all(m.state == "complete" and m.content for m in stored)
    # What the server says it used: the compared temperature, the shared seed, the session's n_predict.
    assert [m.settings["temperature"] for m in stored] == pytest.approx([0.2, 1.5])  # type: ignore[index]
    assert {m.settings["seed"] for m in stored} == {seed}  # type: ignore[index]
    assert all(m.settings["n_predict"] == 48 for m in stored)  # type: ignore[index]
    assert all(m.timings and m.timings["prompt_n"] + m.timings["cache_n"] > 0 for m in stored)
    assert all(m.stop_type in ("eos", "limit") and m.ttft_ms is not None for m in stored)
    assert run.scheduler.capacity(None, None) == 2  # the server's two idle slots: both columns at once
    assert all(s.started for s in sinks)
    # The first column is the head until one is picked: the conversation reads on from it.
    assert store.get_session(conversation.session.id).head_id == stored[0].id  # type: ignore[arg-type]


async def test_the_tiny_model_and_gemma_in_router_mode(gemma_router_server, store: Store) -> None:
    """Each column names its model and renders that model's own template through the router."""
    # This Gemma GGUF carries no chat template, so the router renders the server's ChatML fallback,
    # and Gemma (greedy, so the same every run) answers with "<|im_end|>" as text: the stop word.
    greedy = SamplingSettings({"n_predict": 24, "temperature": 0})
    conversation = conversation_on(store, template="server", settings=greedy)
    targets, seed = shared_seed(parse_spec("model=tiny,gemma"), {})
    sinks = [Recorder(), Recorder()]
    run, ended, sent = await compare(conversation, gemma_router_server.url, targets, "The capital of France is", sinks)
    stored = assert_columns_are_the_stored_alternatives(store, run, ended, sinks, sent)
    assert [m.state for m in stored] == ["complete", "complete"], [m.error for m in stored]
    assert [m.settings["model"] for m in stored] == ["tiny", "gemma"]  # type: ignore[index]
    described = [(m.meta or {})["compare"]["target"] for m in stored]
    assert described == [{"model": name, "settings": {"seed": seed}} for name in ("tiny", "gemma")]
    # Two tokenizers: the same prompt is a different number of tokens for each model.
    prompt_tokens = [m.timings["prompt_n"] + m.timings["cache_n"] for m in stored]  # type: ignore[index]
    assert all(n > 0 for n in prompt_tokens) and prompt_tokens[0] != prompt_tokens[1]
    # The real model's answer ran to the fallback template's stop word (see above), not to a limit.
    # Gemma spells "<|im_end|>" in several plain tokens, none of them its end of turn.
    assert (stored[1].stop_type, stored[1].content) == ("word", "")
    assert stored[1].timings["predicted_n"] > 1  # type: ignore[index]


async def test_a_killed_server_ends_its_column_and_keeps_its_text_while_the_other_goes_on(
    fresh_llama_server, store: Store
) -> None:
    alive, doomed = fresh_llama_server(), fresh_llama_server()
    config = Config(servers={"a": ServerProfile(url=alive.url), "b": ServerProfile(url=doomed.url)})
    # At low temperature the tiny model loops rather than ends: both columns stream for a while.
    settings = SamplingSettings({"n_predict": 600, "temperature": 0.2, "seed": 11})
    conversation = conversation_on(store, template="chatml", settings=settings)
    first, killed_at = Recorder(), {}

    class KillOnThirdPiece(Recorder):
        async def on_text(self, text: str) -> None:
            await super().on_text(text)
            if len(self.parts) == 3:
                doomed.kill()  # SIGKILL, as a crash; the stream breaks under this column
                killed_at["other"] = len(first.parts)

    second = KillOnThirdPiece()
    targets = parse_spec("server=a,b", servers=config.servers)
    run, ended, sent = await compare(conversation, alive.url, targets, "Count llamas", [first, second], config)
    stored = assert_columns_are_the_stored_alternatives(store, run, ended, [first, second], sent)
    survivor, cut = stored
    assert survivor.state == "complete" and survivor.timings is not None
    assert len(first.parts) > killed_at["other"]  # it went on streaming after the other server died
    assert cut.state == "interrupted" and cut.error
    assert len(second.parts) >= 3 and cut.content == second.text  # its partial text is kept
