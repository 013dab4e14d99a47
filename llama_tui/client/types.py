"""Typed results of the llama.cpp client. Unknown JSON fields are tolerated and kept in `raw`.

Every field is read defensively: the server's JSON is untrusted, so a wrong type, NaN, Infinity or
a 400-digit integer where a number belongs gives the field's default, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Counts beyond this are not real (and would not fit SQLite's INTEGER).
_INT_LIMIT = 2**63


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value if -_INT_LIMIT < value < _INT_LIMIT else default
    if isinstance(value, float) and math.isfinite(value) and -_INT_LIMIT < value < _INT_LIMIT:
        return int(value)
    return default


def _float(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    try:
        result = float(value)  # a huge int overflows
    except OverflowError:
        return default
    return result if math.isfinite(result) else default


def finite_json(value: Any, depth: int = 0) -> Any:
    """A copy of parsed JSON with every number that cannot be stored and shown safely (NaN,
    Infinity, integers beyond 2**63) replaced by None, and nesting beyond 32 levels dropped.
    Used on what the client hands on to be stored (timings, settings, probabilities)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -_INT_LIMIT < value < _INT_LIMIT else None
    if isinstance(value, dict | list):
        if depth >= 32:
            return None
        if isinstance(value, list):
            return [finite_json(v, depth + 1) for v in value]
        return {k: finite_json(v, depth + 1) for k, v in value.items()}
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Timings:
    """The server's own timings of one completion: the honest source of tokens/second."""

    prompt_n: int = 0
    prompt_ms: float = 0.0
    prompt_per_token_ms: float = 0.0
    prompt_per_second: float = 0.0
    predicted_n: int = 0
    predicted_ms: float = 0.0
    predicted_per_token_ms: float = 0.0
    predicted_per_second: float = 0.0
    cache_n: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timings:
        data = finite_json(data)
        return cls(
            prompt_n=_int(data.get("prompt_n")),
            prompt_ms=_float(data.get("prompt_ms")),
            prompt_per_token_ms=_float(data.get("prompt_per_token_ms")),
            prompt_per_second=_float(data.get("prompt_per_second")),
            predicted_n=_int(data.get("predicted_n")),
            predicted_ms=_float(data.get("predicted_ms")),
            predicted_per_token_ms=_float(data.get("predicted_per_token_ms")),
            predicted_per_second=_float(data.get("predicted_per_second")),
            cache_n=_int(data.get("cache_n")),
            raw=data,
        )


@dataclass(slots=True)  # not frozen: one per token on the hot path, and frozen costs 3x to build
class TokenEvent:
    """A piece of generated text (one or more tokens)."""

    content: str
    tokens: list[int]
    probs: list[dict[str, Any]] | None = None  # completion_probabilities, when n_probs > 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Prompt processing progress (`return_progress`): processed of total prompt tokens."""

    total: int
    processed: int
    cache: int
    time_ms: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def fraction(self) -> float:
        todo = self.total - self.cache
        return 1.0 if todo <= 0 else min(1.0, max(0.0, (self.processed - self.cache) / todo))


