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
    for_target,
    merge_stops,
    render_prompt,
    template_stops,
)
from llama_tui.client import LlamaCppClient
from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.reasoning import Start


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

    def __init__(self, bos: str = "<s>", generation_prompt: str = "[assistant]") -> None:
        self.bos = bos
        self.generation_prompt = generation_prompt
        self.seen: list[list[dict[str, Any]]] = []
        self.kwargs: list[dict[str, Any]] = []

    async def apply_template(
        self, messages: Sequence[Mapping[str, Any]], *, template_kwargs: Mapping[str, Any] | None = None
    ) -> str:
        self.seen.append([dict(m) for m in messages])
        self.kwargs.append(dict(template_kwargs or {}))
        return self.bos + "".join(f"[{m['role']}]{m['content']}" for m in messages) + self.generation_prompt

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
    assert request.params == {**params, "preserved_tokens": ["<think>", "</think>"]}
    assert request.start is Start.OUTSIDE


async def test_a_template_that_cannot_render_is_a_prompt_error() -> None:
    builder = RequestBuilder(ServerConnection(LlamaCppClient("http://127.0.0.1:9")))
    session = Session(id=1, template="no-such-template")
    with pytest.raises(PromptError, match="no-such-template"):
        await builder.prompt(session, [ChatMessage(role="user", content="hi")])
    assert "stop" not in builder.params(session)  # an unknown template has no stops to add


def test_queue_note_says_when_the_answer_waits_for_a_busy_slot() -> None:
    from llama_tui.chat.request import queue_note
    from llama_tui.client import Slot

    one_busy = [Slot(0, 4096, True, 10), Slot(1, 4096, False, 0)]
    assert queue_note(0, one_busy) == "waiting for a free slot (1/2 busy)"
    assert queue_note(1, one_busy) is None
    assert queue_note(None, one_busy) is None  # the server picks the idle one
    assert queue_note(None, [Slot(0, 4096, True, 10)]) == "waiting for a free slot (1/1 busy)"
    assert queue_note(None, []) is None  # /slots disabled: nothing known


def test_the_server_template_gets_chatml_stops_only_for_a_chatml_prompt() -> None:
    from llama_tui.chat.request import server_template_stops
    from llama_tui.templates.detect import is_server_fallback

    assert server_template_stops("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n") == (
        "<|im_end|>",
        "<|im_start|>",
    )
    assert server_template_stops("<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n") == ()
    assert not is_server_fallback("{{ messages }}")


class StandInConnection:
    """A ServerConnection whose client is the /apply-template stand-in."""

    def __init__(self, server: TemplateServer) -> None:
        self.client = server
        self.name = None


async def test_options_go_to_the_models_template_and_its_prompt_says_where_output_starts() -> None:
    """Qwen3.5-style: the generation prompt opens the reasoning, so the output starts inside it."""
    server = TemplateServer(generation_prompt="[assistant]<think>\n")
    builder = RequestBuilder(StandInConnection(server))  # type: ignore[arg-type]
    session = Session(id=1, template="server", template_options={"enable_thinking": True})
    request = await builder.build(session, [ChatMessage(role="user", content="q")], {})
    assert server.kwargs == [{"enable_thinking": True}]
    assert request.start is Start.REASONING and request.reasoning.name == "think"


async def test_the_models_template_gets_only_the_options_offered_for_it() -> None:
    """A session keeps the options of a template it used before (gpt-oss's date): the model's own
    template gets only thinking and reasoning effort, the kwargs the settings pane offers for it."""
    server = TemplateServer()
    builder = RequestBuilder(StandInConnection(server))  # type: ignore[arg-type]
    options = {"today": "2025-01-31", "reasoning_effort": "low", "enable_thinking": False}
    session = Session(id=1, template="server", template_options=options)
    await builder.build(session, [ChatMessage(role="user", content="q")], {})
    assert server.kwargs == [{"reasoning_effort": "low", "enable_thinking": False}]


async def test_an_invalid_stored_option_leaves_the_default() -> None:
    """A value that is not valid (e.g. from an imported file) is not sent and does not fail the prompt:
    the default applies, as the settings pane shows."""
    server = TemplateServer()
    builder = RequestBuilder(StandInConnection(server))  # type: ignore[arg-type]
    session = Session(id=1, template="server", template_options={"enable_thinking": "yes", "reasoning_effort": "low"})
    await builder.build(session, [ChatMessage(role="user", content="q")], {})
    assert server.kwargs == [{"reasoning_effort": "low"}]
    session.template = "qwen3.5"
    request = await builder.build(session, [ChatMessage(role="user", content="q")], {})
    assert isinstance(request.prompt, str) and request.prompt.endswith("<|im_start|>assistant\n<think>\n")  # on
    session.template_options["enable_thinking"] = False
    request = await builder.build(session, [ChatMessage(role="user", content="q")], {})
    assert isinstance(request.prompt, str) and request.prompt.endswith("<think>\n\n</think>\n\n")


