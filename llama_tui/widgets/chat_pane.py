"""The conversation: message views in a scroll, newest at the bottom, mounted a window at a time.

A session of any length opens at once and stays cheap: only a window of consecutive messages is
mounted (a few screens' worth, at most MAX_VIEWS views). Scrolling to the top of the window mounts
the page before it and unmounts what falls out at the bottom, and the other way round; Home and End
jump to the first and last page, and `reveal` (a search hit) to the page around a message. Every
layout pass visits every mounted widget, so the widget count, and the cost of a frame, stay
bounded whatever the length of the session.

A view whose answer is still streaming is never unmounted (its generation writes into it): when
the window moves away from the end it is only hidden, and shown again when the window comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ..domain import ChatMessage
from .message_view import DISPLAY_LIMIT, MessageView

# A page is about a screen of messages (by their estimated height), at most PAGE_MAX of them. The
# window holds at most MAX_VIEWS views and WINDOW_CHARS characters of text (each view is a few
# widgets whatever its length; its laid-out lines cost memory).
PAGE_MAX = 24
MAX_VIEWS = 30
WINDOW_CHARS = 250_000
EDGE = 2  # lines from the top or bottom of the window that bring in the next page


def estimated_height(message: ChatMessage, width: int) -> int:
    """Lines a message will take (role line, text, footer, margin), without laying it out."""
    text = message.content[:20_000]
    return 3 + text.count("\n") + len(text) // max(20, width)


class ChatPane(VerticalScroll):
    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane .empty { color: $text-muted; padding: 1 2; }
    ChatPane .older, ChatPane .newer { color: $text-muted; padding: 0 2; }
    """

    BINDINGS = [
        Binding("home", "first_page", "First message", show=False),
        Binding("end", "last_page", "Last message", show=False),
    ]

    @dataclass
    class Paged(Message):
        """Views were mounted by paging (the screen may annotate them, e.g. with alternatives)."""

        views: list[MessageView]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self._messages: list[ChatMessage] = []  # the whole conversation shown, oldest first
        self._lo = 0  # messages[_lo:_hi] are mounted, in order
        self._hi = 0
        self._paging = False
        self._alternatives: dict[int, tuple[int, int]] = {}  # by message id, kept across unmounts

    # -- what the screen calls -------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message of the conversation shown (mounted or not), as last seen."""
        self._sync()
        return list(self._messages)

    def views(self) -> list[MessageView]:
        """The views of the window (mounted and shown), oldest first."""
        return [view for view in self.query_children(MessageView) if view.display]

    async def show(self, messages: list[ChatMessage]) -> None:
        """Replace the conversation shown; its last page is mounted."""
        await self.remove_children()
        self._messages = list(messages)
        self._lo = self._hi = 0
        self._alternatives = {}
        await self._mount_window(self._page_before(len(messages)), len(messages), keep_pinned=False)
        self.scroll_end(animate=False, immediate=True)
        self.anchor()

    async def add(self, message: ChatMessage) -> MessageView:
        """A new message at the end (shown: the window moves to the end first)."""
        if self._hi < len(self._messages):
            await self._mount_window(self._page_before(len(self._messages)), len(self._messages))
        self._messages.append(message)
        view = MessageView(message)
        await self.mount(view)
        self._hi = len(self._messages)
        await self._trim(keep_bottom=True)
        await self._update_markers()
        self.scroll_end(animate=False)
        self.anchor()
        return view

    async def reveal(self, message_id: int) -> None:
        """Mount the page around `message_id` if it is not mounted, then scroll to it and focus it."""
        index = next((i for i, m in enumerate(self._messages) if m.id == message_id), None)
        if index is None:
            return
        if not self._lo <= index < self._hi:
            lo = self._page_before(index)
            await self._mount_window(lo, min(len(self._messages), self._page_after(index), lo + MAX_VIEWS))
        for view in self.views():
            if view.message.id == message_id:
                view.focus(scroll_visible=False)
                self.call_after_refresh(view.scroll_visible, animate=False, top=True)

    async def action_first_page(self) -> None:
        if self._lo > 0:
            await self._mount_window(0, self._page_after(0))
        self.anchor(False)
        self.call_after_refresh(self.scroll_home, animate=False)

    async def action_last_page(self) -> None:
        if self._hi < len(self._messages):
            await self._mount_window(self._page_before(len(self._messages)), len(self._messages))
        self.scroll_end(animate=False)
        self.anchor()

    # -- the window -------------------------------------------------------------------------------

    def _width(self) -> int:
        return self.scrollable_content_region.width or self.app.size.width

    def _screen(self) -> int:
        return max(10, self.scrollable_content_region.height or self.app.size.height)

    def _page_before(self, end: int) -> int:
        """The start of the page that ends at message `end` (about a screen, at least one)."""
        height, start, width = 0, end, self._width()
        while start > 0 and end - start < PAGE_MAX and (height < self._screen() or start == end):
            start -= 1
            height += estimated_height(self._messages[start], width)
        return start

    def _page_after(self, start: int) -> int:
        height, end, width = 0, start, self._width()
        while end < len(self._messages) and end - start < PAGE_MAX and (height < self._screen() or end == start):
            height += estimated_height(self._messages[end], width)
            end += 1
        return end

    def _pinned(self) -> MessageView | None:
        """The streaming answer's view, kept mounted (hidden) while the window is elsewhere."""
        views = list(self.query_children(MessageView))
        return views[-1] if views and not views[-1].display else None

    def _sync(self) -> None:
        """Take back what the mounted views know (a finished answer, alternatives)."""
        pairs = list(zip(range(self._lo, self._hi), self.views(), strict=False))
        pinned = self._pinned()
        if pinned is not None and self._messages:
            pairs.append((len(self._messages) - 1, pinned))
        for index, view in pairs:
            self._messages[index] = view.message
            if view.alternatives != (1, 1) and view.message.id is not None:
                self._alternatives[view.message.id] = view.alternatives

    def _make_views(self, lo: int, hi: int) -> list[MessageView]:
        views = [MessageView(message) for message in self._messages[lo:hi]]
        for view in views:
            if view.message.id is not None and view.message.id in self._alternatives:
                view.alternatives = self._alternatives[view.message.id]
        return views

    async def _mount_window(self, lo: int, hi: int, *, keep_pinned: bool = True) -> None:
        """Mount exactly messages[lo:hi]. The streaming answer's view is kept (hidden if outside)."""
        self._sync()
        keep = self._pinned() if keep_pinned else None
        if keep_pinned and keep is None:
            views = self.views()
            if views and self._hi == len(self._messages) and views[-1].message.state == "streaming":
                keep = views[-1]
        await self._unmount([child for child in self.children if child is not keep])
        self._lo, self._hi = lo, hi
        at_end = hi == len(self._messages)
        fresh = self._make_views(lo, hi - 1 if keep is not None and at_end else hi)
        if fresh:
            await self.mount_all(fresh, before=keep)
        if keep is not None:
            keep.display = at_end
        await self._update_markers()
        if fresh:
            self.post_message(self.Paged(fresh))
        if not at_end:
            self.anchor(False)
        self.call_after_refresh(self._fill)

    async def _unmount(self, widgets: Sequence[Widget]) -> None:
        """Remove widgets; the focus, if it was on one of them, goes to the pane (Textual would
        move it to the next widget and scroll there, animated)."""
        focused = self.screen.focused if self.is_attached else None
        if focused is not None and any(focused is w or w in focused.ancestors for w in widgets):
            self.focus(scroll_visible=False)
        await self.remove_children(widgets)

    async def _update_markers(self) -> None:
        await self.remove_children(list(self.query_children(".older, .newer, .empty")))
        if not self._messages:
            await self.mount(Static("No messages yet. Type below and press Enter.", classes="empty", markup=False))
            return
        views = self.views()
        if self._lo > 0:
            text = f"↑ {self._lo:,} older messages (scroll up; Home for the first)"
            await self.mount(Static(text, classes="older", markup=False), before=views[0] if views else None)
        newer = len(self._messages) - self._hi
        if newer > 0:
            text = f"↓ {newer:,} newer messages (scroll down; End for the last)"
            await self.mount(Static(text, classes="newer", markup=False), after=views[-1] if views else None)

    async def _page(self, older: bool) -> None:
        """Mount the page before (older) or after the window, keeping the view still, then trim."""
        views = self.views()
        if not views or (older and self._lo == 0) or (not older and self._hi == len(self._messages)):
            self._paging = False
            return
        anchor = views[0] if older else views[-1]
        offset = anchor.virtual_region.y - self.scroll_y
        self._sync()
        if older:
            lo = self._page_before(self._lo)
            fresh = self._make_views(lo, self._lo)
            await self.mount_all(fresh, before=views[0])
            self._lo = lo
        else:
            hi = self._page_after(self._hi)
            pinned = self._pinned()
            at_end = hi == len(self._messages)
            fresh = self._make_views(self._hi, hi - 1 if pinned is not None and at_end else hi)
            if fresh:
                await self.mount_all(fresh, after=views[-1])
            if pinned is not None and at_end:
                pinned.display = True
            self._hi = hi
        await self._trim(keep_bottom=not older)
        await self._update_markers()
        if self._hi < len(self._messages):
            self.anchor(False)  # else the next layout would scroll to the bottom of the window
        if fresh:
            self.post_message(self.Paged(fresh))
        self.call_after_refresh(self._keep_still, anchor, offset)

    def _keep_still(self, anchor: MessageView, offset: float) -> None:
        """Scroll so that `anchor` is where it was on screen before the window changed."""
        try:
            if anchor.is_attached:
                self.scroll_to(y=anchor.virtual_region.y - offset, animate=False, immediate=True)
        finally:
            self._paging = False
        self._fill()

    def _fill(self) -> None:
        """A window shorter than the screen cannot be scrolled to its edge: bring in a page."""
        if not self._paging and self._lo > 0 and self.max_scroll_y <= EDGE:
            self._paging = True
            self.call_after_refresh(self._page, True)

    async def _trim(self, *, keep_bottom: bool) -> None:
        """Unmount views from the far end (the top if `keep_bottom`) while the window holds more
        than MAX_VIEWS views (a page is at most PAGE_MAX, so those are far from the new page), or
        more than WINDOW_CHARS characters (then never one within a screen of the viewport).
        The streaming answer's view is hidden instead (its generation still writes into it)."""
        views = self.views()
        chars = sum(min(len(view.message.content), DISPLAY_LIMIT) for view in views)
        near_top, near_bottom = self.scroll_y - self._screen(), self.scroll_y + 2 * self._screen()
        gone: list[MessageView] = []
        for view in views if keep_bottom else reversed(views):
            over_count = len(views) - len(gone) > MAX_VIEWS  # the far end: safe to drop, laid out or not
            if not over_count and chars <= WINDOW_CHARS:
                break
            region = view.virtual_region
            if not over_count and (not region or (region.bottom > near_top and region.y < near_bottom)):
                break  # on screen, or not laid out yet
            gone.append(view)
            chars -= min(len(view.message.content), DISPLAY_LIMIT)
        if not gone:
            return
        self._sync()
        count = len(gone)
        if not keep_bottom and self._hi == len(self._messages) and gone[0].message.state == "streaming":
            gone[0].display = False
            gone = gone[1:]
        await self._unmount(gone)
        if keep_bottom:
            self._lo += count
        else:
            self._hi -= count

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._paging or not self._messages:
            return
        if self._hi == len(self._messages) and new >= self.max_scroll_y and not self.is_anchored:
            self.anchor()  # back at the end of the conversation: follow new text again
        if new <= EDGE and self._lo > 0 and new < old:
            self._paging = True
            self.call_after_refresh(self._page, True)
        elif new >= self.max_scroll_y - EDGE and self._hi < len(self._messages) and new > old:
            self._paging = True
            self.call_after_refresh(self._page, False)

    def on_message_view_edge_reached(self, event: MessageView.EdgeReached) -> None:
        """Up on the first message of the window, or down on the last: page in, then move on."""
        event.stop()
        older = event.step < 0
        if not self._paging and ((older and self._lo > 0) or (not older and self._hi < len(self._messages))):
            self._paging = True
            self.run_worker(self._page_and_focus(event.view, event.step), group="paging")

    async def _page_and_focus(self, view: MessageView, step: int) -> None:
        await self._page(step < 0)
        if view.is_attached:
            view.action_focus_sibling(step)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fill)
