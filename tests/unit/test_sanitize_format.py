"""Untrusted-text neutralising and the figures shown under answers."""

from __future__ import annotations

import pytest

from llama_tui.format import format_age, format_timings
from llama_tui.sanitize import neutralize, one_line


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred", "␛[31mred"),  # CSI colour
        ("\x1b]0;title\x07", "␛]0;title␇"),  # OSC 0 window title + BEL
        ("\x1b]8;;http://evil\x1b\\link", "␛]8;;http://evil␛\\link"),  # OSC 8 hyperlink
        ("\x1b]52;c;SGVsbG8=\x07", "␛]52;c;SGVsbG8=␇"),  # OSC 52 clipboard write
        ("\x9b2J", "\\x9b2J"),  # C1 single-byte CSI
        ("a\x00b\x7fc", "a␀b␡c"),
        ("over\rwrite", "over\nwrite"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("[bold]markup[/] stays text", "[bold]markup[/] stays text"),
        ("é 世界 \ufffd", "é 世界 \ufffd"),
    ],
)
def test_neutralize(raw: str, shown: str) -> None:
    assert neutralize(raw) == shown
    assert not any(0x80 <= ord(c) <= 0x9F or (ord(c) < 0x20 and c not in "\n\t") for c in neutralize(raw))


def test_one_line_flattens_and_limits() -> None:
    assert one_line("a\n b\x1b  c") == "a b␛ c"
    assert one_line("x" * 10, 5) == "xxxx…"


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
