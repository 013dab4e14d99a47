"""The shape shared by the session switcher and the search screen: an input with a list under
it, where typing filters and the cursor keys move in the list without leaving the input."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList

T = TypeVar("T")


class PickerScreen(ModalScreen[T | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "move('cursor_down')", "Next", show=False),
        Binding("up", "move('cursor_up')", "Previous", show=False),
        Binding("pagedown", "move('page_down')", "Page down", show=False),
        Binding("pageup", "move('page_up')", "Page up", show=False),
    ]

    @property
    def picker_list(self) -> OptionList:
        raise NotImplementedError

    def action_move(self, action: str) -> None:
        getattr(self.picker_list, f"action_{action}")()

    def action_cancel(self) -> None:
        self.dismiss(None)
