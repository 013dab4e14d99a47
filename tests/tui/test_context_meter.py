"""The context meter against the real llama-server (issue 13, item 6): it follows a stopped answer
and the unsent message, a message that cannot fit is not sent, and after an overflow the advice
is what works (never "r retries", which fails the same way)."""

from __future__ import annotations

import re
from typing import Any

from textual.widgets import Static

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for, wait_for_answer


def used(app: Any) -> int | None:
    """The tokens the meter shows ("ctx ███░ 1,234 / 4,096"), or None for "–"."""
    text = str(app.main.query_one("#status-context", Static).visual)
    match = re.search(r"([\d,]+) / [\d,]+$", text)
    return int(match.group(1).replace(",", "")) if match else None


async def ready(pilot: Any) -> Any:
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.session is not None)
    await wait_for(pilot, lambda: used(pilot.app) is not None)
    return screen


async def test_the_meter_counts_a_stopped_answer(make_app, big_context_server, monkeypatch) -> None:
    """It kept its value from before the question after Esc (the prompt preview counted more)."""
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # an answer that runs until stopped
    app = make_app(big_context_server.url, default_template="chatml")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        before = used(app)
        assert before is not None
        screen.query_one(Composer).insert("count to a thousand")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: len(screen.query(MessageView)) == 2 and len(screen.query(MessageView)[-1].text) > 400
        )
        await pilot.press("escape")
        answer = await wait_for_answer(pilot)
        assert answer.message.state == "interrupted"
        await wait_for(pilot, lambda: (used(app) or 0) > before + 100)  # the question and what arrived


async def test_the_meter_counts_the_unsent_message(make_app, llama_server) -> None:
    app = make_app(llama_server.url, default_template="chatml")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        empty = used(app)
        assert empty is not None
        screen.query_one(Composer).insert("hello " * 300)
        await wait_for(pilot, lambda: (used(app) or 0) > empty + 250)
        screen.query_one(Composer).set_text("")
        await wait_for(pilot, lambda: used(app) == empty)


async def test_a_message_that_cannot_fit_is_not_sent(make_app, fresh_llama_server) -> None:
    """The meter was red at 4,100 / 4,096 and the send went out and failed."""
    server = fresh_llama_server(ctx_size=256)  # one slot of 256 tokens
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 8})
    notes: list[str] = []
    original_notify = app.notify
    app.notify = lambda message, **kw: (notes.append(str(message)), original_notify(message, **kw))[1]
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        composer = screen.query_one(Composer)
        composer.insert("hello " * 400)
        await wait_for(pilot, lambda: (used(app) or 0) > 256)  # the meter says it will not fit
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(n.startswith("Not sent:") for n in notes))
        note = next(n for n in notes if n.startswith("Not sent:"))
        assert "context holds 256" in note and "Fork from an earlier message" in note
        assert composer.text == "hello " * 400  # nothing lost
        assert not screen.query(MessageView) and screen.session.head_id is None  # nothing sent or stored


async def test_after_an_overflow_the_footer_offers_what_works(make_app, fresh_llama_server) -> None:
    server = fresh_llama_server(ctx_size=256)
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 8})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        screen.query_one(Composer).insert("hello " * 400)
        await pilot.press("enter")  # at once: the meter has not counted it yet, the server refuses
        answer = await wait_for_answer(pilot)
        assert answer.message.state == "error"
        text = str(answer.query_one(".footer", Static).visual)
        assert "context 256" in text and "Fork from an earlier message" in text
        assert "r retries" not in text
