"""One column of the compare screen: the target's label, its answer as it streams (a MessageView
in a scroll of its own) and its figures. Keyboard: the column's body takes focus; up/down/page
keys scroll it, left/right move to the neighbouring column, Enter picks it, x stops it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from ..domain import ChatMessage
from ..sanitize import neutralize
from .message_view import MessageView


class ColumnBody(VerticalScroll):
    """The scrolling text of a column: what takes focus."""

    BINDINGS = [
        Binding("left", "step(-1)", "‹ Column", show=False),
        Binding("right", "step(1)", "Column ›", show=False),
        Binding("enter", "pick", "Pick this answer"),
        Binding("x", "stop", "Stop column"),
    ]

    def action_step(self, step: int) -> None:
        column = self.parent
        if isinstance(column, ColumnView):
            column.focus_neighbour(step)

    def action_pick(self) -> None:
        if isinstance(self.parent, ColumnView):
            self.post_message(ColumnView.PickRequested(self.parent.index))

    def action_stop(self) -> None:
        if isinstance(self.parent, ColumnView):
            self.post_message(ColumnView.StopRequested(self.parent.index))


class ColumnView(Vertical):
    DEFAULT_CSS = """
    ColumnView { width: 1fr; height: 1fr; border: round $panel-lighten-2; border-title-color: $text; }
    ColumnView:focus-within { border: round $accent; border-title-style: bold; }
    ColumnView.-picked { border: double $success; }
    ColumnView ColumnBody { height: 1fr; scrollbar-size-vertical: 1; }
    ColumnView MessageView { margin: 0; padding: 0 1 0 0; border-left: none; }
    ColumnView MessageView:focus { border-left: none; }
    ColumnView MessageView .role, ColumnView MessageView .footer { display: none; }
    ColumnView .figures { height: auto; max-height: 3; color: $text-muted; padding: 0 1; }
    ColumnView .figures.-error, ColumnView .figures.-interrupted { color: $warning; }
    """

    @dataclass
    class PickRequested(Message):
        """Enter on a column: make its answer the session's next message."""

        index: int

    @dataclass
    class StopRequested(Message):
        index: int

    def __init__(self, index: int, label: str, message: ChatMessage) -> None:
        super().__init__()
        self.index = index  # 0-based
        self.label = label
        self.view = MessageView(message)
        self.view.can_focus = False  # the body takes focus, and scrolls
        self.border_title = neutralize(f"{index + 1} · {label}")

    def compose(self) -> ComposeResult:
        with ColumnBody():
            yield self.view
        yield Static("", classes="figures", markup=False)

    @property
    def body(self) -> ColumnBody:
        return self.query_one(ColumnBody)

    @property
    def text(self) -> str:
        return self.view.text

    def focus_body(self) -> None:
        self.body.focus()

    def focus_neighbour(self, step: int) -> None:
        columns = [c for c in self.parent.children if isinstance(c, ColumnView)] if self.parent else []
        index = columns.index(self) + step if self in columns else -1
        if 0 <= index < len(columns):
            columns[index].focus_body()

    def show_figures(self, text: str, state: str = "") -> None:
        figures = self.query_one(".figures", Static)
        figures.update(text)
        for name in ("error", "interrupted"):
            figures.set_class(state == name, f"-{name}")

    def start_stream(self) -> None:
        self.view.start_stream()

    def follow(self) -> None:
        """Follow the text as it grows, until the user scrolls: anchored once it overflows (an
        anchored scroll shows short text at its bottom, as a chat does; a column reads from the top)."""
        body = self.body
        if not body.is_anchored and body.max_scroll_y > 0:
            body.anchor()

    async def finish(self, message: ChatMessage) -> None:
        await self.view.finish(message)

    def mark_picked(self) -> None:
        self.add_class("-picked")
        self.border_title = neutralize(f"{self.index + 1} · {self.label} ✓ picked")
