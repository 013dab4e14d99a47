"""The reasoning table checked against the official chat templates, rendered by the real
llama-server (`--chat-template-file`, `/apply-template`): where each family's output starts with
thinking on and off, which format its generation prompt reveals (the model's own template, no
family known), and whether it renders earlier turns' reasoning back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from llama_tui.reasoning import (
    GEMMA4,
    HARMONY,
    MISTRAL,
    THINK,
    ReasoningFormat,
    Resend,
    Start,
    format_for,
    rebuild_output,
    resend_policy,
    start_for,
)
from tests.harness.assets import official_template
from tests.harness.server import LlamaServer

ON, OFF = {"enable_thinking": True}, {"enable_thinking": False}
IN, OUT, ANS = Start.REASONING, Start.OUTSIDE, Start.ANSWER


@dataclass(frozen=True)
class Case:
    family: str
    file: str
    start_on: Start
    start_off: Start
    own_format: ReasoningFormat  # what format_for guesses from the prompt alone
    on: dict[str, Any] | None = None  # template options that turn thinking on (default: enable_thinking)


CASES = [
    Case("qwen3", "Qwen-Qwen3-0.6B.jinja", OUT, ANS, THINK),
    Case("qwen3.5", "Qwen3.5-4B.jinja", IN, ANS, THINK),
    Case("qwq", "Qwen-QwQ-32B.jinja", IN, ANS, THINK),
    Case("deepseek-r1", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", IN, ANS, THINK),
    Case("deepseek-r1", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", IN, IN, THINK),  # always thinks
    Case("deepseek-v3", "deepseek-ai-DeepSeek-V3.1.jinja", IN, ANS, THINK),
    Case("deepseek-v3", "deepseek-ai-DeepSeek-V3.2.jinja", IN, ANS, THINK),
    Case("deepseek-v4", "deepseek-ai-DeepSeek-V4.jinja", IN, ANS, THINK),
    Case("glm4", "GLM-4.6.jinja", OUT, ANS, THINK),
    Case("glm4.7", "GLM-4.7-Flash.jinja", IN, ANS, THINK),
    Case("smollm3", "HuggingFaceTB-SmolLM3-3B.jinja", OUT, ANS, THINK),
    Case("granite3.3", "ibm-granite-granite-3.3-2B-Instruct.jinja", OUT, OUT, THINK, on={"thinking": True}),
    Case("gemma4", "google-gemma-4-31B-it.jinja", OUT, ANS, GEMMA4),
    Case("gpt-oss", "openai-gpt-oss-120b.jinja", OUT, OUT, HARMONY),
    Case("magistral", "mistralai-Ministral-3-14B-Reasoning-2512.jinja", OUT, OUT, MISTRAL),
]

SECRET = "REASONING-OF-TURN-ONE"


@pytest.fixture(params=CASES, ids=lambda c: c.file.removesuffix(".jinja"))
def rendered(
    request: pytest.FixtureRequest, fresh_llama_server: Callable[..., LlamaServer]
) -> tuple[Case, Callable[..., str]]:
    case: Case = request.param
    server = fresh_llama_server(extra_args=["--chat-template-file", str(official_template(case.file))])

    def render(messages: list[dict[str, Any]], kwargs: dict[str, Any] | None = None) -> str:
        reply = server.post_json("/apply-template", {"messages": messages, "chat_template_kwargs": kwargs or {}})
        return str(reply["prompt"])

    return case, render


USER = [{"role": "user", "content": "What is 2+2?"}]
TWO_TURNS = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4", "reasoning_content": SECRET},
    {"role": "user", "content": "And 3+3?"},
]


def test_start_format_and_resend_match_the_official_template(rendered: tuple[Case, Callable[..., str]]) -> None:
    case, render = rendered
    fmt = format_for(case.family)
    on, off = render(USER, case.on or ON), render(USER, OFF)
    assert (start_for(fmt, on), start_for(fmt, off)) == (case.start_on, case.start_off), (on[-60:], off[-60:])
    assert format_for(None, on) is case.own_format, on[-200:]
    kept = SECRET in render(TWO_TURNS, case.on or ON)
    assert kept == (resend_policy(case.family) is Resend.ALWAYS)


@pytest.mark.parametrize("file", ["Qwen-Qwen3-0.6B.jinja", "Qwen3.5-4B.jinja", "openai-gpt-oss-120b.jinja"])
def test_rebuilt_output_is_llama_servers_own_continuation(
    file: str, fresh_llama_server: Callable[..., LlamaServer]
) -> None:
    """Continuing a final assistant turn that has reasoning: llama-server renders the generation
    prompt, the reasoning and the answer so far; ours is the same text."""
    server = fresh_llama_server(extra_args=["--chat-template-file", str(official_template(file))])
    turn = [USER[0], {"role": "assistant", "content": "The answer", "reasoning_content": "Two and two."}]
    generation_prompt = server.post_json("/apply-template", {"messages": USER})["prompt"]
    continued = server.post_json("/apply-template", {"messages": turn})["prompt"]
    fmt = format_for(None, generation_prompt)
    start = start_for(fmt, generation_prompt)
    assert generation_prompt + rebuild_output(fmt, start, "Two and two.", "The answer") == continued
