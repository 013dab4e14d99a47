"""One Markdown chunk of a message: margins trimmed inline, and parking (see MessageMarkdown)."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.geometry import Spacing
from textual.widget import Widget
from textual.widgets import Markdown


class MessageMarkdown(Markdown):
    """One chunk of a message's markdown (most messages have one), without the outer margins of
    its first and last block so the message sits tight between its role line and footer.

    The margins are set inline after each update/append: a CSS `:first-child` / `:last-child`
    rule makes Textual restyle every sibling block on each mount, which cost ~10 ms per streamed
    token on a long answer. A chunk after the first collapses its first block's top margin into
    the previous chunk's bottom margin, as blocks inside one Markdown do."""

    def __init__(self, markdown: str = "", *, first: bool = True) -> None:
        super().__init__(markdown, open_links=False)
        self.first = first  # the first chunk has no top margin; a later one collapses into the one above
        self.trim_bottom = True  # off while the chunk is streaming: more blocks will follow
        self._trimmed: dict[Widget, Spacing] = {}
        self.parkable = False  # a frozen chunk of a long answer (see park)
        self.parked = False

    def park(self) -> bool:
        """Hide the blocks of a chunk far off screen, keeping its height. Textual lays out every
        displayed widget on each layout pass, so the blocks of a long answer above the screen
        made every later token slower. False if the chunk has no size yet."""
        height = self.outer_size.height
        if self.parked or height <= 0:
            return False
        self.styles.height = height
        for block in self.children:
            block.display = False
        self.parked = True
        return True

    def unpark(self) -> None:
        if not self.parked:
            return
        for block in self.children:
            block.display = True
        self.styles.clear_rule("height")
        self.parked = False

    def update(self, markdown: str) -> AwaitComplete:
        return self._then_trim(super().update(markdown))

    def append(self, markdown: str) -> AwaitComplete:
        return self._then_trim(super().append(markdown))

    def _then_trim(self, change: AwaitComplete) -> AwaitComplete:
        async def change_then_trim() -> None:
            await change
            self.trim_margins()

        return AwaitComplete(change_then_trim())

    def bottom_margin(self) -> int:
        """The bottom margin of the last block as shown."""
        return self.children[-1].styles.margin.bottom if self.children else 0

    def _margin_above(self) -> int:
        """The bottom margin of the chunk above (its last block's)."""
        above = None
        for sibling in self.parent.children if self.parent is not None else ():
            if sibling is self:
                break
            if isinstance(sibling, MessageMarkdown):
                above = sibling
        return above.bottom_margin() if above is not None else 0

    def trim_margins(self) -> None:
        blocks = self.children
        wanted: dict[Widget, Spacing] = {}
        if blocks:
            first, last = blocks[0], blocks[-1]
            top, right, bottom, left = first.styles.base.margin
            top = 0 if self.first else max(0, top - self._margin_above())
            wanted[first] = Spacing(top, right, bottom, left)
            if self.trim_bottom:
                top, right, _, left = wanted[first] if last is first else last.styles.base.margin
                wanted[last] = Spacing(top, right, 0, left)
        for block in self._trimmed:
            if block not in wanted and block.parent is self:
                block.styles.clear_rule("margin")
        for block, margin in wanted.items():
            if self._trimmed.get(block) != margin:
                block.styles.margin = margin
        self._trimmed = wanted
