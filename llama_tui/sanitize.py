"""Make untrusted text (model output, titles, imported files) safe to put on screen.

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
