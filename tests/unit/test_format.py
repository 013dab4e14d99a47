"""The figures shown under answers and the ages shown in lists."""

from __future__ import annotations

import pytest

from llama_tui.format import format_age, format_slot_cache, format_timings


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


def test_the_footer_note_of_a_restored_session_cache() -> None:
    def note(**fields: object) -> dict[str, object]:
        return {"slot_cache": fields}

    assert format_slot_cache(note(restored=900, cache_n=898, reused=True)) == (
        "cache restored: 898 prompt tokens not re-processed"
    )
    assert format_slot_cache(note(restored=900, cache_n=0, reused=False)) == (
        "restored cache not reused: prompt processed again"
    )
    # Nothing to say, or a meta from an imported file that is not ours.
    for meta in (None, {}, {"slot_cache": "x"}, note(cache_n=True, reused=True), note(cache_n=-3, reused=True)):
        assert format_slot_cache(meta) == ""  # type: ignore[arg-type]
