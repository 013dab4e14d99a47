"""The message composer: a multi-line TextArea where Enter sends.

Newline keys: shift+enter where the terminal reports it (kitty keyboard protocol), and ctrl+j or
alt+enter everywhere. Up in an empty composer recalls the last user message for editing.

Enter empties the composer at once, in the key handler, and hands the text over in `Submitted`:
keys typed while the screen is still sending land in an empty composer instead of being wiped
by a later clear. If the screen cannot send, it gives the text back (`give_back`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widgets import TextArea

from ..sanitize import one_line

NEWLINE_KEYS = frozenset({"shift+enter", "ctrl+j", "alt+enter", "ctrl+enter"})
# TextArea re-wraps a whole line on every edit: past this length (a pasted minified file) typing
# would lag by seconds, so soft wrap is turned off and the line scrolls sideways instead.
LONG_LINE = 10_000


def _has_long_line(text: str) -> bool:
    return len(text) > LONG_LINE and any(len(line) > LONG_LINE for line in text.splitlines())


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer { height: auto; min-height: 3; max-height: 12; }
    """

    @dataclass
    class Submitted(Message):
        """Enter pressed with text in the composer (the composer is already empty)."""

        text: str

    class RecallLast(Message):
        """Up pressed in an empty composer: the screen fills in the last user message."""

    def __init__(self, *, id: str | None = None, submit_empty: bool = False) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.placeholder = "Message · Enter sends · ctrl+j new line"
        self.submit_empty = submit_empty  # Enter in an empty composer submits too (compare: answer again)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip() or self.submit_empty:
                self.set_text("")
                self.post_message(self.Submitted(text))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.RecallLast())
            return
        await super()._on_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        # Runs before TextArea's own paste handler (Textual calls each class's handler in turn).
        if self.soft_wrap and _has_long_line(event.text):
            self.soft_wrap = False

    def give_back(self, text: str) -> None:
        """A submitted text could not be sent: put it back, before anything typed since."""
        typed = self.text
        self.set_text(text + ("\n" + typed if typed else ""))

    def show_prefill(self, prefill: str) -> None:
        """Show on the composer's border what the next answer will start with ("" hides it)."""
        self.border_title = Content(f"answer starts with: {one_line(prefill, 48)}") if prefill else None

    def set_text(self, text: str) -> None:
        """Replace the text and put the cursor at its end."""
        self.soft_wrap = not _has_long_line(text)
        self.load_text(text)
        self.move_cursor(self.document.end)
