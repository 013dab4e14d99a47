"""Typed results of the llama.cpp client. Unknown JSON fields are tolerated and kept in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _float(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


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
            stop_type=str(data.get("stop_type") or "none"),
            stopping_word=str(data.get("stopping_word") or ""),
            truncated=bool(data.get("truncated", False)),
            tokens_cached=_int(data.get("tokens_cached")),
            tokens_evaluated=_int(data.get("tokens_evaluated")),
            tokens_predicted=_int(data.get("tokens_predicted")),
            timings=Timings.from_json(timings) if isinstance(timings, dict) else None,
            ttft_ms=ttft_ms,
            id_slot=slot if isinstance(slot, int) else None,
            model=data.get("model") if isinstance(data.get("model"), str) else None,
            prompt=data.get("prompt") if isinstance(data.get("prompt"), str) else None,
            generation_settings=settings if isinstance(settings, dict) else {},
            raw=data,
        )


StreamEvent = TokenEvent | ProgressEvent | FinalEvent


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
        dgs = data.get("default_generation_settings") or {}
        params: dict[str, Any] = dgs["params"] if isinstance(dgs.get("params"), dict) else {}
        n_ctx = dgs.get("n_ctx", data.get("n_ctx"))
        return cls(
            n_ctx=_int(n_ctx),
            total_slots=_int(data.get("total_slots"), 1),
            model_path=str(data.get("model_path") or ""),
            model_alias=str(data.get("model_alias") or ""),
            chat_template=str(data.get("chat_template") or ""),
            bos_token=str(data.get("bos_token") or ""),
            eos_token=str(data.get("eos_token") or ""),
            build_info=str(data.get("build_info") or ""),
            is_sleeping=bool(data.get("is_sleeping", False)),
            modalities=data.get("modalities") or {},
            default_params=params,
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
        nt = data.get("next_token")
        next_token = nt[0] if isinstance(nt, list) and nt else nt if isinstance(nt, dict) else {}
        return cls(
            id=_int(data.get("id")),
            n_ctx=_int(data.get("n_ctx")),
            is_processing=bool(data.get("is_processing", False)),
            n_decoded=_int(next_token.get("n_decoded")) if isinstance(next_token, dict) else 0,
            raw=data,
        )


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
