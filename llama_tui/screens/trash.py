"""The trash: sessions deleted here or in another window on the same store, kept until they are
restored, deleted for good, or purged after `trash_days`.

Enter restores the highlighted session (and the main screen opens it); d deletes it for good and
E empties the trash, each after a question. Titles are untrusted text: rows are Content built
from neutralised plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..chat.sessions import Sessions
from ..chat.writes import FAILED
from ..format import format_age
from ..sanitize import one_line
from ..store import TrashedSession
from .confirm import ConfirmScreen


def trash_row(item: TrashedSession, now: float) -> Content:
    """'title   deleted 5m ago · 12 messages' as plain Content."""
    age = format_age(now - item.deleted_at)
    when = "deleted just now" if age == "now" else f"deleted {age} ago"
    count = f"{item.message_count:,} message{'' if item.message_count == 1 else 's'}"
    return Content.assemble(one_line(item.title or "New session", 60), (f"   {when} · {count}", "dim"))


class TrashScreen(ModalScreen[int | None]):
    """Dismisses with the id of a session it restored (to open it), or None."""

    DEFAULT_CSS = """
    TrashScreen { align: center middle; }
    TrashScreen > Vertical {
        width: 80%; max-width: 110; height: 70%;
        border: thick $primary 60%; background: $surface;
    }
    TrashScreen OptionList { height: 1fr; }
    TrashScreen .hint, TrashScreen #trash-empty { color: $text-muted; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False),
        Binding("d,delete", "purge", "Delete for good"),
        Binding("E", "empty", "Empty the trash"),
    ]

    def __init__(self, sessions: Sessions, clock: Callable[[], float]) -> None:
        super().__init__()
        self.sessions = sessions
        self.clock = clock
        self.items: list[TrashedSession] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Trash · Enter restore · d delete for good · E empty the trash · Esc close",
                classes="hint",
                markup=False,
            )
            yield OptionList(id="trash-list")
            yield Static("The trash is empty.", id="trash-empty", markup=False)

    def on_mount(self) -> None:
        self.refill()
        self.query_one(OptionList).focus()

    def refill(self) -> None:
        """List the trash as it is now (another instance may have changed it)."""
        self.items = self.sessions.trash()
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        now = self.clock()
        listing.add_options(Option(trash_row(item, now), id=str(item.id)) for item in self.items)
        if self.items:
            listing.highlighted = min(highlighted or 0, len(self.items) - 1)
        listing.display = bool(self.items)
        self.query_one("#trash-empty").display = not self.items

    def _highlighted(self) -> TrashedSession | None:
        index = self.query_one(OptionList).highlighted
        return self.items[index] if index is not None and 0 <= index < len(self.items) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        item = self._highlighted()
        if item is None:
            return
        if self.sessions.restore(item.id):
            self.dismiss(item.id)
        else:
            self.notify("That session is no longer in the trash.", severity="warning")
            self.refill()

    def action_purge(self) -> None:
        item = self._highlighted()
        if item is None:
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.sessions.purge(item.id):
                self.notify("That session is no longer in the trash.", severity="warning")
            self.refill()

        title = one_line(item.title or "New session", 60)
        question = f"Delete “{title}” for good? It cannot be brought back."
        self.app.push_screen(ConfirmScreen(question, "Delete for good"), answered)

    def action_empty(self) -> None:
        if not self.items:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                purged = self.sessions.empty_trash()
                if purged is not FAILED:
                    self.notify(f"Deleted {purged:,} session{'' if purged == 1 else 's'} for good.")
            self.refill()

        count = len(self.items)
        question = f"Delete the {count:,} session{'' if count == 1 else 's'} in the trash for good?"
        self.app.push_screen(ConfirmScreen(question, "Empty the trash"), answered)

    def action_close(self) -> None:
        self.dismiss(None)
