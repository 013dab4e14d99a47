"""The conversation: message views in a scroll, newest at the bottom.

Long sessions open instantly: only the most recent messages are mounted; older ones are mounted
in batches when the user scrolls to the top.
"""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..domain import ChatMessage
from .message_markdown import MessageMarkdown
from .message_view import MessageView

# A screen holds a handful of messages; each one mounted costs a few milliseconds.
INITIAL_BATCH = 12
OLDER_BATCH = 20
# Frozen chunks of a streaming answer are parked this many at a time (one layout pass for all).
PARK_BATCH = 4


class ChatPane(VerticalScroll):
    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane .empty { color: $text-muted; padding: 1 2; }
    ChatPane .older { color: $text-muted; padding: 0 2; }
    """

    BINDINGS = [("home", "load_all_older", "Older")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self._older: list[ChatMessage] = []  # not yet mounted, oldest first
        self._loading_older = False
        self._parked_any = False  # any chunk parked: scrolling checks which to bring back
        self._width = 0

    async def show(self, messages: list[ChatMessage]) -> None:
        """Replace the conversation shown."""
        await self.remove_children()
        self._older = messages[:-INITIAL_BATCH] if len(messages) > INITIAL_BATCH else []
        recent = messages[-INITIAL_BATCH:]
        widgets: list[Static | MessageView] = []
        if self._older:
            widgets.append(Static(f"↑ {len(self._older):,} older messages (scroll up)", classes="older", markup=False))
        if not messages:
            widgets.append(Static("No messages yet. Type below and press Enter.", classes="empty", markup=False))
        widgets.extend(MessageView(m) for m in recent)
        await self.mount_all(widgets)
        self.scroll_end(animate=False, immediate=True)
        self.anchor()

    async def add(self, message: ChatMessage) -> MessageView:
        for empty in self.query(".empty"):
            await empty.remove()
        view = MessageView(message)
        await self.mount(view)
        self.scroll_end(animate=False)
        self.anchor()
        return view

    async def reveal(self, message_id: int) -> None:
        """Mount older messages until `message_id` is shown, then scroll to it and focus it."""
        while not any(v.message.id == message_id for v in self.views()) and self._older:
            await self._mount_older()
        for view in self.views():
            if view.message.id == message_id:
                view.focus()
                self.call_after_refresh(view.scroll_visible, animate=False)

    def views(self) -> list[MessageView]:
        return list(self.query(MessageView))

    def messages(self) -> list[ChatMessage]:
        """Every message shown, oldest first (those not mounted yet included)."""
        return [*self._older, *(view.message for view in self.views())]

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 and self._older and not self._loading_older:
            self._loading_older = True
            self.call_after_refresh(self._mount_older)
        if self._parked_any:
            self._update_parking()

    async def action_load_all_older(self) -> None:
        while self._older:
            await self._mount_older()
        self.scroll_home(animate=False)

    async def _mount_older(self) -> None:
        try:
            batch = self._older[-OLDER_BATCH:]
            del self._older[-OLDER_BATCH:]
            marker = self.query(".older")
            views = [MessageView(m) for m in batch]
            first = self.query(MessageView).first() if self.query(MessageView) else None
            before_height = self.virtual_size.height
            await self.mount_all(views, before=first)
            if marker:
                if self._older:
                    marker.first(Static).update(f"↑ {len(self._older):,} older messages (scroll up)")
                else:
                    await marker.remove()
            # Keep the message the user was looking at in place.
            self.call_after_refresh(self._keep_position, before_height)
        finally:
            self._loading_older = False

    def _keep_position(self, before_height: int) -> None:
        grown = self.virtual_size.height - before_height
        if grown > 0:
            self.scroll_to(y=self.scroll_y + grown, animate=False, immediate=True)

    def on_message_view_chunk_frozen(self, event: MessageView.ChunkFrozen) -> None:
        event.stop()
        self.call_after_refresh(self._update_parking, PARK_BATCH)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            for chunk in self.query(MessageMarkdown):
                chunk.unpark()  # their heights were measured at the old width
            if self._parked_any:
                self.call_after_refresh(self._update_parking)  # park again at the new heights

    def _update_parking(self, batch: int = 1) -> None:
        """Park the frozen chunks of long answers that are more than a screen away from the
        viewport (see MessageMarkdown.park), and bring back those the viewport comes near.
        Positions are in the pane's virtual space, so a scroll is seen before it is painted.
        Parking waits until `batch` chunks can go at once: each parking is a layout pass."""
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        near_top, near_bottom = self.scroll_y - height, self.scroll_y + 2 * height
        far: list[MessageMarkdown] = []
        for view in self.views():
            chunks = [chunk for chunk in view.chunks() if chunk.parkable]
            if not chunks:
                continue
            base = view.virtual_region.y + view.styles.gutter.top
            for chunk in chunks:
                region = chunk.virtual_region
                top = base + region.y
                if not region or (top + region.height > near_top and top < near_bottom):
                    chunk.unpark()
                elif not chunk.parked:
                    far.append(chunk)
        if len(far) >= batch:
            for chunk in far:
                if chunk.park():
                    self._parked_any = True
