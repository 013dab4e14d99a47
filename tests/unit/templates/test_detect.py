"""Which template the model has: family matching, llama-server's fallback, suggestions by name."""

from __future__ import annotations

import pytest

from llama_tui.templates import BUILTIN, get_template
from llama_tui.templates.detect import SERVER_FALLBACK_TEMPLATE, is_server_fallback, match_family, suggest_family
from llama_tui.templates.jinja import JinjaTemplate

LLAMA3_SOURCE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


def test_the_fallback_is_recognised_and_renders_chatml() -> None:
    assert is_server_fallback(SERVER_FALLBACK_TEMPLATE)
    assert not is_server_fallback(SERVER_FALLBACK_TEMPLATE + " ")
    assert match_family(JinjaTemplate("fallback", SERVER_FALLBACK_TEMPLATE)) == "chatml"


def test_match_family_finds_the_original_llama3() -> None:
    template = JinjaTemplate("model", LLAMA3_SOURCE, bos_token="<|begin_of_text|>")
    assert match_family(template) == "llama3"


def test_match_family_none_for_an_unknown_format() -> None:
    assert (
        match_family(JinjaTemplate("odd", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}")) is None
    )


def test_match_family_none_when_the_template_refuses_the_probes() -> None:
    assert match_family(JinjaTemplate("strict", "{{ raise_exception('never') }}")) is None


def test_a_family_matches_itself() -> None:
    for name in ("gemma3", "qwen3.5", "gpt-oss", "mistral-nemo"):
        assert match_family(get_template(name), [get_template(name)]) == name


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("/models/gemma-3-270m-q4_k_m.gguf", "gemma3"),
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "llama3.1"),
        ("Llama-3.3-70B-Instruct", "llama3.1"),
        ("Meta-Llama-3-8B-Instruct.Q8_0.gguf", "llama3"),
        ("Qwen3.5-4B-Q4_K_M.gguf", "qwen3.5"),
        ("Qwen3-30B-A3B", "qwen3"),
        ("qwen2.5-7b-instruct-q4_k_m.gguf", "qwen2.5"),
        ("gpt-oss-20b-mxfp4.gguf", "gpt-oss"),
        ("DeepSeek-R1-Distill-Qwen-7B-Q4.gguf", "deepseek-r1"),
        ("Mistral-Nemo-Instruct-2407.gguf", "mistral-nemo"),
        ("Mistral-Small-3.2-24B-Instruct-2506", "mistral-small3"),
        ("phi-4-Q4_K_M.gguf", "phi4"),
        ("Phi-3.5-mini-instruct", "phi3.5"),
        ("GLM-4.7-Flash", "glm-4.7"),
        ("granite-4.0-h-tiny", "granite-4.0"),
        ("gemma-4-31b-it", "gemma4"),
    ],
)
def test_suggest_family_by_name(model: str, family: str) -> None:
    assert suggest_family(model) == family
    assert family in BUILTIN


def test_suggest_family_by_tokens_then_none() -> None:
    assert suggest_family("model.gguf", bos_token="<bos>", eos_token="<eos>") == "gemma3"
    assert suggest_family("model.gguf", bos_token="<|begin_of_text|>") == "llama3.1"
    assert suggest_family("model.gguf", bos_token="<s>", eos_token="</s>") is None
