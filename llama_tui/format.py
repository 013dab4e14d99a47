"""Human-readable figures: speeds, token counts, ages. Pure functions, no Textual."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def format_timings(
    timings: dict[str, Any] | None,
    stop_type: str | None,
    ttft_ms: float | None = None,
    *,
    truncated: bool = False,
) -> str:
    parts: list[str] = []
    if timings:
        cache_n = int(_number(timings, "cache_n"))
        cached = f", {cache_n:,} cached" if cache_n else ""
        parts.append(f"{int(_number(timings, 'predicted_n')):,} tok")
        parts.append(
            f"prompt {int(_number(timings, 'prompt_n')):,} tok{cached} {_number(timings, 'prompt_per_second'):,.0f} t/s"
        )
        parts.append(f"gen {_number(timings, 'predicted_per_second'):,.1f} t/s")
    if ttft_ms is not None:
        parts.append(f"ttft {ttft_ms:,.0f} ms")
    if stop_type:
        parts.append(f"stop: {STOP_LABELS.get(stop_type, stop_type)}")
    if truncated:
        parts.append("context truncated")
    return " · ".join(parts)


def _number(timings: dict[str, Any], key: str) -> float:
    """A figure from the server's (or an imported file's) timings: 0 unless a finite number."""
    value = timings.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return float(value)


def format_slot_cache(meta: dict[str, Any] | None) -> str:
    """How a restored session cache went for an answer (its `meta["slot_cache"]`, written by
    screens/session_caches.py; an imported file may hold anything): "" when there was none."""
    note = meta.get("slot_cache") if isinstance(meta, dict) else None
    if not isinstance(note, dict):
        return ""
    cache_n, reused = note.get("cache_n"), note.get("reused")
    if reused is True and isinstance(cache_n, int) and not isinstance(cache_n, bool) and 0 < cache_n < 10**9:
        return f"cache restored: {cache_n:,} prompt tokens not re-processed"
    if reused is False:
        return "restored cache not reused: prompt processed again"
    return ""


def format_reasoning(meta: Mapping[str, Any] | None) -> str:
    """An answer's reasoning counted apart from its answer (the generation's tally, in the message's
    meta), e.g. "reasoning 412 tok in 5.2 s · answer 88 tok in 1.1 s"; "" when it did not reason.
    Values that are not finite non-negative numbers (an imported file) count as 0."""
    if not meta:
        return ""
    meta = dict(meta)
    parts: list[str] = []
    reasoning_tokens = _count(meta, "reasoning_tokens")
    if reasoning_tokens > 0:
        parts.append(f"reasoning {reasoning_tokens:,} tok in {_seconds(meta, 'reasoning_s')}")
        parts.append(f"answer {_count(meta, 'answer_tokens'):,} tok in {_seconds(meta, 'answer_s')}")
    if meta.get("reasoning_stopped") is True:
        parts.append("reasoning ended early (ctrl+g)")
    return " · ".join(parts)


def _count(meta: dict[str, Any], key: str) -> int:
    return max(0, int(_number(meta, key)))


def _seconds(meta: dict[str, Any], key: str) -> str:
    return f"{max(0.0, _number(meta, key)):,.1f} s"


def readable_bytes(raw: bytes) -> str:
    """A token's bytes as text. A token may hold part of a character (byte-level tokenizers split a rare
    one across several tokens): those bytes are shown as llama.cpp names byte tokens, ``<0xF0>``, where
    decoding with replacement would show a row of indistinguishable "�"."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        for size in (1, 2, 3, 4):
            try:
                out.append(raw[i : i + size].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += size
            break
        else:
            out.append(f"<0x{raw[i]:02X}>")
            i += 1
    return "".join(out)


STOP_LABELS = {"eos": "eos", "limit": "n_predict limit", "word": "stop word", "none": "none"}


def format_age(seconds: float) -> str:
    """A short age for the sidebar: 'now', '5m', '2h', '3d', '6w', '2y'."""
    s = max(0, int(seconds))
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return "now"
