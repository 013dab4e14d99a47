"""The last line of defence against terminal injection: a line filter that drops control
characters from every rendered line, whichever widget made it (toasts, tooltips, Textual's own).

Widgets that show untrusted text (model output, titles, server errors) already make controls
visible with `sanitize.neutralize`; this filter catches any path that forgot, so no text can
ever write ESC (CSI, OSC 0/8/52 ...), a C1 control such as 0x9B (a one-byte CSI) or BEL to the
terminal. Rich strips only a few controls (BEL, BS, CR ...) and passes ESC and C1 through.

Control characters take no cell, so removing them keeps every line exactly as wide as the layout
made it. Install with `app._filters.append(ControlCharFilter())` (Textual applies the app's
filters to every widget's lines).
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class ControlCharFilter(LineFilter):
    """Remove C0/C1 control characters (and DEL) from the text of rendered segments."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = segments
        search = _CONTROL.search
        for index, segment in enumerate(segments):
            text, style, control = segment
            if control is None and search(text):
                if out is segments:
                    out = list(segments)
                out[index] = Segment(_CONTROL.sub("", text), style)
        return out
