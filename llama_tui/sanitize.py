"""Make untrusted text (model output, titles, imported files) safe to put on screen, on the
command line and on the clipboard.

Terminal controls must never reach the terminal: ESC (CSI, OSC 0/8/52 ...), the C1 controls
(0x80-0x9F, e.g. 0x9B is a one-byte CSI), BEL and friends. They are replaced by visible symbols
so the user can still see that something was there. Newlines and tabs are kept. Markup safety is
the widgets' job (they are given plain text / Content, never markup strings).
"""

from __future__ import annotations

import re

# C0 controls except TAB (0x09) and LF (0x0A), DEL, and the C1 range.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ESC -> ␛, BEL -> ␇
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"  # C1: no picture exists, show the byte value


def neutralize(text: str) -> str:
    """Replace terminal control characters with visible stand-ins; keep \\n and \\t.
    CRLF and lone CR become LF (a CR would otherwise let text overwrite its own line)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(_visible, text)


def one_line(text: str, limit: int | None = None) -> str:
    """Neutralised, on one line (for titles and list rows)."""
    flat = " ".join(neutralize(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def for_clipboard(text: str) -> str:
    """Text to put on the clipboard (the `y` and `b` copies): the same stand-ins as on screen, so
    pasting it into a terminal or shell cannot run anything. In particular a bracketed-paste end
    marker (ESC [ 201 ~, or its C1 form 0x9B 201 ~) never survives: without it, a paste cannot
    end early and type the rest as commands. Newlines and tabs are kept."""
    return neutralize(text)


class StreamNeutralizer:
    """`neutralize` for text that arrives in pieces (a streamed answer on the command line).

    Each piece is neutralised on its own (every control is one character), except a CR at the end
    of a piece, which is held back until the next piece says whether it is half of a CRLF (one
    line end) or a lone CR (also a line end): both give one LF, never two."""

    __slots__ = ("_cr",)

    def __init__(self) -> None:
        self._cr = False

    def feed(self, text: str) -> str:
        if self._cr:
            self._cr = False
            text = "\r" + text
        if text.endswith("\r"):
            self._cr = True
            text = text[:-1]
        return neutralize(text)

    def flush(self) -> str:
        """What is still held back (a final CR, as LF)."""
        held, self._cr = self._cr, False
        return "\n" if held else ""


_C1_AND_DEL = re.compile("[\x7f-\x9f]")


def json_for_terminal(text: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with DEL and the C1 controls written
    as \\u escapes too: the same JSON value, but nothing in it can drive a terminal. (json.dumps
    escapes only the C0 controls; a raw U+009B is a CSI to many terminals.)"""
    return _C1_AND_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
