"""The compare screen against a real llama-server, driven by the keyboard only: open it (ctrl+o),
fill the targets, run, move between columns and scroll them, stop one, pick one. What each column
shows is what the store holds."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input

from llama_tui.config import ServerProfile
from llama_tui.screens.compare import TEMPERATURE_SWEEP, ColumnSink, CompareScreen
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


async def open_compare(pilot: Any, prompt: str) -> CompareScreen:
    app, screen = pilot.app, pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.props is not None)
    screen.query_one(Composer).insert(prompt)
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.is_mounted)
    compare = app.screen
    assert isinstance(compare, CompareScreen)
    return compare


async def type_targets(pilot: Any, compare: CompareScreen, spec: str) -> None:
    targets = compare.query_one("#compare-targets", Input)
    targets.focus()
    await pilot.press("ctrl+a", "ctrl+k", *spec)  # to the start, delete to the end: an empty field
    await pilot.pause()
    assert targets.value == spec


def assert_columns_show_the_stored_answers(app: Any, compare: CompareScreen) -> list[Any]:
    assert compare.run is not None
    stored = [app.store.get_message(column.answer.id) for column in compare.run.columns]
    assert [view.text for view in compare.views] == [m.content for m in stored]
    assert all(m.parent_id == stored[0].parent_id for m in stored)
    return stored


async def test_sweep_focus_scroll_and_pick_by_keyboard(llama_server, make_app) -> None:
    settings = {"n_predict": 700, "seed": 3}  # a fixed seed: the first column's answer loops to n_predict
    app = make_app(llama_server.url, default_template="chatml", default_settings=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main
        compare = await open_compare(pilot, "Tell me about llamas")
        # The composer's text is the prompt; F2 fills a temperature sweep and puts focus there.
        assert compare.query_one("#compare-prompt", Composer).text == "Tell me about llamas"
        await pilot.press("f2")
        assert compare.query_one("#compare-targets", Input).value == TEMPERATURE_SWEEP
        await type_targets(pilot, compare, "temperature=0.2,1.0")
        await pilot.press("enter")  # Enter in either field runs
        await wait_for(pilot, lambda: compare.ended, 60)
        stored = assert_columns_show_the_stored_answers(app, compare)
        assert [m.state for m in stored] == ["complete", "complete"]
        assert [view.label for view in compare.views] == ["temperature=0.2", "temperature=1.0"]
        assert compare.query_one(DataTable).row_count == 2

        # Focus moves between columns with the keyboard only.
        first, second = (view.body for view in compare.views)
        assert app.focused is first
        await pilot.press("right")
        assert app.focused is second
        await pilot.press("right")  # no third column: focus stays
        assert app.focused is second
        await pilot.press("left")
        assert app.focused is first
        await pilot.press("2")
        assert app.focused is second
        await pilot.press("1")
        assert app.focused is first

        # The looping low-temperature answer is longer than its column: it scrolls by keyboard.
        assert first.max_scroll_y > 0
        await pilot.press("home")
        await wait_for(pilot, lambda: first.scroll_y == 0)
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: first.scroll_y > 0)
        await pilot.press("end")
        await wait_for(pilot, lambda: first.scroll_y == first.max_scroll_y)
        await pilot.press("up")
        await wait_for(pilot, lambda: first.scroll_y == first.max_scroll_y - 1)

        # Enter on the second column makes it the next message; the first stays as an alternative.
        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
        session = app.store.get_session(screen.session.id)
        assert session.head_id == stored[1].id
        answer_view = screen.query(MessageView)[-1]
        assert answer_view.message.id == stored[1].id and answer_view.alternatives == (2, 2)
        assert (app.store.get_message(stored[1].id).meta or {})["compare"]["picked"] is True
        assert screen.query_one(Composer).text == ""  # the prompt was sent from the compare screen
        # The other answer is one keypress away, text intact.
        answer_view.focus()
        await pilot.press("left")
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.id == stored[0].id)
        assert screen.query(MessageView)[-1].message.content == stored[0].content


async def test_stop_one_column_then_the_rest_and_leave_keeping_all(fresh_llama_server, make_app) -> None:
    server = fresh_llama_server(parallel=2, ctx_size=16384)
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 6000, "temperature": 0.2})
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main
        compare = await open_compare(pilot, "Count the llamas")
        await type_targets(pilot, compare, "top_k=1 temperature=0.1,0.2")  # greedy: the tiny model loops on
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(compare.views) and all(v.text for v in compare.views), 30)
        assert compare.running
        assert app.focused is compare.views[0].body
        await pilot.press("x")  # the focused (first) column stops; the other goes on
        await wait_for(pilot, lambda: app.store.get_message(compare.run.columns[0].answer.id).state == "interrupted")
        # The other one was not stopped: it still streams (Esc stops it), or it ended on its own
        # (a loaded machine can leave the screen this far behind the tiny model).
        second = {"complete"}
        if compare.run.column_running(1):
            await pilot.press("escape")  # stops the rest (unless it ends on its own first)
            second = {"interrupted", "complete"}
        await wait_for(pilot, lambda: compare.ended, 30)
        stored = assert_columns_show_the_stored_answers(app, compare)
        assert stored[0].state == "interrupted" and stored[1].state in second
        assert all(m.content for m in stored)
        await pilot.press("escape")  # leave without picking: every answer is kept, the first shown
        await wait_for(pilot, lambda: app.screen is screen)
        # The question and the first answer (the question may be paged out: the answer is longer
        # than the screen and the chat mounts a window of messages).
        question = stored[0].parent_id
        await wait_for(pilot, lambda: [m.id for m in screen.chat_pane().messages] == [question, stored[0].id])
        assert screen.query(MessageView)[-1].message.id == stored[0].id
        assert app.store.get_session(screen.session.id).head_id == stored[0].id


async def test_models_and_templates_fill_from_the_router(router_server, make_app) -> None:
    app = make_app(router_server.url, default_template="chatml", default_settings={"n_predict": 8})
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.router_mode)
        screen.session.model = "llama3"  # as picked with F7
        app.store.update_session(screen.session)
        compare = await open_compare(pilot, "hi")
        await pilot.press("f4")
        assert compare.query_one("#compare-targets", Input).value == "template=server,chatml"
        await pilot.press("f3")  # the session's model first
        await wait_for(pilot, lambda: compare.query_one("#compare-targets", Input).value == "model=llama3,chatml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: compare.ended, 60)
        stored = assert_columns_show_the_stored_answers(app, compare)
        assert [m.state for m in stored] == ["complete", "complete"], [m.error for m in stored]
        assert [m.settings["model"] for m in stored] == ["llama3", "chatml"]
        assert app.client.model is None or app.client.model == "llama3"  # the app's own client is not swapped


async def test_a_killed_server_in_one_column_leaves_the_other_running(
    fresh_llama_server, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive, doomed = fresh_llama_server(), fresh_llama_server()
    servers = {"up": ServerProfile(url=alive.url), "doomed": ServerProfile(url=doomed.url)}
    settings = {"n_predict": 3000, "top_k": 1}  # greedy: the tiny model loops on, to n_predict
    app = make_app(alive.url, default_template="chatml", default_settings=settings, servers=servers)
    # The second column's server dies as its first text reaches the screen: mid-stream, a few tokens
    # into thousands (the tiny model outruns the screen, so a kill seen from the test would come
    # after the whole answer was sent).
    real_on_text = ColumnSink.on_text
    at_kill: dict[str, int] = {}

    async def on_text(sink: ColumnSink, text: str) -> None:
        await real_on_text(sink, text)
        if sink.column.index == 1 and not at_kill:
            doomed.kill()
            at_kill["other"] = sink.column.screen.sinks[0].figures.tokens  # type: ignore[attr-defined]

    monkeypatch.setattr(ColumnSink, "on_text", on_text)
    async with app.run_test(size=(120, 36)) as pilot:
        compare = await open_compare(pilot, "Count the llamas")
        # From a screen over the main one, the palette does not offer the main screen's commands.
        assert not [c for c in app.get_system_commands(compare) if c.title == "New session"]
        await type_targets(pilot, compare, "server=up,doomed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: compare.ended, 60)
        stored = assert_columns_show_the_stored_answers(app, compare)
        assert stored[0].state == "complete"
        assert stored[0].timings is not None and stored[0].timings["predicted_n"] > at_kill["other"]
        assert stored[1].state == "interrupted" and stored[1].content  # the partial text is kept
        figures = compare.views[1].query_one(".figures")
        assert "stop: interrupted" in str(figures.render()) and figures.has_class("-interrupted")
