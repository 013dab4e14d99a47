"""The figures of a compare run: what each column shows while it streams, and the summary table
(tokens, tok/s, time to first token, prompt tokens, stop reason) that the compare screen and
`llama-tui ask --compare` both print. Pure: no I/O, no Textual.

While streaming, speed is measured here (tokens since the first one, over the time since it
came); once an answer ends, the server's own timings replace it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .domain import ChatMessage
from .format import STOP_LABELS
from .sanitize import one_line

HEADERS = ("#", "target", "tokens", "tok/s", "ttft", "prompt", "cached", "stop")
NUMERIC = frozenset({0, 2, 3, 4, 5, 6})  # the columns of HEADERS that hold numbers (right-aligned)


def _number(data: dict[str, Any] | None, key: str) -> float | None:
    """A figure from the server's (untrusted) timings: None unless a finite number."""
    value = (data or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@dataclass
class LiveFigures:
    """A column's figures while it runs, fed by its generation (times from a monotonic clock)."""

    waiting: bool = True  # asking the server, or waiting for a free slot
    started: float | None = None  # the request was sent
    first_token: float | None = None
    last_token: float | None = None
    tokens: int = 0
    prompt_total: int | None = None
    prompt_cached: int | None = None
    prompt_done: int | None = None
    status: str = ""  # a passing state in plain words (a retry, a keep-alive wait), until text comes

    def start(self, now: float) -> None:
        self.waiting, self.started = False, now

    def token(self, count: int, now: float) -> None:
        if self.first_token is None:
            self.first_token = now
        self.tokens, self.last_token, self.status = count, now, ""

    def progress(self, total: int, cached: int, processed: int) -> None:
        self.prompt_total, self.prompt_cached, self.prompt_done = total, cached, processed
        self.status = ""

    @property
    def ttft_ms(self) -> float | None:
        if self.started is None or self.first_token is None:
            return None
        return (self.first_token - self.started) * 1000.0

    @property
    def rate(self) -> float | None:
        """Tokens per second after the first token (the first one's wait is the ttft)."""
        if self.first_token is None or self.last_token is None or self.tokens < 2:
            return None
        elapsed = self.last_token - self.first_token
        return (self.tokens - 1) / elapsed if elapsed > 0 else None

    def line(self, now: float) -> str:
        if self.status:
            return self.status
        if self.waiting:
            return "waiting for the server (a free slot, or its model loading)…"
        if self.first_token is None:
            if self.prompt_total and self.prompt_done is not None:
                return f"prompt {self.prompt_done:,}/{self.prompt_total:,} tokens…"
            return f"sent, waiting for the first token ({now - (self.started or now):.1f} s)…"
        parts = [f"{self.tokens:,} tok"]
        if self.rate is not None:
            parts.append(f"{self.rate:,.1f} t/s")
        if self.ttft_ms is not None:
            parts.append(f"ttft {self.ttft_ms:,.0f} ms")
        if self.prompt_total is not None:
            parts.append(f"prompt {self.prompt_total:,} ({self.prompt_cached or 0:,} cached)")
        return " · ".join(parts) + " · streaming…"


@dataclass(frozen=True)
class SummaryRow:
    """One target's figures after the run: the server's timings where it sent them."""

    index: int  # 1-based column number
    label: str
    tokens: int | None
    rate: float | None  # generation tokens/s
    ttft_ms: float | None
    prompt: int | None  # prompt tokens the server processed (timings.prompt_n)
    cached: int | None  # prompt tokens it reused from its cache (timings.cache_n)
    stop: str
    error: str = ""

    def cells(self) -> tuple[str, ...]:
        def num(value: float | None, fmt: str) -> str:
            return "—" if value is None else format(value, fmt)

        return (
            str(self.index),
            self.label,
            num(self.tokens, ","),
            num(self.rate, ",.1f"),
            "—" if self.ttft_ms is None else f"{self.ttft_ms:,.0f} ms",
            num(self.prompt, ","),
            num(self.cached, ","),
            self.stop,
        )

    def line(self) -> str:
        """The figures in one line, under a column."""
        parts = [f"{self.tokens:,} tok" if self.tokens is not None else "no tokens"]
        if self.rate is not None:
            parts.append(f"{self.rate:,.1f} t/s")
        if self.ttft_ms is not None:
            parts.append(f"ttft {self.ttft_ms:,.0f} ms")
        if self.prompt is not None:
            parts.append(f"prompt {self.prompt:,} ({self.cached or 0:,} cached)")
        parts.append(f"stop: {self.stop}" + (f" ({self.error})" if self.error else ""))
        return " · ".join(parts)


def summary_row(index: int, label: str, message: ChatMessage, live: LiveFigures | None = None) -> SummaryRow:
    """The row of an ended answer; an answer cut off before the server's final figures shows what
    the column counted itself (`live`)."""
    timings = message.timings
    tokens = _number(timings, "predicted_n")
    rate = _number(timings, "predicted_per_second")
    prompt, cached = _number(timings, "prompt_n"), _number(timings, "cache_n")
    ttft = message.ttft_ms
    if timings is None and live is not None:
        tokens = float(live.tokens) if live.first_token is not None else None
        rate, ttft = live.rate, live.ttft_ms
        prompt = float(live.prompt_total) if live.prompt_total is not None else None
        cached = float(live.prompt_cached) if live.prompt_cached is not None else None
    stop: str
    if message.state in ("interrupted", "error", "streaming"):
        stop = message.state
    else:
        stop = STOP_LABELS.get(message.stop_type or "", message.stop_type or "?")
        if message.truncated:
            stop += ", context full"
    return SummaryRow(
        index,
        label,
        None if tokens is None else int(tokens),
        rate,
        ttft,
        None if prompt is None else int(prompt),
        None if cached is None else int(cached),
        stop,
        one_line(message.error or "")[:120],
    )


def text_table(rows: list[SummaryRow]) -> str:
    """The summary as an aligned text table (numbers right-aligned), for the command line."""
    grid = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADERS))]
    lines = []
    for line in grid:
        pairs = enumerate(zip(line, widths, strict=True))
        cells = [cell.rjust(width) if i in NUMERIC else cell.ljust(width) for i, (cell, width) in pairs]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
