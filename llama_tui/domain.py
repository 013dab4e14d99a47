"""Pure domain types shared by the store, the templates and the TUI. No I/O, no Textual.
The knobs themselves (names, kinds, ranges, parsing) are in knobs.py."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .knobs import KNOBS_BY_NAME, SettingError, wire_params

Role = Literal["system", "user", "assistant"]

# What became of an assistant answer. "streaming" is only ever seen in the store if the app died
# mid-stream; on the next start it is shown as interrupted.
MessageState = Literal["complete", "streaming", "interrupted", "error"]


@dataclass
class SamplingSettings:
    """Per-session overrides of the server's sampling defaults. Only values set here are sent;
    everything else is left to the server's own defaults (shown from /props)."""

    values: dict[str, Any] = field(default_factory=dict)

    def set(self, name: str, value: Any) -> None:
        if name not in KNOBS_BY_NAME:
            raise SettingError(f"unknown setting {name!r}")
        if value is None:
            self.values.pop(name, None)
        else:
            self.values[name] = value

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def to_params(self) -> dict[str, Any]:
        """The /completion parameters these settings add to a request (in the server's format:
        the schema as an object, the bias as [text, bias] pairs)."""
        return wire_params(self.values)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SamplingSettings:
        return cls({k: v for k, v in (data or {}).items() if k in KNOBS_BY_NAME and v is not None})

    def copy(self) -> SamplingSettings:
        return SamplingSettings(dict(self.values))


@dataclass
class ChatMessage:
    """One turn of a conversation. Messages form a tree through parent_id, so that edits and
    regenerations keep the old branch as an alternative; a session shows the path to its head."""

    role: Role
    content: str
    id: int | None = None
    session_id: int | None = None
    parent_id: int | None = None
    created_at: float = 0.0
    state: MessageState = "complete"
    # Assistant answers only: what the server reported and what was asked.
    timings: dict[str, Any] | None = None  # llama-server's `timings` object, as received
    stop_type: str | None = None  # eos | limit | word | none
    stopping_word: str | None = None
    truncated: bool = False
    tokens_cached: int | None = None
    ttft_ms: float | None = None  # client-side time to first token
    settings: dict[str, Any] | None = None  # the /completion parameters used
    error: str | None = None  # the server's or client's message when state == "error"
    reasoning: str | None = None  # <think> content, stored but not resent by default
    probs: list[dict[str, Any]] | None = None  # completion_probabilities when n_probs > 0
    # What the answer carries beyond the server's figures, e.g. {"reasoning_tokens": 120,
    # "reasoning_s": 2.1, "answer_tokens": 40, "answer_s": 0.6, "edited": true}.
    meta: dict[str, Any] | None = None

    def replace(self, **changes: Any) -> ChatMessage:
        return dataclasses.replace(self, **changes)


@dataclass
class Session:
    """A conversation and everything needed to continue it exactly as it was."""

    title: str = ""
    id: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    template: str = "server"  # a name from llama_tui.templates, or a user template from config
    system_prompt: str = ""
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    draft: str = ""
    head_id: int | None = None  # the message at the end of the active path
    pinned: bool = False
    server: str | None = None  # server profile name or URL this session talks to
    model: str | None = None
    # The template's options for this session (e.g. {"enable_thinking": false}); empty = defaults.
    template_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSummary:
    """What the sidebar needs of a session: cheap to list by the thousand."""

    id: int
    title: str
    updated_at: float
    pinned: bool = False
    message_count: int = 0


# What works when a conversation no longer fits the context (regenerating fails the same way).
CONTEXT_OVERFLOW_ADVICE = (
    "Fork from an earlier message (alt+↑, then f on it), shorten your message, or start a new session (ctrl+n)."
)


def default_title(text: str, limit: int = 48) -> str:
    """A session title from the first user message: first line, whitespace folded, trimmed."""
    first = " ".join(text.strip().split("\n", 1)[0].split())
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0] or first[: limit - 1]
    return cut + "…"
