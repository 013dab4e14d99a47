"""Pure domain types shared by the store, the templates and the TUI. No I/O, no Textual."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]

# What became of an assistant answer. "streaming" is only ever seen in the store if the app died
# mid-stream; on the next start it is shown as interrupted.
MessageState = Literal["complete", "streaming", "interrupted", "error"]


@dataclass(frozen=True)
class Knob:
    """One sampling parameter llama-server's /completion accepts, with its valid range."""

    name: str
    kind: type  # int, float, list (of str)
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


# Every knob the settings pane edits, in display order. Names are the /completion field names.
KNOBS: tuple[Knob, ...] = (
    Knob("temperature", float, 0.0, 10.0, "Randomness; 0 is greedy."),
    Knob("top_k", int, 0, 1_000_000, "Keep the K most likely tokens; 0 disables."),
    Knob("top_p", float, 0.0, 1.0, "Nucleus sampling; 1.0 disables."),
    Knob("min_p", float, 0.0, 1.0, "Drop tokens below min_p x the top probability; 0 disables."),
    Knob("typical_p", float, 0.0, 1.0, "Locally typical sampling; 1.0 disables."),
    Knob("repeat_penalty", float, 0.0, 10.0, "Penalise repeated tokens; 1.0 disables."),
    Knob("repeat_last_n", int, -1, 1_000_000, "Tokens considered for repeat penalty; -1 = context."),
    Knob("presence_penalty", float, -2.0, 2.0, "Penalise tokens already present; 0 disables."),
    Knob("frequency_penalty", float, -2.0, 2.0, "Penalise by token frequency; 0 disables."),
    Knob("dry_multiplier", float, 0.0, 10.0, "DRY repetition penalty strength; 0 disables."),
    Knob("dry_base", float, 1.0, 10.0, "DRY exponential base."),
    Knob("dry_allowed_length", int, 0, 1_000_000, "DRY: repeats up to this length are free."),
    Knob("xtc_probability", float, 0.0, 1.0, "XTC: chance of removing top choices; 0 disables."),
    Knob("xtc_threshold", float, 0.0, 1.0, "XTC: probability threshold; > 0.5 disables."),
    Knob("mirostat", int, 0, 2, "Mirostat mode: 0 off, 1 or 2."),
    Knob("mirostat_tau", float, 0.0, 100.0, "Mirostat target entropy."),
    Knob("mirostat_eta", float, 0.0, 1.0, "Mirostat learning rate."),
    Knob("n_predict", int, -1, 10_000_000, "Max tokens to generate; -1 = until stop."),
    Knob("seed", int, -1, 2**32 - 1, "RNG seed; -1 = random."),
    Knob("n_probs", int, 0, 100, "Return the top N token probabilities; 0 disables."),
    Knob("stop", list, help="Extra stop strings, comma separated."),
    Knob("samplers", list, help="Sampler order, e.g. top_k, top_p, min_p, temperature."),
)
KNOBS_BY_NAME: dict[str, Knob] = {k.name: k for k in KNOBS}


class SettingError(ValueError):
    """A knob value the user typed is invalid; the message says why, in plain words."""


def parse_knob(name: str, text: str) -> Any:
    """Parse what the user typed for knob `name`. Empty text means "server default" (None)."""
    knob = KNOBS_BY_NAME[name]
    text = text.strip()
    if not text:
        return None
    if knob.kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        value: float | int = int(text) if knob.kind is int else float(text)
    except ValueError:
        kind = "a whole number" if knob.kind is int else "a number"
        raise SettingError(f"{name} must be {kind}, not {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingError(f"{name} must be a finite number")
    if knob.minimum is not None and value < knob.minimum:
        raise SettingError(f"{name} must be at least {knob.minimum:g}")
    if knob.maximum is not None and value > knob.maximum:
        raise SettingError(f"{name} must be at most {knob.maximum:g}")
    return value


def format_knob(value: Any) -> str:
    """The text shown in an input for a knob value (inverse of parse_knob)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


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
        """The /completion parameters these settings add to a request."""
        return {k: v for k, v in self.values.items() if v is not None and v != []}

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


def default_title(text: str, limit: int = 48) -> str:
    """A session title from the first user message: first line, whitespace folded, trimmed."""
    first = " ".join(text.strip().split("\n", 1)[0].split())
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0] or first[: limit - 1]
    return cut + "…"
