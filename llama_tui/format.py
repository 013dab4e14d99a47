"""Human-readable figures: speeds, token counts, ages. Pure functions, no Textual."""

from __future__ import annotations

from typing import Any

from .client.types import FinalEvent, Timings


def format_speed(final: FinalEvent) -> str:
    """One line of honest figures from the server's timings, e.g.
    '512 tok · prompt 23 tok 1,204 t/s · gen 87.3 t/s · ttft 41 ms · stop: eos'."""
    return format_timings(
        final.timings.raw if final.timings else None, final.stop_type, final.ttft_ms, truncated=final.truncated
    )


def format_timings(
    timings: dict[str, Any] | None,
    stop_type: str | None,
    ttft_ms: float | None = None,
    *,
    truncated: bool = False,
) -> str:
    parts: list[str] = []
    if timings:
        t = Timings.from_json(timings)
        parts.append(f"{t.predicted_n:,} tok")
        cached = f", {t.cache_n:,} cached" if t.cache_n else ""
        parts.append(f"prompt {t.prompt_n:,} tok{cached} {t.prompt_per_second:,.0f} t/s")
        parts.append(f"gen {t.predicted_per_second:,.1f} t/s")
    if ttft_ms is not None:
        parts.append(f"ttft {ttft_ms:,.0f} ms")
    if stop_type:
        parts.append(f"stop: {STOP_LABELS.get(stop_type, stop_type)}")
    if truncated:
        parts.append("context truncated")
    return " · ".join(parts)


STOP_LABELS = {"eos": "eos", "limit": "n_predict limit", "word": "stop word", "none": "none"}


def format_age(seconds: float) -> str:
    """A short age for the sidebar: 'now', '5m', '2h', '3d', '6w', '2y'."""
    s = max(0, int(seconds))
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return "now"
