"""The text of one message: markdown painted line by line by a single widget.

One widget however long the message (Textual's Markdown widget makes a widget per block, and each
layout pass visits all of them). The lines come from a MarkdownDocument; only the lines on screen
are turned into strips (and cached), so a long message costs its layout once, not on every frame.
A message too long to lay out in one go without a visible pause is laid out in a worker thread
(`THREAD_CHARS`); until then it keeps its previous lines, or shows that it is being laid out.
"""

from __future__ import annotations

import asyncio

from rich.segment import Segment
from textual import work
from textual.content import Content
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget

from .markdown_document import LaidSection, Line, MarkdownDocument, as_content, layout_sections, plain, same_line

# Laying out costs about 2-3 ms per 1,000 characters on a slow core: above this, a worker thread
# does it so that a key press never waits behind it.
THREAD_CHARS = 6_000

# While an answer streams, its height grows this many lines at a time (blank lines wait under the
# text): an update that does not change the height repaints only the lines that changed, while a
# change of height makes Textual lay out the screen twice and repaint the whole chat (~8 ms).
GROWTH_LINES = 4

STRIP_CACHE = 200  # painted lines kept (a few screens)


class MessageBody(Widget):
    """Markdown text (already neutralised by the caller: no terminal controls). Links are shown,
    never followed: the text is untrusted."""

    COMPONENT_CLASSES = {
        "md--h1",
        "md--h2",
        "md--h3",
        "md--h4",
        "md--h5",
        "md--h6",
        "md--em",
        "md--strong",
        "md--s",
        "md--link",
        "md--code-inline",
        "md--bullet",
        "md--quote",
        "md--quote-bar",
        "md--fence",
        "md--code-language",
        "md--code-number",
        "md--hr",
        "md--table-line",
        "md--table-header",
        "md--pending",
    }

    # The look of Textual's Markdown widget (the same theme variables), plus code block labels.
    DEFAULT_CSS = """
    MessageBody {
        height: auto;
        width: 1fr;
        & > .md--h1 {
            color: $markdown-h1-color; background: $markdown-h1-background;
            text-style: $markdown-h1-text-style;
        }
        & > .md--h2 {
            color: $markdown-h2-color; background: $markdown-h2-background;
            text-style: $markdown-h2-text-style;
        }
        & > .md--h3 {
            color: $markdown-h3-color; background: $markdown-h3-background;
            text-style: $markdown-h3-text-style;
        }
        & > .md--h4 {
            color: $markdown-h4-color; background: $markdown-h4-background;
            text-style: $markdown-h4-text-style;
        }
        & > .md--h5 {
            color: $markdown-h5-color; background: $markdown-h5-background;
            text-style: $markdown-h5-text-style;
        }
        & > .md--h6 {
            color: $markdown-h6-color; background: $markdown-h6-background;
            text-style: $markdown-h6-text-style;
        }
        & > .md--em { text-style: italic; }
        & > .md--strong { text-style: bold; }
        & > .md--s { text-style: strike; }
        & > .md--link { text-style: underline; color: $text-accent; }
        &:dark > .md--code-inline { background: $warning 10%; color: $text-warning 95%; }
        &:light > .md--code-inline { background: $error 5%; color: $text-error 95%; }
        & > .md--bullet { color: $text-primary; }
        & > .md--quote { background: $boost; }
        & > .md--quote-bar { color: $text-primary 50%; }
        &:light > .md--quote-bar { color: $text-secondary; }
        & > .md--fence { background: $foreground 7%; color: rgb(210,210,210); }
        &:light > .md--fence { color: $foreground; }
        & > .md--code-language { color: $text-accent; text-style: bold; }
        & > .md--code-number { color: $text-muted; }
        & > .md--hr { color: $secondary; }
        & > .md--table-line { color: $foreground 20%; }
        & > .md--table-header { color: $primary; text-style: bold; }
        & > .md--pending { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self, markdown: str = "") -> None:
        super().__init__()
        self.document = MarkdownDocument(markdown)
        self._shown: list[Line] = []  # the lines painted (may lag behind during a threaded layout)
        self._shown_width = 0
        # y -> (line, width, strip) for the lines painted lately: a Strip is a heavy object (its own
        # caches), and the cyclic GC's pauses grow with the number of objects alive.
        self._strips: dict[int, tuple[Line, int, Strip]] = {}
        self._styles: dict[str, Style] = {}
        self._threaded: tuple[int, int] | None = None  # (width, version) being laid out in a thread
        self._reserved = 0  # while streaming: the height given to the layout (see GROWTH_LINES)
        self.streaming = False

    @property
    def source(self) -> str:
        return self.document.source

    # -- changing the text ---------------------------------------------------------------------

    def update(self, markdown: str) -> None:
        """Show `markdown` instead of what is shown."""
        self.document.replace(markdown)
        self._relayout(0)

    def append(self, markdown: str) -> None:
        """Add streamed text at the end: only the last section is laid out again."""
        if not markdown:
            return
        self.document.append(markdown)
        self._relayout(self.document.frozen_lines())

    def start_streaming(self) -> None:
        """Text will be appended: grow GROWTH_LINES at a time until `stop_streaming`."""
        self.streaming = True

    def stop_streaming(self) -> None:
        self.streaming = False
        if self._reserved:
            self._reserved = 0
            self.refresh(layout=True)

    def _height(self) -> int:
        lines = len(self._shown)
        if not self.streaming:
            return lines
        if lines > self._reserved:
            self._reserved = lines + GROWTH_LINES
        return self._reserved

    def _relayout(self, unchanged: int) -> None:
        """The document changed below line `unchanged`: lay out now, or in a thread if it is long."""
        width = self._shown_width
        if not width or not self.is_mounted:
            self.refresh(layout=True)
            return
        before = self._height()
        old = self._shown
        if not self._lay_out(width):
            return
        new = self._shown
        # Usually only the last line or two changed: keep the strips of the lines that did not.
        first, limit = unchanged, min(len(old), len(new))
        while first < limit and same_line(old[first], new[first]):
            cached = self._strips.get(first)
            if cached is not None and cached[0] is old[first]:
                self._strips[first] = (new[first], cached[1], cached[2])
            first += 1
        for y in [y for y in self._strips if y >= first]:
            del self._strips[y]
        if self._height() != before:
            self.refresh(layout=True)
        elif (end := max(len(old), len(new))) > first:
            self.refresh(Region(0, first, width, end - first))

    def _lay_out(self, width: int) -> bool:
        """Make `_shown` the document at `width`: now if that is quick, else start a thread (False).
        A streamed answer's last section is always laid out now (it changes with every update: a
        thread's result would be stale before it came back); a long code block makes it cost
        ~2 ms per 1,000 characters, which the pacing spreads out."""
        document = self.document
        if document.pending_chars(width) > THREAD_CHARS and not document.only_the_last_pending(width):
            if self._threaded is None or self._threaded[0] != width:
                self._threaded = (width, document.version)
                self._lay_out_in_thread(document.sections(), width)
            return False  # a thread is on it; what changes meanwhile is laid out when it is done
        self._shown = document.lines(width)
        self._shown_width = width
        return True

    @work(group="layout", exclusive=True)
    async def _lay_out_in_thread(self, sections: list[str], width: int) -> None:
        # A thread cannot be cancelled: it stops by itself once its width is not the one wanted
        # (else it holds the GIL against the next one's thread and the event loop until it is done).
        def gone() -> bool:
            return self._threaded is None or self._threaded[0] != width

        laid: list[LaidSection] = await asyncio.to_thread(layout_sections, sections, width, gone)
        if self._threaded is None or self._threaded[0] != width:
            return  # resized meanwhile: a newer layout is on its way
        self._threaded = None
        self.document.adopt(laid)
        self._shown = self.document.lines(width)
        self._shown_width = width
        self._strips.clear()
        self.refresh(layout=True)

    def on_unmount(self) -> None:
        self._threaded = None  # gone from the screen (another session opened): its thread stops

    # -- Textual's side ------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width <= 0:
            return 0
        if width != self._shown_width or self.document.pending_chars(width):
            if self._lay_out(width):
                self._strips.clear()
            elif not self._shown:
                # Laid out in a thread, nothing to show yet: about as tall as it will be, so that
                # the chat does not jump when it is done. (Otherwise the old lines stay meanwhile.)
                source = self.document.source
                return max(1, source.count("\n") + len(source) // width)
        return self._height()

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._strips.clear()
        super().notify_style_update()

    def _style(self, name: str | Style) -> Style:
        if isinstance(name, Style):
            return name
        style = self._styles.get(name)
        if style is None:
            style = self.get_visual_style(name[1:], partial=True) if name.startswith(".") else Style.parse(name)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.visual_style
        if y >= len(self._shown):
            if y == 0 and self._threaded is not None:
                return self._paint(y, Content("laying out…").stylize(".md--pending"), width, base)
            return Strip.blank(width, base.rich_style)
        shown = self._shown[y]
        selection = self.text_selection
        if selection is None:
            cached = self._strips.get(y)
            if cached is not None and cached[0] is shown and cached[1] == width:
                return cached[2]
        line = as_content(shown)
        if selection is not None and (span := selection.get_span(y)) is not None:
            start, end = span
            selected = self.screen.get_visual_style("screen--selection")
            line = line.stylize(selected, start, len(line) if end == -1 else end)
        strip = self._paint(y, line, width, base)
        if selection is None:
            self._strips.pop(y, None)
            self._strips[y] = (shown, width, strip)
            if len(self._strips) > STRIP_CACHE:  # the least recently painted goes
                del self._strips[next(iter(self._strips))]
        return strip

    def _paint(self, y: int, line: Content, width: int, base: Style) -> Strip:
        if line.cell_length > width:  # laid out for another width (a thread is laying it out again)
            line = line.truncate(width)
        segments: list[Segment] = []
        x = 0
        for text, style in line.render(base, end="", parse_style=self._style):
            segments.append(Segment(text, (base + style).rich_style_with_offset(x, y)))
            x += len(text)
        if line.cell_length < width:
            segments.append(Segment(" " * (width - line.cell_length), base.rich_style))
        return Strip(segments, width)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join(plain(line) for line in self._shown)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()
