"""metrics_view: rates from successive /metrics readings (pure)."""

from __future__ import annotations

import math

import pytest

from llama_tui.client.types import parse_metrics
from llama_tui.metrics import (
    PREDICTED_SECONDS,
    PREDICTED_TOKENS,
    PROMPT_SECONDS,
    PROMPT_TOKENS,
    MetricsHistory,
    MetricsSummary,
    counter_delta,
    counter_rate,
    format_count,
    format_rate,
    metric,
    rates,
)

# As the real server (b1-0c1e570, --metrics) sent it after one 20-token completion.
REAL = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 3
llamacpp:prompt_tokens_cached_total 0
llamacpp:prompt_seconds_total 0.000295
llamacpp:tokens_predicted_total 20
llamacpp:tokens_predicted_seconds_total 0.000899
llamacpp:n_decode_total 20
llamacpp:n_tokens_max 22
llamacpp:prompt_tokens_seconds 10169.5
llamacpp:predicted_tokens_seconds 21134.6
llamacpp:requests_processing 0
llamacpp:requests_deferred 0
llamacpp:n_busy_slots_per_decode 1
"""


def reading(prompt: float, prompt_s: float, predicted: float, predicted_s: float) -> dict[str, float]:
    return {
        PROMPT_TOKENS: prompt,
        PROMPT_SECONDS: prompt_s,
        PREDICTED_TOKENS: predicted,
        PREDICTED_SECONDS: predicted_s,
    }


def test_summary_of_a_real_reading() -> None:
    summary = MetricsSummary.from_metrics(parse_metrics(REAL))
    assert summary.requests_processing == 0
    assert summary.requests_deferred == 0
    assert summary.prompt_tokens_total == 3
    assert summary.tokens_predicted_total == 20
    assert summary.prompt_tokens_cached_total == 0
    assert summary.busy_slots_per_decode == 1
    # Average speed while busy from the counters, not from the gauges (reset by every scrape).
    assert summary.predicted_tps_avg == pytest.approx(20 / 0.000899)
    assert summary.prompt_tps_avg == pytest.approx(3 / 0.000295)
    # This build sends no KV cache metrics.
    assert summary.kv_usage_ratio is None and summary.kv_tokens is None


def test_summary_with_kv_cache_metrics_of_older_builds() -> None:
    summary = MetricsSummary.from_metrics({"llamacpp:kv_cache_usage_ratio": 0.25, "llamacpp:kv_cache_tokens": 1024})
    assert summary.kv_usage_ratio == 0.25
    assert summary.kv_tokens == 1024
    assert summary.requests_processing is None
    assert summary.predicted_tps_avg is None  # no counters, no speed (and no division by zero)


def test_metric_sums_labelled_series_and_ignores_nan() -> None:
    values = {'x{slot="0"}': 2.0, 'x{slot="1"}': 3.0, "y": math.nan, "z": 1.0}
    assert metric(values, "x") == 5.0
    assert metric(values, "y") is None
    assert metric(values, "z") == 1.0
    assert metric(values, "missing") is None


def test_counter_delta_and_rate() -> None:
    before, after = reading(10, 0.1, 100, 1.0), reading(30, 0.2, 400, 2.0)
    assert counter_delta(before, after, PREDICTED_TOKENS) == 300
    assert counter_rate(before, after, PREDICTED_TOKENS, 2.0) == 150
    assert counter_rate(before, after, PREDICTED_TOKENS, 0.0) is None
    assert counter_rate(before, {}, PREDICTED_TOKENS, 1.0) is None


def test_counter_reset_counts_from_zero() -> None:
    # The server restarted between readings: its counters start again at 0.
    assert counter_delta(reading(0, 0, 500, 1), reading(0, 0, 40, 0.1), PREDICTED_TOKENS) == 40


def test_rates_wall_clock_and_busy() -> None:
    r = rates(reading(0, 0, 0, 0), reading(50, 0.01, 200, 0.5), 2.0)
    assert r.seconds == 2.0
    assert r.prompt_tps == 25.0  # 50 tokens over 2 s of wall clock
    assert r.generation_tps == 100.0
    assert r.prompt_busy_tps == pytest.approx(5000.0)  # 50 tokens in 0.01 s of work
    assert r.generation_busy_tps == pytest.approx(400.0)
    idle = rates(reading(50, 0.01, 200, 0.5), reading(50, 0.01, 200, 0.5), 1.0)
    assert idle.generation_tps == 0.0
    assert idle.generation_busy_tps is None


def test_history_first_reading_has_no_rate_then_series_grow() -> None:
    history = MetricsHistory(window=60, max_points=100)
    assert history.add(0.0, reading(0, 0, 0, 0)) is None
    assert len(history) == 0
    first = history.add(1.0, reading(10, 0.01, 100, 0.1))
    assert first is not None and first.generation_tps == 100.0
    history.add(2.0, reading(10, 0.01, 100, 0.1))  # idle second
    assert history.generation_series() == [100.0, 0.0]
    assert history.prompt_series() == [10.0, 0.0]
    assert history.latest is not None and history.latest.generation_tps == 0.0
    # The last busy speed survives idle intervals.
    assert history.last_generation_busy_tps == pytest.approx(1000.0)


def test_history_is_bounded_by_window_and_points() -> None:
    history = MetricsHistory(window=10, max_points=1000)
    for second in range(100):
        history.add(float(second), reading(0, 0, second * 5, second * 0.01))
    assert len(history) == 11  # rates at t = 89..99, ending inside the last 10 s
    assert history.generation_series() == [5.0] * 11
    small = MetricsHistory(window=1e9, max_points=5)
    for second in range(50):
        small.add(float(second), reading(0, 0, second, 0))
    assert len(small) == 5
    assert small.capacity == 5


def test_history_padding_keeps_the_time_scale() -> None:
    history = MetricsHistory(window=60, max_points=6)
    history.add(0.0, reading(0, 0, 0, 0))
    history.add(1.0, reading(0, 0, 7, 0.1))
    assert history.generation_series(pad_to=history.capacity) == [0.0, 0.0, 0.0, 0.0, 0.0, 7.0]


def test_history_ignores_readings_out_of_order_and_reset() -> None:
    history = MetricsHistory()
    history.add(5.0, reading(0, 0, 0, 0))
    assert history.add(5.0, reading(0, 0, 10, 0.1)) is None  # no time passed: no rate
    history.add(6.0, reading(0, 0, 20, 0.2))
    assert len(history) == 1
    history.reset()
    assert len(history) == 0 and history.latest is None and history.last_generation_busy_tps is None


def test_formatting() -> None:
    assert format_rate(None) == "-"
    assert format_rate(0.0) == "0 t/s"
    assert format_rate(12.345) == "12.3 t/s"
    assert format_rate(21134.6) == "21,135 t/s"
    assert format_count(None) == "-"
    assert format_count(4096.0) == "4,096"
    assert format_count(0.5) == "0.50"


# -- DecodeRates: live generation speed from /slots (#13.10) ------------------------------------


def test_decode_rates_follow_n_decoded_while_a_task_runs() -> None:
    from llama_tui.metrics import DecodeRates, SlotReading

    rates = DecodeRates(window=60.0, max_points=10)
    assert rates.add(0.0, [SlotReading(0, 7, True, 10), SlotReading(1, None, False, 0)]) is None
    assert rates.add(1.0, [SlotReading(0, 7, True, 90), SlotReading(1, None, False, 0)]) == 80.0
    # A new task on slot 1 counts its tokens so far; slot 0's task ended (n_decoded back to 0).
    assert rates.add(2.0, [SlotReading(0, 7, False, 0), SlotReading(1, 8, True, 30)]) == 30.0
    assert rates.add(4.0, [SlotReading(0, 7, False, 0), SlotReading(1, 8, False, 0)]) == 0.0
    assert rates.series(5) == [0.0, 0.0, 80.0, 30.0, 0.0]
    assert rates.seen_busy and rates.latest == 0.0
