"""Untrusted-text neutralising: terminal controls made visible, one-line flattening."""

from __future__ import annotations

import pytest

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
