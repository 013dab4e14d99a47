"""Issue 14, item 12 ("switching sessions during a stream stops it without notice") and the delete
that raced the stop: an answer goes on when the user switches sessions, and its session shows it
live again on return; deleting a session while it streams leaves it in the trash.

Real llama-server (a slow random model, so answers stream for seconds). Each test: what the user
does -> what the screen shows -> what is stored.
"""

from __future__ import annotations

from pathlib import Path

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.config import ServerProfile
from llama_tui.widgets.message_view import MessageView, shown_text
from tests.harness.app import wait_for
from tests.harness.faults import Notes, footer, ready, type_and_send, views

FAST = {"health_interval": 0.25, "default_template": "chatml"}


def _stored(app, session_id: int) -> list:
    return app.store.active_path(session_id)


async def test_switching_sessions_lets_the_answer_finish_and_coming_back_shows_it_live(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192, parallel=2)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # the answer ends at n_predict
    app = make_app(server.url, default_settings={"n_predict": 4000}, **FAST)
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        first = screen.session.id
        await type_and_send(pilot, "the first question")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 200)
        answer_id = views(screen)[-1].message.id

        # Away: a new session. Nothing is stopped; the answer goes on into the store.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        second = screen.session.id
        assert not any("stopped" in message for _, _, message in notes.items)
        stored_then = len(_stored(app, first)[-1].content)
        await wait_for(pilot, lambda: len(_stored(app, first)[-1].content) > stored_then + 200)
        assert _stored(app, first)[-1].state == "streaming"
        assert not screen.is_generating and screen.answering.generating_elsewhere == 1
        # Esc here stops nothing there.
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert screen.answering.generating_elsewhere == 1

        # Back while it still streams: the text so far, then live.
        await screen.open_session(first)
        assert screen.is_generating
        view = views(screen)[-1]
        assert view.message.id == answer_id and view.message.state == "streaming"
        back_at = len(view.text)
        assert back_at >= len(_stored(app, first)[-1].content) - 1  # at least what the store has
        await wait_for(pilot, lambda: len(view.text) > back_at + 200)
        live = screen.answering._shown()
        assert live is not None and view.text == live.sink.so_far().content  # nothing lost or doubled

        # Away again (the blank session left before is gone: ctrl+n makes another), and a question
        # there streams at the same time; Esc stops that one only.
        assert second not in [s.id for s in app.store.list_sessions()]
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        await type_and_send(pilot, "the second question")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 50, 60)
        assert views(screen)[0].message.content == "the second question"
        assert screen.is_generating and screen.answering.generating_elsewhere == 1
        await pilot.press("escape")
        await wait_for(pilot, lambda: views(screen)[-1].message.state == "interrupted")
        assert screen.answering.generating_elsewhere == 1 and _stored(app, first)[-1].state == "streaming"

        # The first ends off screen: said, and stored whole.
        await wait_for(pilot, lambda: _stored(app, first)[-1].state != "streaming", timeout=120)
        final = _stored(app, first)[-1]
        assert final.state == "complete" and final.id == answer_id
        await wait_for(pilot, lambda: any("is complete" in message for _, _, message in notes.items))
        assert any("the first question" in message for _, _, message in notes.items)
        await screen.open_session(first)
        shown = views(screen)[-1]
        assert shown.message == final and "streaming" not in footer(shown)
        assert shown.shown_markdown.strip() == shown_text(final.content).strip()
        assert notes.errors() == []


async def test_coming_back_when_it_ended_meanwhile_shows_the_final_answer(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(server.url, default_settings={"n_predict": 600}, **FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        first = screen.session.id
        await type_and_send(pilot, "short one")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 20)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        await wait_for(pilot, lambda: _stored(app, first)[-1].state == "complete", timeout=60)
        await screen.open_session(first)
        view = views(screen)[-1]
        assert isinstance(view, MessageView) and view.message == _stored(app, first)[-1]
        assert not screen.is_generating


async def test_deleting_a_session_while_it_streams_leaves_it_in_the_trash(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(server.url, default_settings={"n_predict": 6000}, **FAST)
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        doomed = screen.session.id
        await type_and_send(pilot, "doomed question")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 200)
        await pilot.press("f8")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session is not None and screen.session.id != doomed)
        await pilot.pause(1.5)  # more than a checkpoint interval: a late save would show now
        # Stored: in the trash (with what arrived, marked interrupted), not back in the list.
        assert doomed not in [s.id for s in app.store.list_sessions()]
        trashed = {t.id: t for t in app.store.list_trash()}
        assert doomed in trashed and trashed[doomed].message_count == 2
        answer = app.store.active_path(doomed)[-1]
        assert answer.state == "interrupted" and len(answer.content) >= 200
        assert not any("deleted in another window" in message for _, _, message in notes.items)


async def test_a_server_switch_stops_the_answers_off_screen_and_says_so(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(
        server.url, default_settings={"n_predict": 6000}, servers={"again": ServerProfile(url=server.url)}, **FAST
    )
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        first = screen.session.id
        await type_and_send(pilot, "a long one")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 100)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first and screen.answering.generating_elsewhere == 1)
        # The client under it is replaced: the answer ends first, saved, and the user is told.
        await screen.server.switch_server("again")
        assert screen.answering.generating_elsewhere == 0
        stopped = _stored(app, first)[-1]
        assert stopped.state == "interrupted" and len(stopped.content) >= 100
        assert any("stopped to change servers" in message for _, _, message in notes.items)
