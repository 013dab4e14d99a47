"""A yes/no question in a modal dialog: y/Enter confirm, n/Escape cancel (buttons too)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..sanitize import neutralize


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True (confirmed) or False (cancelled)."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > #dialog {
            width: auto;
            min-width: 40;
            max-width: 80%;
            height: auto;
            padding: 1 2;
            border: thick $error 60%;
            background: $surface;
        }
        & #question { width: auto; max-width: 76; margin-bottom: 1; }
        & #buttons { width: 100%; height: auto; align-horizontal: right; }
        & #buttons > Button { margin-left: 2; }
    }
    """

    # Enter on a focused button presses that button (Button binds enter); the confirm button has
    # focus initially, so a bare Enter confirms.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "confirm", "Confirm", show=False),
        Binding("n,escape", "cancel", "Cancel", show=False),
    ]

    AUTO_FOCUS = "#confirm"

    def __init__(self, question: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # Content, not markup: the question usually quotes a session title.
            yield Static(Content(neutralize(self.question)), id="question")
            with Horizontal(id="buttons"):
                yield Button(Content("Cancel"), id="cancel")
                yield Button(Content(self.confirm_label), variant="error", id="confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)
