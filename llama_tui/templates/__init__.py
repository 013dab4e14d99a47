"""Prompt templates: the built-in families (pure data and rendering), user templates from config."""

from .builtin import (
    BUILTIN,
    SERVER_TEMPLATE,
    ChatTurn,
    PromptTemplate,
    TemplateError,
    UnknownTemplate,
    custom_template,
    get_template,
    template_names,
)

__all__ = [
    "BUILTIN",
    "SERVER_TEMPLATE",
    "ChatTurn",
    "PromptTemplate",
    "TemplateError",
    "UnknownTemplate",
    "custom_template",
    "get_template",
    "template_names",
]
