"""The session sidebar: a filter box over one OptionList with a row per session.

Rows are `SessionRow` visuals built from `Content` (never markup), so a title such as "[b]x[/]" or
"[@click=app.quit]" shows literally; control characters are made visible by `one_line`. One
OptionList with one Option per session keeps 10,000 sessions cheap: rows are one line high and are
only rendered when scrolled into view.

The sidebar never touches the store: it posts `FilterChanged` and the screen calls `set_sessions`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.css.styles import RulesMap
from textual.message import Message
from textual.strip import Strip
from textual.style import Style
from textual.timer import Timer
from textual.visual import RenderOptions, Visual
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ..domain import SessionSummary
from ..format import format_age
from ..sanitize import one_line

PIN_MARKER = "★"
UNTITLED = "New session"
FILTER_DEBOUNCE = 0.15  # seconds of typing quiet before the screen re-queries the store
# The list shows at most this many sessions (pinned first, then the most recent): reading and
# listing 100,000 took seconds on every refresh. The rest are a filter (or ctrl+f) away.
SIDEBAR_LIMIT = 1000
MORE_ID = "more"  # the option saying that older sessions are not listed


def session_title(summary: SessionSummary) -> str:
    """The display title: sanitised, on one line, never empty."""
    return one_line(summary.title) or UNTITLED


class SessionRow(Visual):
    """One sidebar row: [pin] title … age, with the age right-aligned to whatever width the list has.

    A Visual (not a padded string) so the alignment follows resizes without rebuilding 10,000 rows.
    Styles come from SessionList's component classes, so the app's tcss can restyle them.
    """

    __slots__ = ("age", "pin_column", "pinned", "title")

    def __init__(self, title: Content, age: str, *, pinned: bool = False, pin_column: bool = False) -> None:
        self.title = title
        self.age = age
        self.pinned = pinned
        self.pin_column = pin_column  # indent unpinned rows so titles line up under pinned ones

    @property
    def plain(self) -> str:
        """The row as plain text (pin marker, title, age), for tests and accessibility."""
        pin = f"{PIN_MARKER} " if self.pinned else ""
        return f"{pin}{self.title.plain} {self.age}".rstrip()

    def __str__(self) -> str:
        return self.plain

    def _prefix(self) -> Content:
        if self.pinned:
            return Content.styled(f"{PIN_MARKER} ", ".session-list--pin")
        return Content("  ") if self.pin_column else Content("")

    def line(self, width: int) -> Content:
        """The row laid out in exactly `width` cells (title truncated with an ellipsis)."""
        prefix = self._prefix()
        age = Content.styled(self.age, ".session-list--age")
        room = width - prefix.cell_length - age.cell_length - 1
        if room < 4:  # too narrow for both: the title matters more than its age
            age, room = Content(""), width - prefix.cell_length
        title = _cut_keeping_suffix(self.title, max(room, 0))
        gap = " " if age else ""
        return Content.assemble(prefix, title, gap, age).truncate(width)

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        if width <= 0:
            return []
        line = self.line(width)
        segments = [
            Segment(text, part_style.rich_style)
            for text, part_style in line.render(style, end="", parse_style=options.get_style)
        ]
        return [Strip(segments, line.cell_length)]

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self._prefix().cell_length + self.title.cell_length + 1 + len(self.age)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 1


# " (copy)" and " (fork)" end the titles of duplicated and forked sessions: cut before them,
# never them, so that such a session can be told from its original in a narrow sidebar.
_SUFFIX = re.compile(r"(?: \((?:copy|fork)\))+$")


def _cut_keeping_suffix(title: Content, width: int) -> Content:
    """`title` in exactly `width` cells: cut with an ellipsis, before a (copy)/(fork) suffix."""
    suffix = _SUFFIX.search(title.plain)
    if title.cell_length <= width or suffix is None or width - (len(suffix.group()) + 2) < 4:
        return title.truncate(width, ellipsis=True, pad=True)
    head = Content(title.plain[: suffix.start()]).truncate(width - len(suffix.group()), ellipsis=True)
    return Content.assemble(head, suffix.group()).truncate(width, pad=True)


def session_option(summary: SessionSummary, now: float, *, pin_column: bool) -> Option:
    """An Option for one session; its id is the session id as a string."""
    row = SessionRow(
        Content(session_title(summary)),
        format_age(now - summary.updated_at),
        pinned=summary.pinned,
        pin_column=pin_column,
    )
    return Option(row, id=str(summary.id))


class SessionList(OptionList):
    """An OptionList of SessionRow options. Also reused by the session switcher."""

    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {
        "session-list--age",
        "session-list--pin",
        "session-list--match",  # fuzzy-matched characters in the switcher
    }

    DEFAULT_CSS = """
    SessionList {
        height: 1fr;
        width: 1fr;
        & > .session-list--age { color: $text-muted; }
        & > .session-list--pin { color: $text-warning; }
        & > .session-list--match { color: $text-accent; text-style: bold underline; }
    }
    """

    def session_id_at(self, index: int) -> int | None:
        """The session id of the option at `index`, or None when out of range."""
        if 0 <= index < self.option_count:
            option_id = self.get_option_at_index(index).id
            return int(option_id) if option_id is not None and option_id.isdigit() else None
        return None


class Sidebar(Vertical):
    """Filter input + session list. Posts `SessionSelected` and `FilterChanged`; the screen acts."""

    DEFAULT_CSS = """
    Sidebar {
        height: 1fr;
        & > Input { width: 1fr; }
    }
    """

    # show=False: these only make sense inside the sidebar; the app's bindings and help list the rest.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "focus_list", "Go to list", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    @dataclass
    class SessionSelected(Message):
        """The user chose a session (Enter or click on a row, select_next/previous/index)."""

        session_id: int

    @dataclass
    class FilterChanged(Message):
        """The filter text changed (debounced); the screen re-queries and calls `set_sessions`."""

        text: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # Built here, not in compose, so set_sessions works before the sidebar is mounted.
        self.filter_input = Input(placeholder="Filter sessions…", id="session-filter")
        self.session_list = SessionList(id="session-list")
        self._filter_timer: Timer | None = None
        self._posted_filter = ""

    def compose(self) -> ComposeResult:
        yield self.filter_input
        yield self.session_list

    # -- attributes down -------------------------------------------------------------------------

    def set_sessions(
        self, sessions: Sequence[SessionSummary], *, now: float, selected_id: int | None = None, more: bool = False
    ) -> None:
        """Replace the list. Pinned sessions come first (stable, so the store's order is kept within
        each group), followed by a divider. `selected_id` is highlighted if present, otherwise the
        previously highlighted session stays highlighted if it is still listed. `more`: older
        sessions exist that are not listed (see SIDEBAR_LIMIT); a last row says so."""
        keep = selected_id if selected_id is not None else self.selected_id
        pinned = [s for s in sessions if s.pinned]
        others = [s for s in sessions if not s.pinned]
        pin_column = bool(pinned)
        options: list[Option | None] = [session_option(s, now, pin_column=pin_column) for s in pinned]
        if pinned and others:
            options.append(None)  # OptionList draws a rule under the previous option
        options.extend(session_option(s, now, pin_column=pin_column) for s in others)
        if more:
            hint = Content.styled("… older sessions: type to filter, or ctrl+f", ".session-list--age")
            options.append(Option(hint, id=MORE_ID, disabled=True))
        # set_options is clear + a single add_options call.
        self.session_list.set_options(options)
        if keep is not None:
            self.highlight_session(keep)

    def highlight_session(self, session_id: int) -> bool:
        """Move the highlight to `session_id` without posting anything. False if it is not listed."""
        try:
            self.session_list.highlighted = self.session_list.get_option_index(str(session_id))
        except OptionDoesNotExist:
            return False
        return True

    @property
    def selected_id(self) -> int | None:
        """The session id of the highlighted row (None when nothing is highlighted)."""
        highlighted = self.session_list.highlighted
        return None if highlighted is None else self.session_list.session_id_at(highlighted)

    @property
    def filter_text(self) -> str:
        return self.filter_input.value

    def select_next(self) -> None:
        """Highlight the next session and post SessionSelected. Clamps at the end (no wrap-around:
        jumping from the newest to the oldest of thousands of sessions would be disorienting)."""
        self._select_relative(+1)

    def select_previous(self) -> None:
        """Highlight the previous session and post SessionSelected. Clamps at the start."""
        self._select_relative(-1)

    def select_index(self, index: int) -> None:
        """Highlight the session at 0-based display `index` (alt+1 is index 0) and post SessionSelected.
        Out of range does nothing."""
        if 0 <= index < self.session_list.option_count:
            self._select(index)

    # -- internals -------------------------------------------------------------------------------

    def _select_relative(self, step: int) -> None:
        count = self.session_list.option_count
        if not count:
            return
        current = self.session_list.highlighted
        # Nothing highlighted (e.g. the open session was filtered out): start from the top.
        target = 0 if current is None else max(0, min(count - 1, current + step))
        if target != current:
            self._select(target)

    def _select(self, index: int) -> None:
        self.session_list.highlighted = index
        session_id = self.session_list.session_id_at(index)
        if session_id is not None:
            self.post_message(self.SessionSelected(session_id))

    def action_focus_list(self) -> None:
        if not self.filter_input.has_focus:
            raise SkipAction()  # let the focused widget / screen have "down"
        self._flush_filter()
        if self.session_list.highlighted is None and self.session_list.option_count:
            self.session_list.highlighted = 0
        self.session_list.focus()

    def action_clear_filter(self) -> None:
        if not self.filter_input.has_focus or not self.filter_input.value:
            raise SkipAction()  # Escape with nothing to clear belongs to the screen
        self.filter_input.value = ""
        self._flush_filter()

    @on(Input.Changed, "#session-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, self._flush_filter)

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        # Enter in the filter: same as Down, into the (re-queried) list.
        event.stop()
        self.action_focus_list()

    def _flush_filter(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        text = self.filter_input.value
        if text != self._posted_filter:
            self._posted_filter = text
            self.post_message(self.FilterChanged(text))

    @on(OptionList.OptionSelected, "#session-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.post_message(self.SessionSelected(int(event.option_id)))

    @on(OptionList.OptionHighlighted, "#session-list")
    def _option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()  # moving the highlight is not a choice; only Enter/click is
