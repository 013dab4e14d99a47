"""Small terminals and resizes (issue 13, item 16), against the real llama-server: at 80x24
opening the settings pane left the composer no width and the app ended; every screen works at
that size, and resizing mid-stream keeps the composer, the status bar and the footer."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Footer

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.screens.panes import CHAT_MIN_WIDTH
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.settings_pane import SettingsPane
from llama_tui.widgets.sidebar import Sidebar
from llama_tui.widgets.status_bar import StatusBar
from tests.harness.app import ask_and_wait, wait_for


def assert_usable(app: Any) -> None:
    """The composer, the status bar and the footer are on screen, the composer with room to type."""
    screen = app.main
    width, height = app.size
    composer = screen.query_one(Composer).region
    assert composer.width >= 20 and composer.height >= 3, composer
    assert composer.right <= width and composer.bottom <= height - 2, composer
    assert screen.query_one(StatusBar).region.y == height - 2
    assert screen.query_one(Footer).region.y == height - 1


@pytest.mark.parametrize("key", ["ctrl+t", "f1", "f9", "ctrl+k", "ctrl+f", "f6", "f5"])
async def test_every_screen_opens_at_80x24(make_app, llama_server, key: str) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 16})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.session is not None)
        await ask_and_wait(pilot, "hello there")
        assert_usable(app)
        await pilot.press(key)
        await pilot.pause(0.5)
        assert app.is_running
        if key == "ctrl+t":  # the settings pane opens beside the chat, which keeps its room
            pane = screen.query_one(SettingsPane)
            await wait_for(pilot, lambda: pane.display and pane.region.width > 0)
            assert not screen.query_one(Sidebar).display  # it stepped aside
            assert screen.query_one("#chat").region.width >= CHAT_MIN_WIDTH
            assert pane.region.right <= 80
            assert_usable(app)
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: screen.query_one(Sidebar).display)  # and comes back
        else:
            assert app.screen is not screen  # the dialog is up
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
        assert_usable(app)


@pytest.mark.parametrize("settings_open", [False, True])
async def test_resizing_mid_stream_keeps_the_composer_status_bar_and_footer(
    make_app, big_context_server, monkeypatch, settings_open: bool
) -> None:
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # an answer that streams until stopped
    app = make_app(big_context_server.url, default_template="chatml")
    async with app.run_test(size=(140, 42)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.session is not None)
        if settings_open:
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: screen.query_one(SettingsPane).display)
        screen.query_one(Composer).focus()
        screen.query_one(Composer).insert("count")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: len(screen.query(MessageView)) == 2 and len(screen.query(MessageView)[-1].text) > 500
        )
        for size in [(90, 30), (80, 24), (60, 20), (120, 40)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            assert screen.is_generating and app.size == size
            assert_usable(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.is_generating)
