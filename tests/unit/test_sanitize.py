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


# -- issue 14, item 3: the clipboard, streamed text, JSON on a terminal ----------------------------


@pytest.mark.parametrize("end_marker", ["\x1b[201~", "\x9b201~"])
def test_clipboard_text_never_carries_a_bracketed_paste_end_marker(end_marker: str) -> None:
    from llama_tui.sanitize import for_clipboard

    copied = for_clipboard(f"ls\n{end_marker}rm -rf ~\n\x1b]52;c;eA==\x07\ttab")
    assert "\x1b" not in copied and "\x9b" not in copied
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in copied)
    assert copied.startswith("ls\n") and copied.endswith("\ttab")


def test_stream_neutralizer_matches_neutralize_at_every_split() -> None:
    from llama_tui.sanitize import StreamNeutralizer

    text = "a\r\nb\rc\x1b[2J\x9bd\r\r\ne\r"
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            s = StreamNeutralizer()
            got = s.feed(text[:i]) + s.feed(text[i:j]) + s.feed(text[j:]) + s.flush()
            assert got == neutralize(text), (i, j)


def test_json_for_terminal_escapes_c1_and_keeps_the_value() -> None:
    import json

    from llama_tui.sanitize import json_for_terminal

    value = {"content": "a\x9b2J\x7f\x85 é"}
    text = json_for_terminal(json.dumps(value, ensure_ascii=False))
    assert not any(0x7F <= ord(c) <= 0x9F for c in text) and json.loads(text) == value and "é" in text
