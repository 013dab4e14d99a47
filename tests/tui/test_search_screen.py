"""SearchScreen: full-text search over every message, driven with Pilot against a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.content import Content
from textual.widgets import Input, Static

from llama_tui.domain import ChatMessage, Session
from llama_tui.screens.search import MATCH_END, MATCH_START, SearchScreen, snippet_content
from llama_tui.store import Store


class SearchApp(App[None]):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.results: list[Any] = []

    def open(self, **kwargs: Any) -> SearchScreen:
        screen = SearchScreen(self.store, **kwargs)
        self.push_screen(screen, self.results.append)
        return screen


def chat(store: Store, title: str, *turns: str) -> tuple[int, list[int]]:
    session = store.create_session(Session(title=title))
    assert session.id is not None
    parent: int | None = None
    ids: list[int] = []
    for i, text in enumerate(turns):
        role = "user" if i % 2 == 0 else "assistant"
        msg = store.add_message(ChatMessage(role=role, content=text, session_id=session.id, parent_id=parent))  # type: ignore[arg-type]
        assert msg.id is not None
        parent = msg.id
        ids.append(msg.id)
    return session.id, ids


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sessions.sqlite3") as s:
        yield s


async def settle(pilot: Any, app: SearchApp) -> None:
    """Let the debounce timer fire and the search worker finish."""
    await pilot.pause(0.2)
    await app.workers.wait_for_complete()
    await pilot.pause()


def rows(screen: SearchScreen) -> list[str]:
    """The plain text of every row (each prompt must be Content, never a markup string)."""
    prompts = [option.prompt for option in screen.results.options]
    assert all(isinstance(p, Content) for p in prompts)
    return [p.plain for p in prompts if isinstance(p, Content)]


async def test_typing_finds_messages_and_enter_returns_their_ids(store: Store) -> None:
    sid, ids = chat(store, "Llama care", "What do llamas eat?", "Mostly grass and hay.")
    chat(store, "Other", "Nothing relevant here", "Indeed.")
    app = SearchApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.open()
        await pilot.pause()
        assert screen.results.get_option_at_index(0).disabled  # the hint row
        await pilot.press(*"grass")
        await settle(pilot, app)
        assert rows(screen) == ["Llama care  · assistant\n  Mostly grass and hay."]
        prompt = screen.results.get_option_at_index(0).prompt
        assert isinstance(prompt, Content)
        matched = [prompt.plain[s.start : s.end] for s in prompt.spans if s.style == ".search-results--match"]
        assert matched == ["grass"]
        status = screen.query_one("#search-status", Static).content
        assert isinstance(status, Content) and status.plain == "1 match"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is not screen
    assert app.results == [(sid, ids[1])]


async def test_prefix_search_arrows_and_escape(store: Store) -> None:
    chat(store, "first", "llamas are great")
    chat(store, "second", "a llama spits")
    app = SearchApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.open()
        await pilot.pause()
        await pilot.press(*"llam")  # the last word is a prefix: llamas and llama both match
        await settle(pilot, app)
        assert sorted(r.split("  ·")[0] for r in rows(screen)) == ["first", "second"]
        assert screen.query_one(Input).has_focus
        await pilot.press("down")
        assert screen.results.highlighted == 1
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_no_match_and_cleared_query_show_disabled_rows(store: Store) -> None:
    chat(store, "only", "hello world")
    app = SearchApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.open()
        await pilot.pause()
        await pilot.press(*"zebra")
        await settle(pilot, app)
        assert rows(screen) == ["No message matches"]
        await pilot.press("enter")  # nothing to choose: the screen stays
        await pilot.pause()
        assert app.screen is screen
        for _ in "zebra":
            await pilot.press("backspace")
        await settle(pilot, app)
        assert screen.results.option_count == 1 and screen.results.get_option_at_index(0).disabled
        assert "Type a few words" in rows(screen)[0]


async def test_enter_before_the_debounce_searches_at_once(store: Store) -> None:
    sid, ids = chat(store, "quick", "find me quickly")
    app = SearchApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(debounce=10.0)  # the timer would never fire during the test
        await pilot.pause()
        await pilot.press(*"quickly", "enter")
        await pilot.pause()
    assert app.results == [(sid, ids[0])]


async def test_titles_and_snippets_are_literal(store: Store) -> None:
    sid, ids = chat(store, "[bold]x[/bold] \x1b[2J title", "needle [red]not red[/red] \x1b]52;c;evil\x07 end")
    app = SearchApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.open()
        await pilot.pause()
        await pilot.press(*"needle")
        await settle(pilot, app)
        [row] = rows(screen)
        assert row.startswith("[bold]x[/bold] ␛[2J title  · you\n")
        assert "[red]not red[/red] ␛]52;c;evil␇ end" in row
        # What reaches the terminal: the brackets are text, the escape is a visible symbol.
        lines = ["".join(segment.text for segment in screen.results.render_line(y)) for y in range(2)]
        assert "[bold]x[/bold] ␛[2J title" in lines[0]
        assert "\x1b" not in "".join(lines)
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [(sid, ids[0])]


def test_snippet_markers_become_styles_and_controls_are_neutralised() -> None:
    content = snippet_content(f"a {MATCH_START}b\x1b{MATCH_END} c\x9b\nd")
    assert content.plain == "a b␛ c\\x9b d"
    assert [(content.plain[s.start : s.end], s.style) for s in content.spans] == [("b␛", ".search-results--match")]


async def test_many_sessions_search_in_one_query(store: Store) -> None:
    """10,000 sessions: one keystroke pause costs one indexed query, far under a frame budget."""
    with store._writing() as conn:  # bulk-load directly: 20,000 add_message calls would be slow
        conn.executemany(
            "INSERT INTO sessions (id, title, created_at, updated_at) VALUES (?, ?, 0, 0)",
            [(i, f"session {i}") for i in range(1, 10_001)],
        )
        conn.executemany(
            "INSERT INTO messages (session_id, role, content, created_at) VALUES (?, ?, ?, 0)",
            [(i, "user", f"question {i} about topic{i % 97} and llamas") for i in range(1, 10_001)]
            + [(i, "assistant", f"answer {i} with common words") for i in range(1, 10_001)],
        )
    assert store._conn is not None
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    hits = store.search("topic42 llam", limit=100)
    store._conn.set_trace_callback(None)
    assert len(hits) == 100
    ours = [sql for sql in seen if not sql.startswith("--")]  # "--": SQLite's own, inside FTS5
    assert len(ours) == 1, ours  # one indexed query (its speed is measured in bench/, not here)
    app = SearchApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.open()
        await pilot.pause()
        await pilot.press(*"topic42")
        await settle(pilot, app)
        assert screen.results.option_count == 100
        status = screen.query_one("#search-status", Static).content
        assert isinstance(status, Content) and status.plain == "the best 100 matches"
