"""What the first-hour try-out also asked for (issue 13): titles that keep "(copy)" and "(fork)"
in view and a sidebar whose width can be changed, no pile of empty "New session" entries, the
help listing a message's keys by readable names wherever the focus is, a key to the sidebar
filter, the chosen theme kept, and a prefill that is multi-line and seen while it waits."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.content import Content
from textual.widgets import Input, Static

from llama_tui.domain import ChatMessage, Session
from llama_tui.screens.help import HelpScreen
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.sidebar import SessionRow, Sidebar
from tests.harness.app import wait_for

NOBODY = "http://127.0.0.1:9"  # nothing listens: these need no server


async def started(pilot: Any) -> Any:
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.query_one(Composer).has_focus)
    return screen


def config_file(app: Any) -> dict[str, Any]:
    path: Path = app.services.config_path
    return tomllib.loads(path.read_text()) if path.exists() else {}


def test_a_cut_title_keeps_its_copy_and_fork_marks() -> None:
    row = SessionRow(Content("How to brush a llama and keep its wool clean (copy) (fork)"), "3m")
    line = row.line(32).plain
    assert line.endswith("… (copy) (fork) 3m") and len(line) == 32
    assert SessionRow(Content("Short (fork)"), "3m").line(32).plain.startswith("Short (fork) ")


async def test_the_sidebar_width_follows_alt_arrows_and_is_remembered(make_app) -> None:
    app = make_app(NOBODY)
    app.store.create_session(Session(title="How to brush a llama and keep its wool clean (copy)"))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await started(pilot)
        sidebar = screen.query_one(Sidebar)
        assert sidebar.region.width == 32
        await pilot.press("alt+right", "alt+right")
        await wait_for(pilot, lambda: sidebar.region.width == 40)
        await wait_for(pilot, lambda: config_file(app).get("sidebar_width") == 40)  # saved after a second
        await pilot.press("alt+left")
        await wait_for(pilot, lambda: sidebar.region.width == 36)
    again = make_app(NOBODY, sidebar_width=36)
    async with again.run_test(size=(140, 40)) as pilot:
        await started(pilot)
        assert again.main.query_one(Sidebar).region.width == 36


async def test_ctrl_n_again_and_again_leaves_no_pile_of_empty_sessions(make_app) -> None:
    app = make_app(NOBODY)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert len(app.store.list_sessions()) == 1
        # A session with anything in it stays: a draft, here.
        screen.query_one(Composer).insert("a draft to keep")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: len(app.store.list_sessions()) == 2)
        drafts = [app.store.get_session(s.id).draft for s in app.store.list_sessions()]
        assert sorted(drafts) == ["", "a draft to keep"]


async def test_the_help_lists_a_messages_keys_by_name_wherever_the_focus_is(make_app) -> None:
    app = make_app(NOBODY)
    async with app.run_test(size=(120, 50)) as pilot:
        await started(pilot)  # the composer has the focus, not a message
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = str(app.screen.query_one("#help-table", Static).visual)
        assert "On a message" in text
        for name in ("Previous alternative", "Next alternative", "Regenerate the answer", "Copy a code block"):
            assert name in text
        assert "‹ Alt" not in text  # the footer's short form is not a name
        assert "Filter sessions" in text and "Wider sidebar" in text


async def test_ctrl_l_goes_to_the_sidebar_filter_even_when_hidden(make_app) -> None:
    app = make_app(NOBODY)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("ctrl+b")
        assert not screen.query_one(Sidebar).display
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(screen.focused, Input) and screen.focused.id == "session-filter")
        assert screen.query_one(Sidebar).display


async def test_the_chosen_theme_is_kept_in_the_config(make_app) -> None:
    app = make_app(NOBODY)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert "theme" not in config_file(app)  # starting saves nothing
        app.theme = "nord"
        await wait_for(pilot, lambda: config_file(app).get("theme") == "nord")
    again = make_app(NOBODY, theme="nord")
    async with again.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert again.theme == "nord"


async def test_a_prefill_is_multi_line_and_shown_until_the_answer_takes_it(make_app, llama_server) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        composer = screen.query_one(Composer)
        composer.insert("a question")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"Sure!", "ctrl+j", *"Step 1:", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.prefill == "Sure!\nStep 1:"
        assert composer.border_title is not None and "answer starts with: Sure!" in composer.border_title
        composer.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2 and not screen.is_generating)
        answer: ChatMessage = screen.query(MessageView)[-1].message
        assert answer.content.startswith("Sure!\nStep 1:")
        assert composer.border_title is None
