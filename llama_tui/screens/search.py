"""Full-text search over every message of every session (the store's FTS5 index).

Typing is debounced (DEBOUNCE_S); each search runs in a thread worker (exclusive, so only the
newest query counts) and asks the store for at most RESULT_LIMIT hits, so the screen stays
responsive on 10,000 sessions: the cost is one indexed query per pause in typing, never a scan in
Python. Rows are Content built from plain text (titles and snippets are untrusted): the store
wraps matches in two control characters that cannot survive sanitising, the snippet is split on
them, each piece is neutralised, and the matches are styled with a component class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from ..domain import ChatMessage, SessionSummary
from ..sanitize import neutralize
from ..store import Store
from ..widgets.sidebar import session_title
from .picker import PickerScreen

RESULT_LIMIT = 100
DEBOUNCE_S = 0.15
MATCH_START, MATCH_END = "\x02", "\x03"  # control characters: never left in sanitised text
_MARKERS = re.compile(f"({MATCH_START}|{MATCH_END})")
_ROLE_LABELS = {"user": "you", "assistant": "assistant", "system": "system"}

SearchHit = tuple[SessionSummary, ChatMessage, str]


def snippet_content(snippet: str, match_style: str = ".search-results--match") -> Content:
    """A store snippet (matches between MATCH_START and MATCH_END) as one line of Content with the
    matches styled. Each piece is neutralised, so control characters show as symbols and nothing
    is ever parsed as markup."""
    parts: list[tuple[str, str]] = []
    inside = False
    for piece in _MARKERS.split(snippet):
        if piece == MATCH_START:
            inside = True
        elif piece == MATCH_END:
            inside = False
        elif piece:
            text = neutralize(piece).replace("\n", " ").replace("\t", " ")
            parts.append((text, match_style if inside else ""))
    return Content.assemble(*parts)


def hit_prompt(summary: SessionSummary, message: ChatMessage, snippet: str) -> Content:
    """Two lines: the session title (and who wrote the message), then the snippet."""
    role = _ROLE_LABELS.get(message.role, message.role)
    return Content.assemble(
        (session_title(summary), ".search-results--title"),
        (f"  · {role}", ".search-results--meta"),
        "\n  ",
        snippet_content(snippet),
    )


class SearchResults(OptionList, can_focus=False):
    """The hits; focus stays in the input and up/down are forwarded. Option ids are
    "<session id>:<message id>"."""

    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {
        "search-results--title",
        "search-results--meta",
        "search-results--match",
    }

    DEFAULT_CSS = """
    SearchResults {
        height: auto;
        max-height: 24;
        border: none;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .search-results--title { text-style: bold; }
        & > .search-results--meta { color: $text-muted; }
        & > .search-results--match { color: $text-accent; text-style: bold underline; }
    }
    """

    def ids_at(self, index: int) -> tuple[int, int] | None:
        """(session id, message id) of the option at `index`, or None (out of range, or a hint row)."""
        if not 0 <= index < self.option_count:
            return None
        option_id = self.get_option_at_index(index).id
        if option_id is None:
            return None
        session_id, message_id = option_id.split(":")
        return int(session_id), int(message_id)


class SearchScreen(PickerScreen[tuple[int, int]]):
    """Dismisses with (session id, message id) of the chosen hit, or None on Escape."""

    DEFAULT_CSS = """
    SearchScreen {
        align: center top;
        & > #dialog {
            width: 80%;
            min-width: 40;
            max-width: 120;
            height: auto;
            max-height: 90%;
            margin-top: 2;
            border: thick $primary 60%;
            background: $surface;
        }
        & #search-status { height: 1; padding: 0 2; color: $text-muted; }
    }
    """

    AUTO_FOCUS = "#search-input"

    def __init__(self, store: Store, *, limit: int = RESULT_LIMIT, debounce: float = DEBOUNCE_S) -> None:
        super().__init__()
        self.store = store
        self.limit = limit
        self.debounce = debounce
        self._timer: Timer | None = None
        self._shown_query: str | None = None  # the query whose hits are on screen

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Input(placeholder="Search every message…", id="search-input")
            yield Static(Content(""), id="search-status")
            yield SearchResults(id="search-results")

    def on_mount(self) -> None:
        self._show_note("Type a few words: every message of every session is searched")

    @property
    def results(self) -> SearchResults:
        return self.query_one("#search-results", SearchResults)

    @property
    def query_text(self) -> str:
        return self.query_one("#search-input", Input).value

    # -- searching ----------------------------------------------------------------------------

    def _search(self, query: str) -> tuple[str, list[SearchHit]]:
        """Runs in a thread worker; the store is thread-safe (one connection behind a lock)."""
        return query, self.store.search(query, limit=self.limit, highlight=(MATCH_START, MATCH_END))

    def _start(self, query: str) -> None:
        self._timer = None
        self.run_worker(
            partial(self._search, query),
            name="search",
            group="search",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not event.value.strip():
            self.workers.cancel_group(self, "search")
            self._shown_query = None
            self._show_note("Type a few words: every message of every session is searched")
            return
        self._timer = self.set_timer(self.debounce, partial(self._start, event.value))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "search":
            return
        event.stop()
        if event.state == WorkerState.SUCCESS and worker.result is not None:
            query, hits = worker.result
            if query == self.query_text:  # otherwise a newer search is on its way
                self._show_hits(query, hits)
        elif event.state == WorkerState.ERROR:
            self._show_note(f"Search failed: {worker.error}")

    # -- showing ------------------------------------------------------------------------------

    def _show_note(self, text: str) -> None:
        self.query_one("#search-status", Static).update(Content(""))
        self.results.set_options([Option(Content(text), disabled=True)])

    def _show_hits(self, query: str, hits: Sequence[SearchHit]) -> None:
        self._shown_query = query
        results = self.results
        if not hits:
            self._show_note("No message matches")
            return
        if len(hits) >= self.limit:
            status = f"the best {len(hits)} matches"
        else:
            status = "1 match" if len(hits) == 1 else f"{len(hits)} matches"
        self.query_one("#search-status", Static).update(Content(status))
        results.set_options(
            Option(hit_prompt(summary, message, snippet), id=f"{summary.id}:{message.id}")
            for summary, message, snippet in hits
        )
        results.highlighted = 0

    # -- choosing -----------------------------------------------------------------------------

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value
        if query.strip() and query != self._shown_query:
            # Enter before the debounced search came back: search now, then take the best hit.
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self.workers.cancel_group(self, "search")
            self._show_hits(query, self._search(query)[1])
        results = self.results
        chosen = results.ids_at(results.highlighted) if results.highlighted is not None else None
        if chosen is not None:
            self.dismiss(chosen)

    @on(OptionList.OptionSelected, "#search-results")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = self.results.ids_at(event.option_index)
        if chosen is not None:
            self.dismiss(chosen)

    @property
    def picker_list(self) -> OptionList:
        return self.results

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "search")
        super().action_cancel()
