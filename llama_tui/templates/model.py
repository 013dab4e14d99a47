"""The model's own template as the app knows it from /props: the built-in family it renders like, or
that the GGUF has none (llama-server then falls back to ChatML) and the family its name suggests, and
the options the ``server`` template offers for it (sent as chat_template_kwargs).

`identify` renders the /props template locally (`JinjaTemplate`, about a tenth of a second for the
largest official template: callers run it off the UI thread) and compares it with every built-in family
(`match_family`). Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .base import SERVER_TEMPLATE, TemplateError, TemplateOption, UnknownTemplate
from .builtin import get_template
from .detect import is_server_fallback, match_family, suggest_family

# The options of the `server` template: chat_template_kwargs the model's own template may read. None
# (the default) sends nothing, so the template's own default applies.
SERVER_THINKING = TemplateOption(
    "enable_thinking",
    "bool",
    None,
    "Whether the model reasons before it answers (sent as chat_template_kwargs; default: the template's own)",
)
SERVER_EFFORT = TemplateOption(
    "reasoning_effort",
    "choice",
    None,
    "How long the model reasons (sent as chat_template_kwargs; default: the template's own)",
    choices=("low", "medium", "high"),
)
SERVER_OPTIONS = (SERVER_THINKING, SERVER_EFFORT)

Kind = Literal["family", "own", "fallback", "none", "broken"]


@dataclass(frozen=True)
class ModelTemplate:
    """What the model's own template is.

    kind: "family" (renders like the built-in `family`), "own" (a template no built-in matches),
    "fallback" (the GGUF has no template: the server renders ChatML; `suggested` is a family for it),
    "none" (the server reports no template) or "broken" (it does not compile or render: `error`)."""

    kind: Kind
    family: str | None = None
    suggested: str | None = None
    thinking: bool = False  # the template reacts to enable_thinking (or writes reasoning)
    effort: bool = False  # the template reads reasoning_effort
    error: str = ""

    @property
    def short(self) -> str:
        """A few words for the status bar."""
        if self.kind == "family":
            return f"renders like {self.family}"
        if self.kind == "own":
            return "own template (no built-in match)"
        if self.kind == "fallback":
            looks = f": looks like {self.suggested}" if self.suggested else ""
            return "⚠ no chat template" + looks
        if self.kind == "broken":
            return "⚠ template does not render"
        return ""

    @property
    def detail(self) -> str:
        """A sentence or two for the settings pane and the status bar's tooltip."""
        if self.kind == "family":
            return (
                f"The model's own template renders like the built-in {self.family}: both give the same prompt. "
                f"The built-in one renders without asking the server and keeps reasoning apart exactly."
            )
        if self.kind == "own":
            return (
                "The model's own template renders like none of the built-in families: the `server` template "
                "(rendered by llama-server) is the exact one for this model."
            )
        if self.kind == "fallback":
            text = (
                "No chat template in the model: with the `server` template, llama-server falls back to ChatML, "
                "which the model was probably not trained on."
            )
            if self.suggested:
                text += f" This looks like {self.suggested}: pick it in the settings pane, or press alt+t."
            return text
        if self.kind == "broken":
            return f"The model's own template does not render here: {self.error}"
        return ""

    def server_options(self) -> tuple[TemplateOption, ...]:
        """The options the `server` template offers for this model (only what its template reads)."""
        return tuple(
            option for option, used in ((SERVER_THINKING, self.thinking), (SERVER_EFFORT, self.effort)) if used
        )


def identify(chat_template: str, model: str = "", *, bos_token: str = "", eos_token: str = "") -> ModelTemplate:
    """The model's template from the /props facts: its ``chat_template``, the model's name or path (for a
    suggestion when there is no template) and its BOS/EOS texts."""
    if not chat_template.strip():
        return ModelTemplate("none", suggested=suggest_family(model, bos_token=bos_token, eos_token=eos_token))
    if is_server_fallback(chat_template):
        return ModelTemplate("fallback", suggested=suggest_family(model, bos_token=bos_token, eos_token=eos_token))
    from .jinja import JinjaTemplate  # jinja2 is imported only when a model's template is looked at

    try:
        own = JinjaTemplate("server", chat_template, bos_token=bos_token, eos_token=eos_token)
    except TemplateError as error:
        return ModelTemplate("broken", error=str(error))
    thinking, effort = own.supports_thinking, "reasoning_effort" in chat_template
    family = match_family(own)
    if family is None:
        return ModelTemplate("own", thinking=thinking, effort=effort)
    return ModelTemplate("family", family=family, thinking=thinking, effort=effort)


def template_options(
    template: str, model: ModelTemplate | None, custom: Mapping[str, Any] | None = None
) -> tuple[TemplateOption, ...]:
    """The options a session's template takes: a built-in's or user template's own, or for `server` what
    the model's template reads (nothing while it is not known)."""
    if template == SERVER_TEMPLATE:
        return model.server_options() if model is not None else ()
    try:
        return tuple(get_template(template, custom).options)
    except UnknownTemplate:
        return ()


def describe_options(options: tuple[TemplateOption, ...], values: Mapping[str, object]) -> str:
    """The options in effect, e.g. "enable_thinking: off, today: current date (default)"; "" if none."""
    parts: list[str] = []
    for option in options:
        value = values.get(option.name)
        try:
            value = None if value is None else option.check(value)
        except TemplateError:
            value = None
        if value is None:
            if option.default is None:
                shown = "current date" if option.kind == "date" else "the template's"
            else:
                shown = _word(option.default)
            parts.append(f"{option.name}: {shown} (default)")
        else:
            parts.append(f"{option.name}: {_word(value)}")
    return ", ".join(parts)


def _word(value: object) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)
