"""Which template does the model have: the built-in family that renders like the model's own template,
and, when the GGUF has none, a family suggested from the model's name and its BOS/EOS tokens.

When a GGUF carries no chat template, llama-server falls back to ChatML: /props ``chat_template`` is
then exactly `SERVER_FALLBACK_TEMPLATE` (common/chat.cpp, CHATML_TEMPLATE_SRC: the newlines inside its
quoted strings are real newlines), which is how a client
tells "no template" from a model whose own template is ChatML (those never have this exact text).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .base import ChatTemplate, ChatTurn, TemplateError
from .builtin import BUILTIN

SERVER_FALLBACK_TEMPLATE = (
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\n' -}}\n"
    "{%- endif -%}"
)

# Conversations that tell the families apart: a system prompt, several turns, spaces to trim, a
# conversation without system prompt, and a continued answer.
PROBES: tuple[tuple[ChatTurn, ...], ...] = (
    (
        ChatTurn("system", "You are terse."),
        ChatTurn("user", " Hi "),
        ChatTurn("assistant", "Hello!"),
        ChatTurn("user", "Tell me a joke."),
    ),
    (ChatTurn("user", "What is 2+2?"), ChatTurn("assistant", "4"), ChatTurn("user", "And 3+3?")),
    (ChatTurn("user", "Write a haiku."), ChatTurn("assistant", "Autumn moon")),
)


def is_server_fallback(chat_template: str) -> bool:
    """True when /props ``chat_template`` is llama-server's ChatML fallback: the GGUF has no template."""
    return chat_template == SERVER_FALLBACK_TEMPLATE


def match_family(model_template: ChatTemplate, candidates: Iterable[ChatTemplate] | None = None) -> str | None:
    """The name of the first built-in family that renders every probe exactly as `model_template` does
    (e.g. a `JinjaTemplate` of the /props template), with default options; None if none does."""
    try:
        wanted = [_render(model_template, probe) for probe in PROBES]
    except TemplateError:
        return None
    for family in candidates if candidates is not None else BUILTIN.values():
        try:
            if all(_render(family, probe) == text for probe, text in zip(PROBES, wanted, strict=True)):
                return family.name
        except TemplateError:
            continue
    return None


def _render(template: ChatTemplate, probe: tuple[ChatTurn, ...]) -> str:
    # With the BOS text: whether the model adds BOS itself (so render() leaves it off) is not the question.
    return template.render(probe, continue_final=probe[-1].role == "assistant", include_bos=True)


# Model names (file name, alias or path) -> family, most specific first.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"llama[-_ ]?3[._-]?[123]\b|llama[-_ ]?3[._-][123]", "llama3.1"),
    (r"llama[-_ ]?3", "llama3"),
    (r"llama[-_ ]?2", "llama2"),
    (r"qwen[-_ ]?3[._-]?5", "qwen3.5"),
    (r"qwen[-_ ]?3|qwq", "qwen3"),
    (r"qwen[-_ ]?2", "qwen2.5"),
    (r"deepseek[-_ ]?r1", "deepseek-r1"),
    (r"deepseek[-_ ]?v3[._-]?2", "deepseek-v3.2"),
    (r"deepseek[-_ ]?v3", "deepseek-v3.1"),
    (r"gemma[-_ ]?4", "gemma4"),
    (r"gemma[-_ ]?3", "gemma3"),
    (r"gemma[-_ ]?2", "gemma2"),
    (r"gemma", "gemma3"),
    (r"mistral[-_ ]?nemo", "mistral-nemo"),
    (r"mistral[-_ ]?small", "mistral-small3"),
    (r"mistral", "mistral"),
    (r"gpt[-_ ]?oss", "gpt-oss"),
    (r"phi[-_ ]?4[-_ ]?mini", "phi3.5"),
    (r"phi[-_ ]?4", "phi4"),
    (r"phi[-_ ]?3", "phi3.5"),
    (r"glm[-_ ]?4[._-]?7", "glm-4.7"),
    (r"glm[-_ ]?4[._-]?[56]", "glm-4.6"),
    (r"granite[-_ ]?4[._-]?1", "granite-4.1"),
    (r"granite[-_ ]?4", "granite-4.0"),
)

# BOS/EOS token texts (the /props facts) -> family, when the name says nothing.
_TOKEN_RULES: tuple[tuple[str, str], ...] = (
    ("<|begin_of_text|>", "llama3.1"),
    ("<bos>", "gemma3"),
    ("<｜begin▁of▁sentence｜>", "deepseek-r1"),
    ("<|im_end|>", "chatml"),
    ("<|endoftext|>", "chatml"),
)


def suggest_family(model: str, *, bos_token: str = "", eos_token: str = "") -> str | None:
    """A family for a model whose GGUF has no chat template: from its name or path (e.g.
    "gemma-3-270m-q4_k_m.gguf" -> "gemma3"), else from its BOS/EOS texts; None when nothing fits."""
    name = model.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for pattern, family in _NAME_RULES:
        if re.search(pattern, name):
            return family
    for token, family in _TOKEN_RULES:
        if token in (bos_token, eos_token):
            return family
    return None
