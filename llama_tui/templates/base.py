"""What every prompt template shares: the message type it takes, its options, its errors, and the
`ChatTemplate` protocol that the built-in families, user templates and local Jinja templates implement.

The rules every implementation keeps (checked against llama-server, see tests/integration/templates/):

* BOS: llama-server adds the model's BOS token when it tokenizes a /completion prompt, so ``render``
  leaves the template's leading BOS text off unless ``include_bos=True``.
* Continue (``continue_final``): the last message is an unfinished answer; the prompt ends inside it,
  as llama-server's own assistant prefill does: the conversation before it, the generation prompt, and
  the answer's text verbatim. Templates that open a reasoning block in the generation prompt get that
  block closed and empty first (or, with ``continue_final="reasoning"``, the answer's reasoning left open).
* Reasoning given with earlier answers is dropped: every official template drops the reasoning of answers
  that come before the last user message.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

SERVER_TEMPLATE = "server"  # rendered by llama-server's /apply-template; the client handles it

ROLES = ("system", "user", "assistant")

# How the last (assistant) message is continued: True picks "reasoning" when the message has reasoning
# and no content yet, else "content" (llama-server's rule); False renders a finished conversation.
Continue = bool | Literal["content", "reasoning"]

OptionValue = bool | str


class TemplateError(ValueError):
    """A template definition, an option, or a conversation a template cannot render."""


class UnknownTemplate(KeyError):
    """No template by that name; the message lists the valid names."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the plain message instead.
        return str(self.args[0]) if self.args else ""


class _HasRoleContent(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


TurnLike = _HasRoleContent | Mapping[str, Any]


@dataclass(frozen=True)
class ChatTurn:
    """The message `render` takes (it also takes domain.ChatMessage or role/content dicts).

    ``reasoning`` is the answer's reasoning (thinking) text, kept apart from its content; templates use it
    only for the message being continued."""

    role: str  # "system" | "user" | "assistant"
    content: str
    reasoning: str = ""


def to_turns(messages: Iterable[TurnLike]) -> list[ChatTurn]:
    """Validate and normalise messages: known roles, text content (reasoning optional)."""
    out: list[ChatTurn] = []
    for msg in messages:
        if isinstance(msg, Mapping):
            role, content = msg.get("role"), msg.get("content")
            reasoning = msg.get("reasoning", msg.get("reasoning_content")) or ""
        else:
            role, content = msg.role, msg.content
            reasoning = getattr(msg, "reasoning", "") or ""
        if role not in ROLES:
            raise TemplateError(f"unsupported message role {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise TemplateError(f"message content must be text, not {type(content).__name__}")
        if not isinstance(reasoning, str):
            raise TemplateError(f"message reasoning must be text, not {type(reasoning).__name__}")
        out.append(ChatTurn(role, content, reasoning))
    return out


def split_continue(turns: list[ChatTurn], continue_final: Continue) -> tuple[list[ChatTurn], ChatTurn, bool]:
    """(history, the answer being continued, whether its reasoning is left open)."""
    if not turns or turns[-1].role != "assistant":
        raise TemplateError("continue_final needs an assistant message at the end of the conversation")
    last = turns[-1]
    if continue_final is True:
        open_reasoning = bool(last.reasoning) and not last.content
    else:
        open_reasoning = continue_final == "reasoning"
    return turns[:-1], last, open_reasoning


@dataclass(frozen=True)
class TemplateOption:
    """A setting a template takes (a chat template kwarg), e.g. enable_thinking.

    kind "bool" takes True/False; "choice" one of ``choices``; "date" an ISO date "YYYY-MM-DD", where the
    default None means today's local date, as llama-server uses."""

    name: str
    kind: Literal["bool", "choice", "date"]
    default: OptionValue | None
    help: str
    choices: tuple[str, ...] = ()

    def check(self, value: object) -> OptionValue:
        """The value, validated; TemplateError says what is wrong."""
        where = f"option {self.name!r}"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise TemplateError(f"{where} must be true or false, not {value!r}")
            return value
        if not isinstance(value, str):
            raise TemplateError(f"{where} must be text, not {type(value).__name__}")
        if self.kind == "choice" and value not in self.choices:
            raise TemplateError(f"{where} must be one of {', '.join(self.choices)}, not {value!r}")
        if self.kind == "date":
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                raise TemplateError(f"{where} must be a date like 2025-01-31, not {value!r}") from None
        return value


def resolve_options(
    declared: tuple[TemplateOption, ...], given: Mapping[str, object] | None, template: str
) -> dict[str, OptionValue | None]:
    """Every declared option's value: the given one (validated) or its default. Unknown names are refused."""
    known = {opt.name: opt for opt in declared}
    for name in given or {}:
        if name not in known:
            valid = ", ".join(known) or "none"
            raise TemplateError(f"template {template!r} has no option {name!r}; its options are: {valid}")
    values: dict[str, OptionValue | None] = {}
    for opt in declared:
        raw = (given or {}).get(opt.name)
        values[opt.name] = opt.default if raw is None else opt.check(raw)
    return values


def option_date(value: OptionValue | None) -> datetime.date:
    """A "date" option's value as a date: the given ISO date, or today (local time, like llama-server)."""
    if isinstance(value, str) and value:
        return datetime.date.fromisoformat(value)
    return datetime.date.today()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day_month_year(day: datetime.date) -> str:
    """strftime("%d %b %Y") in the C locale ("02 Dec 2026"), whatever the process locale is."""
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class ReasoningMarkers:
    """How a template writes a reasoning block (as llama-server's prefill writes it back): a model's output
    after a generation prompt that ends with ``start`` begins inside the block, which ``end`` closes."""

    start: str  # e.g. "<think>\n"
    end: str  # e.g. "\n</think>\n\n"


class ChatTemplate(Protocol):
    """A prompt format: turns a conversation into the raw text sent to /completion."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str:
        """One line: which models (and versions) this format is for."""
        ...

    @property
    def bos(self) -> str:
        """The BOS text the official rendering starts with ("" if none); render() leaves it off."""
        ...

    @property
    def stops(self) -> tuple[str, ...]:
        """Stop strings to send with a completion: the end-of-turn markers of the format."""
        ...

    @property
    def options(self) -> tuple[TemplateOption, ...]:
        """The settings render() takes in ``options`` (empty for most formats)."""
        ...

    @property
    def reasoning(self) -> ReasoningMarkers | None:
        """The reasoning block's markers, None for formats without one."""
        ...

    def render(
        self,
        messages: Iterable[TurnLike],
        *,
        add_generation_prompt: bool = True,
        continue_final: Continue = False,
        include_bos: bool = False,
        options: Mapping[str, object] | None = None,
    ) -> str: ...


def strip_bos(body: str, bos: str, include_bos: bool) -> str:
    """The BOS rule: the leading BOS text only when asked for (never doubled)."""
    if bos and body.startswith(bos):
        body = body[len(bos) :]
    return (bos if include_bos else "") + body
