"""Stopping an answer stops the real llama-server, every way the app can stop it, and never
silently (issue 13, items 1 and 13): Esc (from the composer or from a message) and quitting, each
during a long stream, leave /slots idle within a second. Switching session (ctrl+down, ctrl+n) lets
the answer go on in the background (issue 14); Esc back in its session stops it the same way."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.client import LlamaCppClient
from llama_tui.domain import Session
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


async def busy(url: str) -> int:
    async with LlamaCppClient(url) as client:
        return sum(slot.is_processing for slot in await client.slots())


async def assert_idle_within_a_second(url: str) -> None:
    stopped = time.monotonic()
    while await busy(url):
        assert time.monotonic() - stopped < 1.0, "the server is still generating"
        await asyncio.sleep(0.02)


class Notes:
    def __init__(self, app: Any) -> None:
        self.texts: list[str] = []
        original = app.notify
        app.notify = lambda message, **kw: (self.texts.append(str(message)), original(message, **kw))[1]


async def start_long_answer(pilot: Any, url: str) -> MessageView:
    """Send a question whose answer runs until stopped; returns once the server is generating
    and text is on screen."""
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.session is not None)
    screen.query_one(Composer).insert("count to a million")
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2 and len(screen.query(MessageView)[-1].text) > 200)
    assert await busy(url) == 1
    return screen.query(MessageView)[-1]


@pytest.fixture
def endless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # answers only end when stopped


@pytest.mark.parametrize("focus", ["composer", "message"])
async def test_esc_during_a_long_stream_stops_the_server_and_says_so(
    make_app, big_context_server, endless, focus: str
) -> None:
    """From a message too: Esc stops a streaming answer wherever the focus is (README), says so,
    and goes back to the composer."""
    app = make_app(big_context_server.url, default_template="chatml")
    notes = Notes(app)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        answer = await start_long_answer(pilot, big_context_server.url)
        if focus == "message":
            await pilot.press("alt+up")
            assert isinstance(screen.focused, MessageView)
        await pilot.press("escape")
        await assert_idle_within_a_second(big_context_server.url)
        await wait_for(pilot, lambda: answer.message.state == "interrupted")
        assert any("Answer stopped" in n for n in notes.texts)
        assert isinstance(screen.focused, Composer)


@pytest.mark.parametrize("key", ["ctrl+down", "ctrl+n"])
async def test_switching_session_during_a_stream_lets_it_go_on_and_esc_back_there_stops_it(
    make_app, big_context_server, endless, key: str
) -> None:
    """Switching no longer stops the answer (issue 14: it goes on in the background, README), and
    leaves nothing half-done: the session switched to is idle and usable, Esc there stops nothing,
    and back in the first session Esc frees the server within a second, with all the text stored."""
    app = make_app(big_context_server.url, default_template="chatml")
    app.store.create_session(Session(title="an older session"))  # for ctrl+down to go to
    app.services.new_session = True  # as `llama-tui --new`
    notes = Notes(app)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.session is not None and len(screen.refresh_sessions()) == 2)
        first = screen.session.id
        answer = await start_long_answer(pilot, big_context_server.url)
        shown_before = answer.text
        await pilot.press(key)
        await wait_for(pilot, lambda: screen.session is not None and screen.session.id != first)

        # Over there: nothing streams on screen, the answer goes on (the server is still at it).
        assert not screen.is_generating and screen.answering.generating_elsewhere == 1
        assert all(view.message.state != "streaming" for view in screen.query(MessageView))
        assert isinstance(screen.focused, Composer)
        assert await busy(big_context_server.url) == 1
        assert not any("stopped" in n for n in notes.texts)
        # Esc there stops nothing of the first session.
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert screen.answering.generating_elsewhere == 1 and await busy(big_context_server.url) == 1
        assert app.store.get_message(answer.message.id).state == "streaming"

        # Back: the answer streams on screen again, and Esc stops the server there.
        await screen.open_session(first)
        assert screen.is_generating
        view = screen.query(MessageView)[-1]
        assert view.message.id == answer.message.id
        await pilot.press("escape")
        await assert_idle_within_a_second(big_context_server.url)
        await wait_for(pilot, lambda: view.message.state == "interrupted")
        assert any("Answer stopped" in n for n in notes.texts)
        assert not screen.is_generating and screen.answering.generating_elsewhere == 0
        # Nothing lost: what was shown before the switch, and what came while away, is stored.
        stored = app.store.get_message(answer.message.id)
        assert stored.state == "interrupted" and stored.content == view.text
        assert stored.content.startswith(shown_before) and len(stored.content) > len(shown_before)


async def test_quitting_during_a_stream_stops_the_server(make_app, big_context_server, endless) -> None:
    app = make_app(big_context_server.url, default_template="chatml")
    async with app.run_test(size=(120, 30)) as pilot:
        answer = await start_long_answer(pilot, big_context_server.url)
        await pilot.press("ctrl+q")
    await assert_idle_within_a_second(big_context_server.url)
    assert app.store.get_message(answer.message.id).state == "interrupted"
