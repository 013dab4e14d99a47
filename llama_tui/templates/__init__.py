"""Prompt templates: the built-in families (pure data and rendering), user templates from config.

The interface every template has (`ChatTemplate`): ``name``, ``description``, ``bos``, ``stops``,
``options`` and ``render(messages, *, add_generation_prompt, continue_final, include_bos, options)``.
"""

from .base import (
    SERVER_TEMPLATE,
    ChatTemplate,
    ChatTurn,
    Continue,
    ReasoningMarkers,
    TemplateError,
    TemplateOption,
    UnknownTemplate,
)
from .builtin import ALIASES, BUILTIN, canonical_name, get_template, template_names
from .classic import PromptTemplate, custom_template
from .family import Family

__all__ = [
    "ALIASES",
    "BUILTIN",
    "SERVER_TEMPLATE",
    "ChatTemplate",
    "ChatTurn",
    "Continue",
    "Family",
    "PromptTemplate",
    "ReasoningMarkers",
    "TemplateError",
    "TemplateOption",
    "UnknownTemplate",
    "canonical_name",
    "custom_template",
    "get_template",
    "template_names",
]
