"""Pure domain types shared by the store, the templates and the TUI. No I/O, no Textual."""

from __future__ import annotations

import dataclasses
import difflib
import json
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
    Knob(
        "stop",
        list,
        help='Extra stop strings, comma separated; in "double quotes" (JSON escapes) for a comma, spaces at '
        'the ends or a new line: "\\n\\nUser:", END',
    ),
    Knob("samplers", list, help="Sampler order, e.g. top_k, top_p, min_p, temperature."),
)

# The sampler names llama-server accepts in `samplers` (b1-0c1e570; checked one by one). It drops
# any other name without a word, and with none left it samples with no samplers at all.
SAMPLERS: tuple[str, ...] = (
    "penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature", "infill",
    "adaptive_p",
)  # fmt: skip
SAMPLER_ALIASES: dict[str, str] = {
    "top-k": "top_k", "top-p": "top_p", "nucleus": "top_p", "min-p": "min_p", "typ-p": "typ_p", "typ": "typ_p",
    "temp": "temperature", "top-n-sigma": "top_n_sigma",
}  # fmt: skip
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
        return check_list_knob(name, split_list(name, text)) or None
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


def split_list(name: str, text: str) -> list[str]:
    """A comma-separated list as typed: bare items are trimmed and taken as they are; an item in
    double quotes is a JSON string (so it can hold commas, quotes, spaces at its ends, or \\n)."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise SettingError(f'{name}: a quoted item is not closed (missing ")')
            try:
                items.append(json.loads(text[i : j + 1]))
            except json.JSONDecodeError:
                raise SettingError(f"{name}: {text[i : j + 1]} is not a valid quoted string") from None
            i = j + 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] != ",":
                raise SettingError(f"{name}: expected a comma after {text[:i].strip()[-20:]}")
            i += 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            if text[i:end].strip():
                items.append(text[i:end].strip())
            i = end + 1
    return items


def check_list_knob(name: str, values: list[str]) -> list[str]:
    """Refuse what the server would silently ignore: an empty stop string, an unknown sampler."""
    if name == "stop" and any(not v for v in values):
        raise SettingError("stop: a stop string cannot be empty")
    if name == "samplers":
        for v in values:
            if v not in SAMPLERS and v not in SAMPLER_ALIASES:
                close = difflib.get_close_matches(v, [*SAMPLERS, *SAMPLER_ALIASES], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SettingError(f"samplers: unknown sampler {v!r}{hint}; known: {', '.join(SAMPLERS)}")
    return values


def _list_item(value: str) -> str:
    plain = value == value.strip() and value and not any(c in value for c in ',"\\') and value.isprintable()
    return value if plain else json.dumps(value, ensure_ascii=False)


def format_knob(value: Any) -> str:
    """The text shown in an input for a knob value (inverse of parse_knob)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_list_item(str(v)) for v in value)
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
