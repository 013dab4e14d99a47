"""Turn successive /metrics readings into what the server monitor shows. Pure: no Textual, no I/O.

llama-server's /metrics (Prometheus text, only with `--metrics`) has counters (totals since the
server started) and gauges. Names as a current build sends them (b1-0c1e570):

    llamacpp:prompt_tokens_total            counter  prompt tokens processed (not from cache)
    llamacpp:prompt_seconds_total           counter  time spent processing prompts
    llamacpp:tokens_predicted_total         counter  tokens generated
    llamacpp:tokens_predicted_seconds_total counter  time spent generating
    llamacpp:prompt_tokens_cached_total     counter  prompt tokens reused from the cache
    llamacpp:n_decode_total                 counter  llama_decode() calls
    llamacpp:n_tokens_max                   counter  longest sequence seen
    llamacpp:prompt_tokens_seconds          gauge    prompt tokens/s since the previous scrape (*)
    llamacpp:predicted_tokens_seconds       gauge    generated tokens/s since the previous scrape (*)
    llamacpp:requests_processing            gauge    requests being processed now
    llamacpp:requests_deferred              gauge    requests waiting for a free slot
    llamacpp:n_busy_slots_per_decode        gauge    average busy slots per decode call

(*) These two "average throughput" gauges are reset by every GET /metrics (checked against the
real server: 19853.7, then 0 on the next read), so with more than one scraper, or polling every
second, they mean little. The monitor computes speeds from the counters instead: tokens_total /
seconds_total is the average speed while busy, and deltas between readings give current rates.

The token counters grow only when a request *ends*: during a long generation they stand still, so
their deltas say "0 t/s" while the server is busy. `DecodeRates` follows the live count instead:
/slots' `n_decoded` (tokens generated so far by each slot's current task), which needs no
--metrics either.

Older builds also sent `llamacpp:kv_cache_usage_ratio` (0..1) and `llamacpp:kv_cache_tokens`;
they are shown when present. Rates come from counter deltas over the wall-clock time between two
readings; a counter that went down means the server restarted, and counts from zero again.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "llamacpp:"
PROMPT_TOKENS = PREFIX + "prompt_tokens_total"
PROMPT_SECONDS = PREFIX + "prompt_seconds_total"
PREDICTED_TOKENS = PREFIX + "tokens_predicted_total"
PREDICTED_SECONDS = PREFIX + "tokens_predicted_seconds_total"
CACHED_TOKENS = PREFIX + "prompt_tokens_cached_total"
DECODE_CALLS = PREFIX + "n_decode_total"
PROMPT_TPS_AVG = PREFIX + "prompt_tokens_seconds"
PREDICTED_TPS_AVG = PREFIX + "predicted_tokens_seconds"
REQUESTS_PROCESSING = PREFIX + "requests_processing"
REQUESTS_DEFERRED = PREFIX + "requests_deferred"
BUSY_SLOTS_PER_DECODE = PREFIX + "n_busy_slots_per_decode"
KV_USAGE_RATIO = PREFIX + "kv_cache_usage_ratio"
KV_TOKENS = PREFIX + "kv_cache_tokens"


def metric(values: Mapping[str, float], name: str) -> float | None:
    """`name`'s value; for a labelled metric (`name{a="b"}`) the sum over its label sets. None if
    absent or not a finite number."""
    value = values.get(name)
    if value is None:
        labelled = [v for k, v in values.items() if k.startswith(name + "{")]
        if not labelled:
            return None
        value = sum(labelled)
    return value if math.isfinite(value) else None


def counter_delta(previous: Mapping[str, float], current: Mapping[str, float], name: str) -> float | None:
    """How much counter `name` grew between two readings (None if either lacks it). A decrease
    means the counter was reset (server restart): the current value is the growth since."""
    before, now = metric(previous, name), metric(current, name)
    if before is None or now is None:
        return None
    return now if now < before else now - before


def counter_rate(
    previous: Mapping[str, float], current: Mapping[str, float], name: str, seconds: float
) -> float | None:
    """Counter growth per second of wall-clock time between the readings."""
    delta = counter_delta(previous, current, name)
    if delta is None or not seconds > 0:
        return None
    return delta / seconds


@dataclass(frozen=True, slots=True)
class Rates:
    """Throughput between two readings.

    `prompt_tps` / `generation_tps`: tokens per second of wall-clock time (0 when idle): the load.
    `prompt_busy_tps` / `generation_busy_tps`: tokens per second the server spent working on them
    (the counters' own seconds), i.e. its speed while busy; None when it did no such work."""

    seconds: float
    prompt_tps: float | None
    generation_tps: float | None
    prompt_busy_tps: float | None
    generation_busy_tps: float | None


def _busy_rate(previous: Mapping[str, float], current: Mapping[str, float], tokens: str, secs: str) -> float | None:
    n = counter_delta(previous, current, tokens)
    t = counter_delta(previous, current, secs)
    if n is None or t is None or t <= 0 or n <= 0:
        return None
    return n / t


def rates(previous: Mapping[str, float], current: Mapping[str, float], seconds: float) -> Rates:
    """The rates between a reading and the next one, `seconds` later."""
    return Rates(
        seconds=seconds,
        prompt_tps=counter_rate(previous, current, PROMPT_TOKENS, seconds),
        generation_tps=counter_rate(previous, current, PREDICTED_TOKENS, seconds),
        prompt_busy_tps=_busy_rate(previous, current, PROMPT_TOKENS, PROMPT_SECONDS),
        generation_busy_tps=_busy_rate(previous, current, PREDICTED_TOKENS, PREDICTED_SECONDS),
    )


def _ratio(tokens: float | None, seconds: float | None) -> float | None:
    if tokens is None or seconds is None or seconds <= 0:
        return None
    return tokens / seconds


@dataclass(frozen=True, slots=True)
class MetricsSummary:
    """The figures of one reading the monitor shows (None: the server does not send it)."""

    requests_processing: float | None
    requests_deferred: float | None
    prompt_tokens_total: float | None
    tokens_predicted_total: float | None
    prompt_tokens_cached_total: float | None
    prompt_tps_avg: float | None  # prompt_tokens_total / prompt_seconds_total: mean speed while busy
    predicted_tps_avg: float | None  # tokens_predicted_total / tokens_predicted_seconds_total
    busy_slots_per_decode: float | None
    kv_usage_ratio: float | None
    kv_tokens: float | None

    @classmethod
    def from_metrics(cls, values: Mapping[str, float]) -> MetricsSummary:
        return cls(
            requests_processing=metric(values, REQUESTS_PROCESSING),
            requests_deferred=metric(values, REQUESTS_DEFERRED),
            prompt_tokens_total=metric(values, PROMPT_TOKENS),
            tokens_predicted_total=metric(values, PREDICTED_TOKENS),
            prompt_tokens_cached_total=metric(values, CACHED_TOKENS),
            prompt_tps_avg=_ratio(metric(values, PROMPT_TOKENS), metric(values, PROMPT_SECONDS)),
            predicted_tps_avg=_ratio(metric(values, PREDICTED_TOKENS), metric(values, PREDICTED_SECONDS)),
            busy_slots_per_decode=metric(values, BUSY_SLOTS_PER_DECODE),
            kv_usage_ratio=metric(values, KV_USAGE_RATIO),
            kv_tokens=metric(values, KV_TOKENS),
        )


class MetricsHistory:
    """Successive readings -> a bounded history of rates, for sparklines.

    `add(t, metrics)` takes a reading at monotonic time `t` (seconds) and returns the rates since
    the previous reading (None for the first). Rates older than `window` seconds are dropped, and
    at most `max_points` are kept whatever the reading interval."""

    def __init__(self, window: float = 300.0, max_points: int = 600) -> None:
        self.window = window
        self._points: collections.deque[tuple[float, Rates]] = collections.deque(maxlen=max_points)
        self._last: tuple[float, dict[str, float]] | None = None
        self.latest: Rates | None = None
        self.last_prompt_busy_tps: float | None = None
        """The most recent interval's prompt speed while busy (kept through idle intervals)."""
        self.last_generation_busy_tps: float | None = None
        """The most recent interval's generation speed while busy (kept through idle intervals)."""

    def add(self, t: float, values: Mapping[str, float]) -> Rates | None:
        last = self._last
        self._last = (t, dict(values))
        if last is None or t <= last[0]:
            return None
        result = rates(last[1], values, t - last[0])
        self.latest = result
        if result.prompt_busy_tps is not None:
            self.last_prompt_busy_tps = result.prompt_busy_tps
        if result.generation_busy_tps is not None:
            self.last_generation_busy_tps = result.generation_busy_tps
        self._points.append((t, result))
        while self._points and self._points[0][0] < t - self.window:
            self._points.popleft()
        return result

    def reset(self) -> None:
        self._points.clear()
        self._last = None
        self.latest = None
        self.last_prompt_busy_tps = None
        self.last_generation_busy_tps = None

    @property
    def capacity(self) -> int:
        """The most points kept."""
        return self._points.maxlen or 0

    def __len__(self) -> int:
        return len(self._points)

    def prompt_series(self, pad_to: int = 0) -> list[float]:
        """Prompt tokens/s (wall clock) per interval, oldest first; unknown counts as 0. With
        `pad_to`, zeros are put in front up to that length, so a sparkline's time scale stays
        fixed while the history fills."""
        return _padded([r.prompt_tps or 0.0 for _, r in self._points], pad_to)

    def generation_series(self, pad_to: int = 0) -> list[float]:
        """Generated tokens/s (wall clock) per interval, oldest first (see prompt_series)."""
        return _padded([r.generation_tps or 0.0 for _, r in self._points], pad_to)


def _padded(series: list[float], length: int) -> list[float]:
    return [0.0] * (length - len(series)) + series if len(series) < length else series


@dataclass(frozen=True, slots=True)
class SlotReading:
    """What DecodeRates needs of one /slots entry."""

    slot: int
    task: int | None
    processing: bool
    n_decoded: int


class DecodeRates:
    """Live generation speed from successive /slots readings: the tokens each slot decoded since
    the previous reading, over the time between them. A slot on a new task counts that task's
    tokens so far (the end of the previous task, after the last reading, is not seen: a
    slight undercount, never a spike). Kept for `window` seconds, at most `max_points`."""

    def __init__(self, window: float = 300.0, max_points: int = 600) -> None:
        self.window = window
        self._points: collections.deque[tuple[float, float]] = collections.deque(maxlen=max_points)
        self._last: tuple[float, dict[int, SlotReading]] | None = None
        self.latest: float | None = None
        self.seen_busy = False  # a slot has been seen generating

    def add(self, t: float, readings: list[SlotReading]) -> float | None:
        """Take a reading at monotonic time `t`; the tokens/s since the previous one (None for
        the first)."""
        last = self._last
        current = {r.slot: r for r in readings}
        self._last = (t, current)
        if any(r.processing for r in readings):
            self.seen_busy = True
        if last is None or t <= last[0]:
            return None
        decoded = 0
        for reading in readings:
            before = last[1].get(reading.slot)
            if before is not None and before.task == reading.task and reading.n_decoded >= before.n_decoded:
                decoded += reading.n_decoded - before.n_decoded
            elif reading.processing:
                decoded += reading.n_decoded
        rate = decoded / (t - last[0])
        self.latest = rate
        self._points.append((t, rate))
        while self._points and self._points[0][0] < t - self.window:
            self._points.popleft()
        return rate

    def reset(self) -> None:
        self._points.clear()
        self._last = None
        self.latest = None

    def series(self, pad_to: int = 0) -> list[float]:
        """Generated tokens/s per interval, oldest first (see MetricsHistory.prompt_series)."""
        return _padded([rate for _, rate in self._points], pad_to)


def format_rate(value: float | None) -> str:
    """`1,234 t/s`, `12.3 t/s`, `0 t/s`, or `-` when unknown."""
    if value is None:
        return "-"
    if value >= 100 or value == 0:
        return f"{value:,.0f} t/s"
    return f"{value:.1f} t/s"


def format_count(value: float | None) -> str:
    """A counter or gauge as an integer with thousands separators (or a short decimal), `-` if unknown."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"
