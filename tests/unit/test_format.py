"""The figures shown under answers and the ages shown in lists."""

from __future__ import annotations

import pytest

from llama_tui.format import format_age, format_reasoning, format_slot_cache, format_timings, readable_bytes


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


def test_format_reasoning_counts_reasoning_and_answer_apart() -> None:
    meta = {"reasoning_tokens": 1412, "reasoning_s": 5.234, "answer_tokens": 88, "answer_s": 1.06}
    assert format_reasoning(meta) == "reasoning 1,412 tok in 5.2 s · answer 88 tok in 1.1 s"
    stopped = {**meta, "reasoning_stopped": True}
    assert format_reasoning(stopped).endswith(" · reasoning ended early (ctrl+g)")
    assert format_reasoning(None) == format_reasoning({}) == ""
    assert format_reasoning({"answer_tokens": 5, "answer_s": 1.0}) == ""  # it did not reason


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -3, "12", True, None, [1]], ids=lambda v: type(v).__name__ + repr(v)
)
def test_format_reasoning_reads_bad_numbers_as_zero(bad: object) -> None:
    """An imported file's meta is untrusted: a number that is not one shows as 0, never as text."""
    meta = {"reasoning_tokens": 10, "reasoning_s": bad, "answer_tokens": bad, "answer_s": 2.0}
    assert format_reasoning(meta) == "reasoning 10 tok in 0.0 s · answer 0 tok in 2.0 s"
    assert format_reasoning({"reasoning_tokens": bad, "reasoning_stopped": "yes"}) == ""


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"hello", "hello"),
        ("𓀀".encode(), "𓀀"),
        (b"\xf0\x93", "<0xF0><0x93>"),  # the start of a four-byte character
        (b"\x80\x80", "<0x80><0x80>"),  # its end
        (" 日".encode() + b"\xe6", " 日<0xE6>"),  # a whole character, then part of the next
        (b"\xe6\x97a", "<0xE6><0x97>a"),  # a broken sequence followed by text
        (b"", ""),
    ],
)
def test_readable_bytes_shows_parts_of_characters_as_byte_tokens(raw: bytes, shown: str) -> None:
    assert readable_bytes(raw) == shown
