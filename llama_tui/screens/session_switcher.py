"""Jump to a session by typing a few letters of its title (ctrl+k style), plus the same search as a
command palette provider.

Only titles are scored, with the pure `fuzzy_match`; at most `RESULT_LIMIT` rows are shown, so
10,000 sessions stay responsive while typing.
"""

from __future__ import annotations

import heapq
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.style import Style
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ..domain import SessionSummary
from ..format import format_age
from ..fuzzy import fuzzy_match
from ..widgets.sidebar import SessionList, SessionRow, session_title
from .picker import PickerScreen

RESULT_LIMIT = 200  # rows shown in the switcher
PALETTE_LIMIT = 50  # hits yielded to the command palette per query
DISCOVER_LIMIT = 10  # most recent sessions offered by the palette before anything is typed
MATCH_STYLE = ".session-list--match"


def rank_sessions(
    query: str, titles: Sequence[str], limit: int, among: Sequence[int] | None = None
) -> list[tuple[int, float, tuple[int, ...]]]:
    """(index, score, matched offsets) of the best `limit` titles for `query`, best first; ties keep
    the given order (the store lists most recent first). `among` restricts scoring to those indices.
    A blank query keeps the given order (score 1.0)."""
    candidates = range(len(titles)) if among is None else among
    if not query.strip():
        return [(i, 1.0, ()) for i in list(candidates)[:limit]]
    scored: list[tuple[float, int, tuple[int, ...]]] = []
    for i in candidates:
        match = fuzzy_match(query, titles[i])
        if match is not None:
            scored.append((match[0], -i, match[1]))
    return [(-neg_i, score, offsets) for score, neg_i, offsets in heapq.nlargest(limit, scored)]


def highlighted_title(title: str, offsets: Sequence[int], style: Style | str = MATCH_STYLE) -> Content:
    """The title as Content (never markup) with the matched characters styled."""
    content = Content(title)
    for offset in offsets:
        content = content.stylize(style, offset, offset + 1)
    return content


class _Matches(SessionList, can_focus=False):
    """The switcher's result list; focus stays in the input, up/down are forwarded."""


class SessionSwitcher(PickerScreen[int]):
    """Dismisses with the chosen session id, or None on Escape."""

    DEFAULT_CSS = """
    SessionSwitcher {
        align: center top;
        & > #dialog {
            width: 70%;
            min-width: 40;
            max-width: 110;
            height: auto;
            max-height: 80%;
            margin-top: 2;
            border: thick $primary 60%;
            background: $surface;
        }
        & #switcher-list { height: auto; max-height: 20; border: none; padding: 0 1; }
    }
    """

    AUTO_FOCUS = "#switcher-input"

    def __init__(self, sessions: Sequence[SessionSummary], *, now: float | None = None) -> None:
        super().__init__()
        self.sessions = list(sessions)
        self._titles = [session_title(s) for s in self.sessions]  # sanitised once, scored per keystroke
        self._now = time.time() if now is None else now
        # Narrowing: when the new query extends the last one, only its matches can still match.
        self._last_query = ""
        self._last_indices: list[int] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Input(placeholder="Switch to session…", id="switcher-input")
            yield _Matches(id="switcher-list")

    def on_mount(self) -> None:
        self._show("")

    @property
    def matches(self) -> _Matches:
        return self.query_one("#switcher-list", _Matches)

    def _show(self, query: str) -> None:
        among = None
        if self._last_indices is not None and query.startswith(self._last_query) and self._last_query.strip():
            among = self._last_indices
        # Rank everything that matches (not just the shown rows) so narrowing stays exact.
        ranked = rank_sessions(query, self._titles, len(self._titles), among)
        self._last_query, self._last_indices = query, [i for i, _, _ in ranked]
        options = []
        for i, _, offsets in ranked[:RESULT_LIMIT]:
            s = self.sessions[i]
            row = SessionRow(
                highlighted_title(self._titles[i], offsets), format_age(self._now - s.updated_at), pinned=s.pinned
            )
            options.append(Option(row, id=str(s.id)))
        matches = self.matches
        if options:
            matches.set_options(options)
            matches.highlighted = 0
        else:  # a disabled row: says why the list is empty, and Enter has nothing to choose
            matches.set_options([Option(Content("No matching sessions"), disabled=True)])

    @on(Input.Changed, "#switcher-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(event.value)

    @on(Input.Submitted, "#switcher-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option = self.matches.highlighted_option
        if option is not None and option.id is not None:
            self.dismiss(int(option.id))

    @on(OptionList.OptionSelected, "#switcher-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.dismiss(int(event.option_id))

    @property
    def picker_list(self) -> OptionList:
        return self.matches


class SessionCommands(Provider):
    """Command palette provider: "Switch to: <title>" for each matching session.

    Sessions come from `app.session_summaries()` (sync or async, returning list[SessionSummary]),
    read once when the palette opens; choosing a hit calls `app.switch_to_session(session_id)`.
    """

    async def startup(self) -> None:
        self._sessions: list[SessionSummary] = []
        self._titles: list[str] = []
        source: Callable[[], Any] | None = getattr(self.app, "session_summaries", None)
        if source is None:
            return
        result = source()
        if inspect.isawaitable(result):
            result = await result
        self._sessions = list(result)
        self._titles = [session_title(s) for s in self._sessions]

    def _switch(self, session_id: int) -> Callable[[], Any]:
        def switch() -> Any:
            # Looked up at call time; the palette awaits the result if it is a coroutine.
            return self.app.switch_to_session(session_id)  # type: ignore[attr-defined]

        return switch

    async def search(self, query: str) -> Hits:
        # The palette has no session-list component classes: use its own match style.
        style: Style | str = self.match_style or "bold underline"
        for i, score, offsets in rank_sessions(query, self._titles, PALETTE_LIMIT):
            session, title = self._sessions[i], self._titles[i]
            # Content, not a string: the palette parses string prompts as markup.
            display = Content("Switch to: ") + highlighted_title(title, offsets, style)
            yield Hit(score, display, self._switch(session.id), text=f"Switch to: {title}")

    async def discover(self) -> Hits:
        for session, title in zip(self._sessions[:DISCOVER_LIMIT], self._titles, strict=False):
            yield DiscoveryHit(Content(f"Switch to: {title}"), self._switch(session.id), text=f"Switch to: {title}")
