"""The figures shown under answers and the ages shown in lists."""

from __future__ import annotations

import pytest

from llama_tui.format import format_age, format_timings


def test_format_timings_uses_the_servers_figures() -> None:
    timings = {
        "prompt_n": 1234,
        "prompt_per_second": 1204.4,
        "predicted_n": 512,
        "predicted_per_second": 87.31,
        "cache_n": 100,
    }
    assert format_timings(timings, "eos", 41.2) == (
        "512 tok · prompt 1,234 tok, 100 cached 1,204 t/s · gen 87.3 t/s · ttft 41 ms · stop: eos"
    )
    assert format_timings(None, "limit", truncated=True) == "stop: n_predict limit · context truncated"


@pytest.mark.parametrize(
    ("seconds", "age"),
    [(5, "now"), (300, "5m"), (7200, "2h"), (3 * 86400, "3d"), (15 * 86400, "2w"), (800 * 86400, "2y"), (-5, "now")],
)
def test_format_age(seconds: float, age: str) -> None:
    assert format_age(seconds) == age
