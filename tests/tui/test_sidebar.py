"""Sidebar: rows, selection messages, keyboard navigation and the filter box."""

from __future__ import annotations

from textual.app import App, ComposeResult

from llama_tui.domain import SessionSummary
from llama_tui.widgets import sidebar as sidebar_module
from llama_tui.widgets.sidebar import PIN_MARKER, SessionRow, Sidebar

NOW = 1_700_000_000.0


class SidebarApp(App[None]):
    """Composes one Sidebar and records what it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[int] = []
        self.filters: list[str] = []

    def compose(self) -> ComposeResult:
        yield Sidebar()

    def on_sidebar_session_selected(self, event: Sidebar.SessionSelected) -> None:
        self.selected.append(event.session_id)

    def on_sidebar_filter_changed(self, event: Sidebar.FilterChanged) -> None:
        self.filters.append(event.text)

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)


def summaries(n: int = 5) -> list[SessionSummary]:
    return [SessionSummary(i, f"Session {i}", NOW - i * 3600) for i in range(1, n + 1)]


def row(sidebar: Sidebar, index: int) -> SessionRow:
    prompt = sidebar.session_list.get_option_at_index(index).prompt
    assert isinstance(prompt, SessionRow)
    return prompt


def rendered_lines(sidebar: Sidebar) -> list[str]:
    """What the list actually draws (one Strip per visible line)."""
    session_list = sidebar.session_list
    return [session_list.render_line(y).text for y in range(session_list.scrollable_content_region.height)]


async def test_titles_are_shown_literally_and_sanitised() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(
            [
                SessionSummary(1, "[bold]x[/]", NOW),
                SessionSummary(2, "[@click=app.quit]click", NOW),
                SessionSummary(3, "\x1b[31mred\x1b]52;c;Zm9v\x07 \x9b2J", NOW),
                SessionSummary(4, "", NOW),
                SessionSummary(5, "two\nlines", NOW),
            ],
            now=NOW,
        )
        await pilot.pause()
        titles = [row(app.sidebar, i).title.plain for i in range(5)]
        assert titles == [
            "[bold]x[/]",
            "[@click=app.quit]click",
            "␛[31mred␛]52;c;Zm9v␇ \\x9b2J",
            "New session",
            "two lines",
        ]
        screen_text = "\n".join(rendered_lines(app.sidebar))
        assert "[bold]x[/]" in screen_text
        assert "[@click=app.quit]click" in screen_text
        assert "\x1b" not in screen_text and "\x9b" not in screen_text and "\x07" not in screen_text
        # Clicking the "[@click=app.quit]" row selects it; it does not run the action.
        await pilot.click("#session-list", offset=(4, 2))
        await pilot.pause()
        assert app.selected == [2]
        assert app.is_running


async def test_age_is_right_aligned() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(
            [SessionSummary(1, "recent", NOW - 2 * 3600), SessionSummary(2, "older", NOW - 3 * 86400)], now=NOW
        )
        await pilot.pause()
        assert row(app.sidebar, 0).plain == "recent 2h"
        assert row(app.sidebar, 1).plain == "older 3d"
        first, second = rendered_lines(app.sidebar)[:2]
        assert first.rstrip().endswith(" 2h") and second.rstrip().endswith(" 3d")
        assert len(first.rstrip()) == len(second.rstrip())  # both ages end in the same column


async def test_pinned_sessions_come_first_with_a_marker() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(
            [
                SessionSummary(1, "plain", NOW),
                SessionSummary(2, "pinned", NOW - 60, pinned=True),
                SessionSummary(3, "also plain", NOW),
            ],
            now=NOW,
        )
        await pilot.pause()
        assert [row(app.sidebar, i).title.plain for i in range(3)] == ["pinned", "plain", "also plain"]
        assert row(app.sidebar, 0).plain.startswith(f"{PIN_MARKER} pinned")
        assert not row(app.sidebar, 1).plain.startswith(PIN_MARKER)
        assert rendered_lines(app.sidebar)[0].startswith(f"{PIN_MARKER} pinned")


async def test_enter_selects_but_moving_does_not() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(summaries(), now=NOW)
        await pilot.pause()
        assert app.sidebar.filter_input.has_focus
        await pilot.press("down")  # from the filter into the list, first row highlighted
        assert app.sidebar.session_list.has_focus
        await pilot.press("down", "down")
        assert app.sidebar.selected_id == 3
        assert app.selected == []  # highlighting is not choosing
        await pilot.press("enter")
        assert app.selected == [3]


async def test_select_next_and_previous_clamp_at_the_ends() -> None:
    """Documented choice: no wrap-around; at an end nothing moves and nothing is posted."""
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(summaries(3), now=NOW)
        app.sidebar.select_next()  # nothing highlighted yet: goes to the first row
        for _ in range(4):
            app.sidebar.select_next()
        await pilot.pause()
        assert app.selected == [1, 2, 3]
        assert app.sidebar.selected_id == 3
        for _ in range(4):
            app.sidebar.select_previous()
        await pilot.pause()
        assert app.selected == [1, 2, 3, 2, 1]


async def test_select_index_and_highlight_session() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(summaries(5), now=NOW)
        app.sidebar.select_index(2)  # alt+3
        app.sidebar.select_index(9)  # out of range: ignored
        await pilot.pause()
        assert app.selected == [3]
        assert app.sidebar.highlight_session(5) is True
        assert app.sidebar.highlight_session(99) is False
        await pilot.pause()
        assert app.sidebar.selected_id == 5
        assert app.selected == [3]  # highlight_session posts nothing


async def test_set_sessions_keeps_or_moves_the_highlight() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(summaries(5), now=NOW, selected_id=4)
        assert app.sidebar.selected_id == 4
        app.sidebar.set_sessions(list(reversed(summaries(5))), now=NOW)  # re-query, same session kept
        assert app.sidebar.selected_id == 4
        app.sidebar.set_sessions(summaries(2), now=NOW)  # filtered out: nothing highlighted
        assert app.sidebar.selected_id is None
        await pilot.pause()
        assert app.selected == []


async def test_filter_posts_debounced_filter_changed_and_escape_clears(monkeypatch) -> None:
    # A long quiet period, so a loaded machine's gaps between the three presses cannot end it.
    monkeypatch.setattr(sidebar_module, "FILTER_DEBOUNCE", 1.0)
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("l", "l", "a")
        await pilot.pause(1.3)
        assert app.filters == ["lla"]  # one message for the burst of typing
        await pilot.press("escape")
        await pilot.pause()
        assert app.sidebar.filter_input.value == ""
        assert app.filters == ["lla", ""]
        await pilot.press("escape")  # nothing left to clear: not consumed, no extra message
        await pilot.pause(0.4)
        assert app.filters == ["lla", ""]


async def test_ten_thousand_sessions() -> None:
    app = SidebarApp()
    many = [SessionSummary(i, f"Session {i}", NOW - i, pinned=i % 1000 == 0) for i in range(10_000)]
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(many, now=NOW, selected_id=5_000)
        await pilot.pause()
        assert app.sidebar.session_list.option_count == 10_000
        assert app.sidebar.selected_id == 5_000
        app.sidebar.session_list.focus()
        await pilot.press("end", "enter")
        assert app.selected == [9_999]


async def test_a_row_says_when_older_sessions_are_not_listed() -> None:
    app = SidebarApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.sidebar.set_sessions(summaries(3), now=NOW, more=True)
        await pilot.pause()
        session_list = app.sidebar.session_list
        assert session_list.option_count == 4
        last = session_list.get_option_at_index(3)
        assert last.disabled and "older sessions" in str(last.prompt)
        assert session_list.session_id_at(3) is None
        app.sidebar.set_sessions(summaries(3), now=NOW)
        await pilot.pause()
        assert session_list.option_count == 3
