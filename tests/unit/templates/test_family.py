"""The families' shared rules: continuing an answer as llama-server's prefill does, options, and the
inputs an official template refuses. (Byte-exactness is checked against llama-server in
tests/integration/templates/test_official.py.)"""

from __future__ import annotations

import pytest

from llama_tui.templates import ChatTurn, TemplateError, get_template

Q = ChatTurn("user", "Why?")


def test_continue_closes_an_empty_reasoning_block_before_the_answer() -> None:
    rendered = get_template("qwen3.5").render([Q, ChatTurn("assistant", "Because")], continue_final=True)
    assert rendered == "<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nBecause"


def test_continue_modes() -> None:
    qwen = get_template("qwen3")
    thinking = ChatTurn("assistant", "", reasoning="Let me see")
    head = "<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n"
    # True: llama-server's rule, reasoning without content goes on thinking.
    assert qwen.render([Q, thinking], continue_final=True) == head + "<think>\nLet me see"
    assert qwen.render([Q, thinking], continue_final="reasoning") == head + "<think>\nLet me see"
    # "content": stop thinking now, the answer starts after the closed block.
    assert qwen.render([Q, thinking], continue_final="content") == head + "<think>\nLet me see\n</think>\n\n"


def test_harmony_continue() -> None:
    rendered = get_template("gpt-oss").render(
        [Q, ChatTurn("assistant", "Yes", reasoning="think")], continue_final=True, options={"today": "2025-01-31"}
    )
    assert rendered.endswith(
        "<|start|>user<|message|>Why?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>Yes"
    )
    assert "Current date: 2025-01-31\n" in rendered


def test_phi35_continue_does_not_glue_the_eos_to_the_header() -> None:
    # llama-server's own prefill gives "...<|end|>\n<|endoftext|>assistant|>\n" here (its common-prefix
    # diff cuts into "<|assistant|>"); the continuation must open a real assistant turn.
    rendered = get_template("phi3.5").render([Q, ChatTurn("assistant", "Be")], continue_final=True)
    assert rendered == "<|user|>\nWhy?<|end|>\n<|assistant|>\nBe"


def test_generation_prompt_follows_the_thinking_option() -> None:
    family = get_template("deepseek-r1")
    assert family.generation_prompt([Q]) == "<｜Assistant｜><think>\n"  # type: ignore[attr-defined]
    off = family.generation_prompt([Q], {"enable_thinking": False})  # type: ignore[attr-defined]
    assert off == "<｜Assistant｜><think>\n</think>"


def test_llama31_date_option() -> None:
    rendered = get_template("llama3.1").render([Q], options={"today": "2024-07-26"})
    assert "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" in rendered


def test_reasoning_of_earlier_answers_is_dropped() -> None:
    conv = [Q, ChatTurn("assistant", "Because", reasoning="secret"), ChatTurn("user", "Sure?")]
    for name in ("qwen3", "qwen3.5", "deepseek-r1", "gpt-oss", "glm-4.6", "gemma4"):
        assert "secret" not in get_template(name).render(conv), name


@pytest.mark.parametrize("name", ["mistral-nemo", "qwen3.5"])
def test_late_system_message_is_refused_like_the_official_template(name: str) -> None:
    conv = [Q, ChatTurn("assistant", "A"), ChatTurn("system", "late"), ChatTurn("user", "B")]
    with pytest.raises(TemplateError, match="only at the start"):
        get_template(name).render(conv)


def test_continue_needs_an_answer_last() -> None:
    with pytest.raises(TemplateError, match="assistant"):
        get_template("gemma4").render([Q], continue_final=True)
