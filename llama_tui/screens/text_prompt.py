"""Ask for one line of text (rename a session, name a preset): Enter returns it, Escape returns None."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..sanitize import neutralize, one_line
from ..widgets.composer import Composer


class TextPromptScreen(ModalScreen[str | None]):
    """Dismisses with the entered text (stripped; may be "") or None when cancelled."""

    DEFAULT_CSS = """
    TextPromptScreen {
        align: center middle;
        & > #dialog {
            width: 60%;
            min-width: 40;
            max-width: 100;
            height: auto;
            padding: 1 2;
            border: thick $primary 60%;
            background: $surface;
        }
        & #prompt-title { margin-bottom: 1; }
        & #prompt-hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, initial: str = "", placeholder: str = "", *, multiline: bool = False) -> None:
        """`multiline`: a text of several lines, returned as typed (not stripped)."""
        super().__init__()
        self.multiline = multiline
        self.prompt_title = title
        self.initial = initial
        # Titles are untrusted: show control characters as visible symbols, on one line.
        self._shown_initial = one_line(initial)
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content(neutralize(self.prompt_title)), id="prompt-title")
            if self.multiline:
                area = Composer(id="prompt-area")
                area.placeholder = self.placeholder
                yield area
                hint = "Enter to accept · ctrl+j or alt+enter for a new line · Escape to cancel"
            else:
                yield Input(value=self._shown_initial, placeholder=self.placeholder, id="prompt-input")
                hint = "Enter to accept · Escape to cancel"
            yield Static(Content(hint), id="prompt-hint")

    def on_mount(self) -> None:
        if self.multiline:
            area = self.query_one("#prompt-area", Composer)
            area.set_text(self.initial)
            area.focus()

    @on(Composer.Submitted)
    def _area_submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        self.dismiss(event.text)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        # Unchanged: hand back the original, not its sanitised display form.
        self.dismiss(self.initial if value == self._shown_initial.strip() else value)

    def action_cancel(self) -> None:
        self.dismiss(None)