@dataclass(frozen=True, slots=True)
class FinalEvent:
    """The last event of a completion (`stop: true`), with why it stopped and its timings."""

    stop_type: str  # eos | limit | word | none
    stopping_word: str
    truncated: bool
    tokens_cached: int
    tokens_evaluated: int
    tokens_predicted: int
    timings: Timings | None
    ttft_ms: float | None  # client-side: request sent -> first token received
    id_slot: int | None = None
    model: str | None = None
    prompt: str | None = None  # the server's echo of the prompt it used
    generation_settings: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any], ttft_ms: float | None) -> FinalEvent:
        timings = data.get("timings")
        slot = data.get("id_slot")
        settings = data.get("generation_settings")
        return cls(
            stop_type=_str(data.get("stop_type")) or "none",
            stopping_word=_str(data.get("stopping_word")),
            truncated=bool(data.get("truncated", False)),
            tokens_cached=_int(data.get("tokens_cached")),
            tokens_evaluated=_int(data.get("tokens_evaluated")),
            tokens_predicted=_int(data.get("tokens_predicted")),
            timings=Timings.from_json(timings) if isinstance(timings, dict) else None,
            ttft_ms=ttft_ms,
            id_slot=slot if isinstance(slot, int) and not isinstance(slot, bool) and -1 <= slot < 2**31 else None,
            model=data.get("model") if isinstance(data.get("model"), str) else None,
            prompt=data.get("prompt") if isinstance(data.get("prompt"), str) else None,
            generation_settings=finite_json(settings) if isinstance(settings, dict) else {},
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class KeepAliveEvent:
    """The server sent a keep-alive (an SSE comment such as `: ping`) and no text. Lets a UI show
    that the request is alive and for how long it has waited, while no token has come."""

    elapsed_s: float  # since the request was sent
    pings: int  # keep-alives seen so far in this stream


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """The request failed before any byte of an answer and will be sent again after `delay_s`
    seconds (e.g. 429 with Retry-After). Yielded by stream_completion before it waits."""

    reason: str  # what failed, in plain words, e.g. "rate limited (429)"
    delay_s: float
    attempt: int  # 1 for the first retry
    max_retries: int
    error: Any = field(default=None, compare=False, repr=False)  # the LlamaError that caused it

    def describe(self) -> str:
        """E.g. 'rate limited (429): retrying in 120 s (retry 1 of 2)'."""
        return f"{self.reason}: retrying in {self.delay_s:.0f} s (retry {self.attempt} of {self.max_retries})"


StreamEvent = TokenEvent | ProgressEvent | FinalEvent | KeepAliveEvent | RetryEvent


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole (non-streamed, or collected) completion."""

    content: str
    final: FinalEvent
    probs: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class Props:
    """Model and server facts from GET /props."""

    n_ctx: int
    total_slots: int
    model_path: str
    model_alias: str
    chat_template: str
    bos_token: str
    eos_token: str
    build_info: str
    is_sleeping: bool
    modalities: dict[str, Any]
    default_params: dict[str, Any]  # default_generation_settings.params: the sampling defaults
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_router(self) -> bool:
        """True for llama-server in router mode (--models-dir): requests must name a model."""
        return self.raw.get("role") == "router"

    @property
    def model_name(self) -> str:
        name = self.model_alias or self.model_path
        return name.replace("\\", "/").rsplit("/", 1)[-1] if name else ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Props:
        """Raises ValueError if `data` is not an object; any field of the wrong type reads as
        its default."""
        if not isinstance(data, dict):
            raise ValueError("/props is not a JSON object")
        dgs = _dict(data.get("default_generation_settings"))
        n_ctx = _int(dgs.get("n_ctx", data.get("n_ctx")))
        slots = _int(data.get("total_slots"), 1)
        return cls(
            n_ctx=n_ctx if n_ctx >= 0 else 0,
            total_slots=slots if 1 <= slots <= 65536 else 1,
            model_path=_str(data.get("model_path")),
            model_alias=_str(data.get("model_alias")),
            chat_template=_str(data.get("chat_template")),
            bos_token=_str(data.get("bos_token")),
            eos_token=_str(data.get("eos_token")),
            build_info=_str(data.get("build_info")),
            is_sleeping=data.get("is_sleeping") is True,
            modalities=_dict(data.get("modalities")),
            default_params=_dict(dgs.get("params")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    piece: str | bytes | None = None  # with_pieces: text, or bytes when not valid UTF-8 alone


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    n_ctx: int
    is_processing: bool
    n_decoded: int  # tokens generated so far in the current/last task
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Slot:
        data = _dict(data)
        nt = data.get("next_token")
        next_token = nt[0] if isinstance(nt, list) and nt else nt if isinstance(nt, dict) else {}
        return cls(
            id=_int(data.get("id")),
            n_ctx=_int(data.get("n_ctx")),
            is_processing=data.get("is_processing") is True,
            n_decoded=_int(next_token.get("n_decoded")) if isinstance(next_token, dict) else 0,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class LoraAdapter:
    """One adapter of GET /lora-adapters: its index (the `id` a request names), file and scale."""

    id: int
    path: str
    scale: float  # the server's global scale, used when a request names no adapters

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoraAdapter:
        return cls(id=_int(data.get("id"), -1), path=_str(data.get("path")), scale=_float(data.get("scale")))


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    status: str  # loaded | unloaded | loading | ... (router mode); "loaded" for a single model
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelInfo:
        status = data.get("status")
        if isinstance(status, dict):
            status = status.get("value")
        return cls(
            id=str(data.get("id") or data.get("model") or data.get("name") or ""),
            status=str(status or "loaded"),
            raw=data,
        )


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition (as /metrics sends) -> {name: value}. Labels are kept in the
    name as sent; comment and malformed lines are skipped."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            continue
    return out
