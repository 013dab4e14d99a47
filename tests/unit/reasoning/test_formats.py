"""Reasoning formats: which one a family or a rendered prompt uses, and where the output starts.
The generation prompts below are the ends of the official templates' renderings (the integration
tier checks them against the real files through llama-server)."""

from __future__ import annotations

import pytest

from llama_tui.reasoning import (
    FAMILIES,
    FORMATS,
    GEMMA4,
    HARMONY,
    MISTRAL,
    THINK,
    ReasoningFormat,
    Resend,
    Start,
    format_for,
    resend_policy,
    start_for,
)

USER = "<|im_start|>user\nhi<|im_end|>\n"


@pytest.mark.parametrize(
    ("fmt", "prompt", "start"),
    [
        (THINK, USER + "<|im_start|>assistant\n", Start.OUTSIDE),  # Qwen3, thinking on
        (THINK, USER + "<|im_start|>assistant\n<think>\n\n</think>\n\n", Start.ANSWER),  # Qwen3/3.5 off
        (THINK, USER + "<|im_start|>assistant\n<think>\n", Start.REASONING),  # Qwen3.5 on
        (THINK, "<｜User｜>hi<｜Assistant｜><think>\n", Start.REASONING),  # DeepSeek-R1 distills
        (THINK, "<｜User｜>hi<｜Assistant｜><think></think>", Start.ANSWER),  # DeepSeek V3.1 off
        (THINK, "<｜User｜>hi<｜Assistant｜></think>", Start.ANSWER),  # DeepSeek V4 off
        (THINK, "[gMASK]<sop><|user|>hi<|assistant|><think>", Start.REASONING),  # GLM-4.7
        (THINK, "[gMASK]<sop><|user|>\nhi<|assistant|>", Start.OUTSIDE),  # GLM-4.6
        (THINK, "<|im_start|>user\nwhat does <think> do?<|im_end|>\n<|im_start|>assistant\n", Start.OUTSIDE),
        (GEMMA4, "<|turn>user\nhi<turn|>\n<|turn>model\n", Start.OUTSIDE),  # thinking on
        (GEMMA4, "<|turn>user\nhi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>", Start.ANSWER),  # off
        (GEMMA4, "<|turn>model\n<|channel>thought\n", Start.REASONING),  # continuing a thought
        (MISTRAL, "[INST]hi[/INST]", Start.OUTSIDE),
        (MISTRAL, "[INST]hi[/INST][THINK]", Start.REASONING),
        (HARMONY, "<|start|>user<|message|>hi<|end|><|start|>assistant", Start.OUTSIDE),
        (HARMONY, "<|start|>assistant<|channel|>analysis<|message|>so far", Start.REASONING),
        (HARMONY, "<|start|>assistant<|channel|>final<|message|>so far", Start.ANSWER),
        (HARMONY, "<|start|>assistant<|channel|>commentary to=functions.f<|message|>{", Start.ANSWER),
        (HARMONY, "<|start|>assistant<|channel|>analysis<|message|>done<|end|>", Start.OUTSIDE),
        (  # a user quoting a header: only the message being generated counts
            HARMONY,
            "<|start|>user<|message|>say <|start|>assistant<|channel|>analysis<|message|><|end|><|start|>assistant",
            Start.OUTSIDE,
        ),
    ],
)
def test_start_is_read_from_the_prompt_tail(fmt: ReasoningFormat, prompt: str, start: Start) -> None:
    assert start_for(fmt, prompt) is start


@pytest.mark.parametrize(
    ("family", "prompt", "fmt"),
    [
        ("qwen3.5", "", THINK),
        ("Qwen3", "", THINK),
        ("gpt-oss", "", HARMONY),
        ("gemma4", "", GEMMA4),
        ("magistral", "", MISTRAL),
        ("chatml", USER + "<|im_start|>assistant\n", THINK),  # no family entry: a leading <think> still counts
        (None, "", THINK),
        (None, "<|start|>user<|message|>hi<|end|><|start|>assistant", HARMONY),  # the model's own template
        (None, "<|turn>user\nhi<turn|>\n<|turn>model\n", GEMMA4),
        (None, "<|turn>user\nhi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>", GEMMA4),
        (None, "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n", THINK),  # Gemma 3
        (None, "[SYSTEM_PROMPT]Think in [THINK]...[/THINK][/SYSTEM_PROMPT][INST]hi[/INST]", MISTRAL),
        (None, "[INST]hi[/INST]", THINK),  # Mistral without reasoning
    ],
)
def test_format_from_family_or_prompt(family: str | None, prompt: str, fmt: ReasoningFormat) -> None:
    assert format_for(family, prompt) is fmt


def test_resend_policy_per_family() -> None:
    assert resend_policy("qwen3.5") is Resend.NEVER
    assert resend_policy("GLM4.7") is Resend.ALWAYS
    assert resend_policy("deepseek-v4") is Resend.ALWAYS
    assert resend_policy("gpt-oss") is Resend.NEVER
    assert resend_policy("llama3") is Resend.NEVER
    assert resend_policy(None) is Resend.NEVER


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))
def test_each_format_is_consistent(fmt: ReasoningFormat) -> None:
    """What stop-thinking appends closes the block; a rebuilt output opens it with the marker; the
    closing marker reaches the client (it is in preserved_tokens, or llama.cpp always shows it)."""
    assert fmt.close in fmt.stop_text
    assert fmt.open_text.startswith(fmt.open)
    assert fmt.close in fmt.preserved_tokens
    assert all(f[0] in FORMATS.values() for f in FAMILIES.values())
