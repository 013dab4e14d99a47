"""chat/request.py: the one place a /completion request is built (pure parts; the server's own
template through a stand-in for /apply-template, checked against the real server in
tests/integration/chat/test_request.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from llama_tui.chat.connection import ServerConnection
from llama_tui.chat.request import (
    BASE_PARAMS,
    CompletionRequest,
    PromptError,
    RequestBuilder,
    build_history,
    choose_slot,
    completion_params,
    merge_stops,
    render_prompt,
    template_stops,
)
from llama_tui.client import LlamaCppClient
from llama_tui.domain import ChatMessage, SamplingSettings, Session


def test_history_puts_the_system_prompt_first_and_never_resends_reasoning() -> None:
    session = Session(system_prompt="Be terse.")
    path = [
        ChatMessage(role="user", content="q"),
        ChatMessage(role="assistant", content="<think>hmm</think>\n\nA", reasoning=None),
    ]
    history = build_history(session, path)
    assert [(m.role, m.content) for m in history] == [("system", "Be terse."), ("user", "q"), ("assistant", "A")]
    assert build_history(Session(system_prompt="   "), path)[0].role == "user"


def test_stops_user_first_then_the_templates_each_once() -> None:
    assert merge_stops(["END", "<|im_end|>"], ["<|im_end|>", "<|im_start|>"]) == ["END", "<|im_end|>", "<|im_start|>"]
    assert merge_stops([], ["", "x"]) == ["x"]


def test_params_are_base_then_settings_then_stops_slot_and_model() -> None:
    settings = SamplingSettings({"temperature": 0.2, "stop": ["END"]})
    params = completion_params(settings, template_stops=("<|im_end|>",), slot=1, model="m")
    assert params == {
        **BASE_PARAMS,
        "temperature": 0.2,
        "stop": ["END", "<|im_end|>"],
        "id_slot": 1,
        "model": "m",
    }
    assert "stop" not in completion_params(SamplingSettings())
    assert template_stops("server") == ()
    assert template_stops("chatml") == ("<|im_end|>", "<|im_start|>")


def test_each_session_has_its_slot_unless_it_is_busy_and_another_is_free() -> None:
    assert choose_slot(7, 1) is None  # one slot: nothing to choose
    assert choose_slot(7, 4) == 3
    assert choose_slot(7, 4, frozenset({3})) is None  # busy: the server picks a free one
    assert choose_slot(7, 2, frozenset({0, 1})) == 1  # all busy: wait for its own (its cache)


def test_request_body_and_preview_text() -> None:
    request = CompletionRequest(("abc", 42, "d"), {"n_predict": 1})
    assert request.body() == {"n_predict": 1, "prompt": ["abc", 42, "d"]}
    assert request.prompt_text == "abc<42>d"
    assert CompletionRequest("x").body() == {"prompt": "x"}


class TemplateServer:
    """Stands in for /apply-template (the real server is used in the integration tests)."""

    def __init__(self, bos: str = "<s>") -> None:
        self.bos = bos
        self.seen: list[list[dict[str, Any]]] = []

    async def apply_template(self, messages: Sequence[Mapping[str, Any]]) -> str:
        self.seen.append([dict(m) for m in messages])
        return self.bos + "".join(f"[{m['role']}]{m['content']}" for m in messages) + "[assistant]"

    async def bos_token(self) -> str:
        return self.bos


async def test_the_models_own_template_drops_the_bos_and_continues_after_the_generation_prompt() -> None:
    server = TemplateServer()
    history = [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="Sure")]
    rendered = await render_prompt(server, history, "server", continue_final=True)
    assert rendered.text == "[user]q[assistant]Sure" and rendered.stops == ()
    assert server.seen == [[{"role": "user", "content": "q"}]]


async def test_builder_renders_the_session_and_appends_the_suffix() -> None:
    builder = RequestBuilder(ServerConnection(LlamaCppClient("http://127.0.0.1:9")))  # never contacted
    session = Session(id=4, template="chatml", system_prompt="S", settings=SamplingSettings({"seed": 3}))
    params = builder.params(session, total_slots=2, router_mode=True)
    assert params["id_slot"] == 0 and params["seed"] == 3 and "model" not in params  # no model picked
    session.model = "qwen"
    assert builder.params(session, router_mode=True)["model"] == "qwen"
    path = [ChatMessage(role="user", content="hi")]
    request = await builder.build(session, path, params, suffix=("Hel", "lo", 7))
    assert request.prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello",
        7,
    )
    assert request.params == params


async def test_a_template_that_cannot_render_is_a_prompt_error() -> None:
    builder = RequestBuilder(ServerConnection(LlamaCppClient("http://127.0.0.1:9")))
    session = Session(id=1, template="no-such-template")
    with pytest.raises(PromptError, match="no-such-template"):
        await builder.prompt(session, [ChatMessage(role="user", content="hi")])
    assert "stop" not in builder.params(session)  # an unknown template has no stops to add