async def test_continuing_an_answer_puts_its_reasoning_back_before_it() -> None:
    server = TemplateServer(generation_prompt="[assistant]<think>\n")
    builder = RequestBuilder(StandInConnection(server))  # type: ignore[arg-type]
    session = Session(id=1, template="server")
    partial = ChatMessage(role="assistant", content="The answer is", reasoning="Let me see.")
    request = await builder.build(session, [ChatMessage(role="user", content="q"), partial], {}, continue_final=True)
    assert request.prompt == "[user]q[assistant]<think>\nLet me see.\n</think>\n\nThe answer is"
    assert request.start is Start.ANSWER
    assert server.seen == [[{"role": "user", "content": "q"}]]


async def test_reasoning_is_resent_only_where_the_template_keeps_it() -> None:
    path = [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="A", reasoning="R")]
    assert [m.reasoning for m in build_history(Session(template="server"), path)] == [None, None]
    kept = build_history(Session(template="glm4.7"), path)  # GLM-4.7 renders earlier reasoning
    assert [m.reasoning for m in kept] == [None, "R"] and kept[1].content == "A"


def test_a_reasoning_budget_names_the_formats_markers() -> None:
    from llama_tui.chat.request import budget_fields
    from llama_tui.reasoning import HARMONY, THINK

    assert budget_fields({"temperature": 1}, THINK, Start.REASONING) == {}
    assert budget_fields({"reasoning_budget_tokens": -1}, THINK, Start.REASONING) == {}
    assert budget_fields({"reasoning_budget_tokens": 64}, THINK, Start.REASONING) == {
        "reasoning_budget_start_tag": "<think>",
        "reasoning_budget_end_tags": ["</think>"],
        "reasoning_budget_message": "\n",
        "generation_prompt": "<think>\n",  # the prompt opened it: counting starts at once
    }
    outside = budget_fields({"reasoning_budget_tokens": 0}, HARMONY, Start.OUTSIDE)
    assert outside["reasoning_budget_end_tags"] == ["<|end|>"] and "generation_prompt" not in outside
    # Never with a schema: the server would feed the opening to the schema's grammar.
    assert "generation_prompt" not in budget_fields(
        {"reasoning_budget_tokens": 8, "json_schema": {}}, THINK, Start.REASONING
    )


def test_constraints_are_sent_in_the_servers_format() -> None:
    params = completion_params(
        SamplingSettings({"json_schema": '{"type": "object"}', "logit_bias": {" no": False}, "grammar": "root ::= x"})
    )
    assert params["json_schema"] == {"type": "object"}
    assert params["logit_bias"] == [[" no", False]]
    assert params["grammar"] == "root ::= x"


async def test_a_compare_target_asks_its_own_template_model_and_settings_on_its_own_server() -> None:
    session = Session(
        id=3,
        template="server",
        system_prompt="S",
        settings=SamplingSettings({"temperature": 0.7, "seed": 1}),
        template_options={"enable_thinking": False},
    )
    asked = for_target(session, template="chatml", model="gemma", settings={"temperature": 0.2})
    assert (asked.template, asked.model, asked.settings.values) == ("chatml", "gemma", {"temperature": 0.2, "seed": 1})
    assert (asked.id, asked.system_prompt, asked.template_options) == (3, "S", {"enable_thinking": False})
    assert session.settings.values == {"temperature": 0.7, "seed": 1} and session.template == "server"  # untouched
    same = for_target(session)
    assert (same.template, same.model, same.settings.values) == ("server", None, session.settings.values)
    # on(): the same builder, rendering the model's own template through the target's server.
    app = ServerConnection(LlamaCppClient("http://127.0.0.1:9"))  # never contacted
    builder = RequestBuilder(app, {"mine": object()})
    target_server = TemplateServer(bos="")
    target = builder.on(target_server)  # type: ignore[arg-type]
    request = await target.build(Session(id=1, template="server"), [ChatMessage(role="user", content="q")], {})
    assert request.prompt == "[user]q[assistant]" and target_server.seen == [[{"role": "user", "content": "q"}]]
    assert builder.connection is app and target.custom_templates == builder.custom_templates
