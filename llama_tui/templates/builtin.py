"""The built-in templates by name, the names that stay valid for old sessions and configs, and lookup
of built-in and user templates.

Old names: ``gemma`` is now ``gemma3`` and ``phi3`` is now ``phi3.5`` (same formats, checked against the
official templates); ``chatml``, ``llama3``, ``llama2``, ``mistral``, ``alpaca`` and ``raw`` keep their
names and formats (``llama3`` is the original Llama 3; Llama 3.1-3.3 are ``llama3.1``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import SERVER_TEMPLATE, ChatTemplate, UnknownTemplate
from .classic import ALPACA, CHATML, LLAMA2, LLAMA3, MISTRAL, RAW
from .families_plain import (
    GEMMA2,
    GEMMA3,
    GRANITE40,
    GRANITE41,
    LLAMA31,
    MISTRAL_NEMO,
    MISTRAL_SMALL3,
    PHI4,
    PHI35,
    QWEN25,
)
from .families_reasoning import (
    DEEPSEEK_R1,
    DEEPSEEK_V31,
    DEEPSEEK_V32,
    GEMMA4,
    GLM46,
    GLM47,
    GPT_OSS,
    QWEN3,
    QWEN35,
)

# Display order: the common generic format, then families roughly by how often they are run.
_ORDER: tuple[ChatTemplate, ...] = (
    CHATML,
    LLAMA31,
    LLAMA3,
    QWEN3,
    QWEN35,
    QWEN25,
    GEMMA3,
    GEMMA4,
    GEMMA2,
    MISTRAL_SMALL3,
    MISTRAL_NEMO,
    MISTRAL,
    GPT_OSS,
    DEEPSEEK_R1,
    DEEPSEEK_V31,
    DEEPSEEK_V32,
    PHI4,
    PHI35,
    GLM46,
    GLM47,
    GRANITE40,
    GRANITE41,
    LLAMA2,
    ALPACA,
    RAW,
)
BUILTIN: dict[str, ChatTemplate] = {t.name: t for t in _ORDER}

# Names from earlier versions (stored in sessions and configs) -> the family that now renders them.
ALIASES: dict[str, str] = {"gemma": "gemma3", "phi3": "phi3.5"}


def template_names() -> list[str]:
    """Every selectable template name in display order: the server's own template first."""
    return [SERVER_TEMPLATE, *BUILTIN]


def canonical_name(name: str) -> str:
    """The current name for `name` (an old alias becomes its family's name; other names are unchanged)."""
    return ALIASES.get(name, name)


def get_template(name: str, custom: Mapping[str, ChatTemplate] | None = None) -> ChatTemplate:
    """A built-in or user-defined template; user templates from config shadow built-ins and aliases."""
    if custom and name in custom:
        return custom[name]
    if canonical_name(name) in BUILTIN:
        return BUILTIN[canonical_name(name)]
    valid = ", ".join([*BUILTIN, *(n for n in (custom or {}) if n not in BUILTIN)])
    if name == SERVER_TEMPLATE:
        raise UnknownTemplate(
            f"{name!r} is rendered by llama-server (/apply-template), not locally; local templates are: {valid}"
        )
    raise UnknownTemplate(f"unknown prompt template {name!r}; valid names are: {SERVER_TEMPLATE}, {valid}")
