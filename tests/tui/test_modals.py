"""Modal screens: confirm, text prompt, session switcher (+ palette provider) and help."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from llama_tui.domain import SessionSummary
from llama_tui.screens.confirm import ConfirmScreen
from llama_tui.screens.help import HelpScreen
from llama_tui.screens.session_switcher import SessionCommands, SessionSwitcher
from llama_tui.screens.text_prompt import TextPromptScreen
from llama_tui.widgets.sidebar import SessionRow

NOW = 1_700_000_000.0
SESSIONS = [
    SessionSummary(1, "zebra notes", NOW - 60),
    SessionSummary(2, "llama client", NOW - 120),
    SessionSummary(3, "local cells", NOW - 180),
    SessionSummary(4, "[b]bold[/b] \x1b[2J", NOW - 240),
]


class ModalApp(App[None]):
    """Pushes one modal and records its results."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []
        self.switched: list[int] = []

    def open(self, screen: Screen[Any]) -> None:
        self.push_screen(screen, self.results.append)

    # The two App hooks SessionCommands relies on.
    def session_summaries(self) -> list[SessionSummary]:
        return SESSIONS

    def switch_to_session(self, session_id: int) -> None:
        self.switched.append(session_id)


def static_text(screen: Screen[Any], selector: str) -> str:
    content = screen.query_one(selector, Static).content
    assert isinstance(content, Content)
    return content.plain


# -- ConfirmScreen ---------------------------------------------------------------------------------


async def run_confirm(*keys: str) -> list[Any]:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(ConfirmScreen("Delete “[b]x[/b]”?"))
        await pilot.pause()
        assert static_text(app.screen, "#question") == "Delete “[b]x[/b]”?"
        await pilot.press(*keys)
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    return app.results


async def test_confirm_keys() -> None:
    assert await run_confirm("y") == [True]
    assert await run_confirm("enter") == [True]
    assert await run_confirm("n") == [False]
    assert await run_confirm("escape") == [False]


async def test_confirm_buttons() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(ConfirmScreen("Delete?", confirm_label="Remove"))
        await pilot.pause()
        await pilot.click("#cancel")
        await pilot.pause()
        app.open(ConfirmScreen("Delete?", confirm_label="Remove"))
        await pilot.pause()
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.results == [False, True]


# -- TextPromptScreen ------------------------------------------------------------------------------


async def test_text_prompt_enter_returns_text() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(TextPromptScreen("Rename session", "old", placeholder="title"))
        await pilot.pause()
        prompt_input = app.screen.query_one(Input)
        assert prompt_input.value == "old"
        assert prompt_input.placeholder == "title"
        prompt_input.value = ""
        await pilot.press(*"new name", "enter")
        await pilot.pause()
    assert app.results == ["new name"]


async def test_text_prompt_escape_returns_none() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(TextPromptScreen("Rename session", "old"))
        await pilot.pause()
        await pilot.press("x", "escape")
        await pilot.pause()
    assert app.results == [None]


async def test_text_prompt_shows_untrusted_initial_safely() -> None:
    app = ModalApp()
    evil = "[b]t[/b]\x1b[2J"
    async with app.run_test(size=(100, 30)) as pilot:
        app.open(TextPromptScreen("Rename “[i]x[/i]”", evil))
        await pilot.pause()
        assert static_text(app.screen, "#prompt-title") == "Rename “[i]x[/i]”"
        assert app.screen.query_one(Input).value == "[b]t[/b]␛[2J"
        await pilot.press("enter")  # unchanged: the original comes back, not its display form
        await pilot.pause()
    assert app.results == [evil]


# -- SessionSwitcher -------------------------------------------------------------------------------


def shown_ids(screen: SessionSwitcher) -> list[int]:
    return [int(option.id or 0) for option in screen.matches.options]


async def test_switcher_ranks_fuzzy_matches_and_returns_the_id() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        switcher = SessionSwitcher(SESSIONS, now=NOW)
        app.open(switcher)
        await pilot.pause()
        assert shown_ids(switcher) == [1, 2, 3, 4]  # empty query: the given (recency) order
        await pilot.press(*"lcl")
        await pilot.pause()
        assert shown_ids(switcher)[0] == 2  # "llama client": word starts + a run
        assert 1 not in shown_ids(switcher)  # "zebra notes" does not match at all
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [2]


async def test_switcher_arrows_move_while_typing_and_escape_cancels() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        switcher = SessionSwitcher(SESSIONS, now=NOW)
        app.open(switcher)
        await pilot.pause()
        await pilot.press("l", "down")
        assert switcher.query_one(Input).has_focus
        highlighted = switcher.matches.highlighted_option
        assert highlighted is not None and highlighted.id == str(shown_ids(switcher)[1])
        await pilot.press("up", "escape")
        await pilot.pause()
    assert app.results == [None]


async def test_switcher_without_matches_shows_a_disabled_row() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        switcher = SessionSwitcher(SESSIONS, now=NOW)
        app.open(switcher)
        await pilot.pause()
        await pilot.press(*"qqq", "enter")
        await pilot.pause()
        assert app.screen is switcher  # Enter with nothing to choose keeps the switcher open
        assert switcher.matches.option_count == 1
        assert switcher.matches.get_option_at_index(0).disabled
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.pause()
        assert shown_ids(switcher) == [1, 2, 3, 4]


async def test_switcher_rows_are_literal() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        switcher = SessionSwitcher(SESSIONS, now=NOW)
        app.open(switcher)
        await pilot.pause()
        await pilot.press(*"bold")
        await pilot.pause()
        prompt = switcher.matches.get_option_at_index(0).prompt
        assert isinstance(prompt, SessionRow)
        assert prompt.title.plain == "[b]bold[/b] ␛[2J"


async def test_session_commands_provider() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        provider = SessionCommands(app.screen)
        await provider.startup()
        hits = [hit async for hit in provider.search("lcl")]
        assert hits[0].text == "Switch to: llama client"
        assert all(hit.text != "Switch to: zebra notes" for hit in hits)
        hits[0].command()
        assert app.switched == [2]
        bold = [hit async for hit in provider.search("bold")]
        assert isinstance(bold[0].prompt, Content)
        assert bold[0].prompt.plain == "Switch to: [b]bold[/b] ␛[2J"
        discovered = [hit async for hit in provider.discover()]
        assert [hit.text for hit in discovered][:2] == ["Switch to: zebra notes", "Switch to: llama client"]
        await pilot.pause()


# -- HelpScreen ------------------------------------------------------------------------------------


class BelowScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "rename", "Rename session", show=False),
        Binding("ctrl+left_square_bracket", "noop", "Bracket key"),
    ]


async def test_help_lists_bindings_of_the_screen_below() -> None:
    app = ModalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(BelowScreen())
        await pilot.pause()
        app.open(HelpScreen())
        await pilot.pause()
        text = static_text(app.screen, "#help-table")
        assert "Rename session" in text
        assert "f2" in text
        assert "Bracket key" in text
        assert "Quit" in text  # the app's own ctrl+q binding
        assert "Close help" not in text  # not its own bindings
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, BelowScreen)
        app.open(HelpScreen())
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, BelowScreen)
    assert app.results == [None, None]
