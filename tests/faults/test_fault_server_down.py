"""Issue #5, cases 1 and 4: the real llama-server is not there at start-up, or dies mid-answer.

Each test: what is injected -> what the user sees -> what is stored.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from tests.harness.app import wait_for
from tests.harness.faults import (
    Notes,
    RequestCounter,
    footer,
    ready,
    settled,
    status_text,
    type_and_send,
    views,
)
from tests.harness.server import LlamaServer, free_port

HEALTH_INTERVAL = 0.25


async def test_server_started_after_the_app_is_found_without_a_storm_and_nothing_typed_is_lost(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path, make_app
) -> None:
    # Injected: the app starts against a port where nothing listens yet; the server comes later.
    server = LlamaServer(llama_server_bin, chatml_model, log_dir=tmp_path)
    server.port = free_port()
    app = make_app(server.url, health_interval=HEALTH_INTERVAL, default_settings={"n_predict": 8})
    polls: list[float] = []
    real_health = app.client.health

    async def counted_health():
        polls.append(time.monotonic())
        return await real_health()

    app.client.health = counted_health
    notes = Notes(app)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            started = time.monotonic()
            screen = await ready(pilot, ServerState.UNREACHABLE)
            # Seen: the status bar says so.
            assert "unreachable" in status_text(screen)
            composer = screen.query_one(Composer)
            composer.focus()
            composer.insert("typed while the server was down")
            # A few seconds with the server down: polls back off (0.25, 0.5, 1, 2 s ... with
            # +-20 % jitter), so at most 5 in 3.5 s, where a fixed interval would make 14.
            await pilot.pause(3.5 - (time.monotonic() - started))
            window = [t for t in polls if t - started <= 3.5]
            assert 3 <= len(window) <= 5, [round(t - started, 2) for t in polls]
            assert notes.errors() == []  # no storm of error toasts either
            assert screen.server_state is ServerState.UNREACHABLE
            # Nothing typed is lost: still in the composer, and saved as the session's draft.
            assert composer.text == "typed while the server was down"
            assert app.store.get_session(screen.session.id).draft == "typed while the server was down"

            # Injected: the server starts (same port). Seen: "ok", by itself, within one backoff step.
            await asyncio.to_thread(server.start)
            await wait_for(pilot, lambda: screen.server_state is ServerState.OK, timeout=15)
            assert "ok" in status_text(screen) and "unreachable" not in status_text(screen)
            assert len(polls) <= 7

            # The draft is sent as it was typed, and answered.
            await pilot.press("enter")
            await wait_for(pilot, settled(screen, 2))
            user, answer = views(screen)
            assert user.message.content == "typed while the server was down"
            assert answer.message.state == "complete"
            stored = app.store.active_path(screen.session.id)
            assert [m.content for m in stored] == ["typed while the server was down", answer.message.content]
            assert stored[1].state == "complete"
    finally:
        server.stop()


async def test_send_while_server_down_keeps_the_question_and_retry_works_once_it_is_up(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path, make_app
) -> None:
    server = LlamaServer(llama_server_bin, chatml_model, log_dir=tmp_path)
    server.port = free_port()
    # chatml: the prompt is rendered here, so the first request of a send is the /completion itself.
    app = make_app(
        server.url, health_interval=HEALTH_INTERVAL, default_template="chatml", default_settings={"n_predict": 8}
    )
    app.client.backoff_base = 0.05  # the client's own retries (twice, before any byte) go quickly
    notes = Notes(app)
    requests = RequestCounter(app.client)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot, ServerState.UNREACHABLE)
            # Injected: Enter while nothing listens.
            await type_and_send(pilot, "are you there?")
            await wait_for(pilot, settled(screen, 2))
            user, answer = views(screen)
            # Seen: the question stays on screen; the answer says why it failed and offers retry.
            assert user.message.content == "are you there?"
            assert answer.message.state == "error"
            assert "cannot reach llama-server" in footer(answer)
            assert "r retries" in footer(answer)
            assert any("cannot reach llama-server" in e for e in notes.errors())
            # Stored: the question, and the failed answer saying why.
            stored = app.store.active_path(screen.session.id)
            assert [(m.role, m.content, m.state) for m in stored] == [
                ("user", "are you there?", "complete"),
                ("assistant", "", "error"),
            ]
            assert "cannot reach llama-server" in (stored[1].error or "")
            # A connection error before any byte: tried once and retried twice, no more.
            assert requests["/completion"] == 3

            # The server comes up; retry (focus the answer, r) answers the same question.
            await asyncio.to_thread(server.start)
            await wait_for(pilot, lambda: screen.server_state is ServerState.OK, timeout=15)
            failed_id = answer.message.id
            await pilot.press("alt+up", "r")
            await wait_for(pilot, lambda: views(screen)[-1].message.id != failed_id)
            await wait_for(pilot, settled(screen, 2))
            retried = views(screen)[-1].message
            assert retried.state == "complete"
            stored = app.store.active_path(screen.session.id)
            assert [m.role for m in stored] == ["user", "assistant"]
            assert stored[0].content == "are you there?" and stored[1].id == retried.id
            # The failed attempt is kept as an alternative, not overwritten.
            assert [m.state for m in app.store.siblings(retried.id)] == ["error", "complete"]
    finally:
        server.stop()


async def test_server_killed_mid_stream_keeps_the_partial_answer_marked_interrupted(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)  # an answer that only ends when killed
    app = make_app(server.url, health_interval=HEALTH_INTERVAL, default_settings={"n_predict": 6000})
    requests = RequestCounter(app.client)
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await type_and_send(pilot, "tell me everything")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 300)
        assert screen.is_generating
        # Injected: SIGKILL while tokens are flowing.
        server.kill()
        await wait_for(pilot, settled(screen, 2))
        answer = views(screen)[-1]
        shown = answer.message
        # Seen: the partial answer stays, marked interrupted, with retry offered.
        assert shown.state == "interrupted"
        assert len(shown.content) >= 300
        assert "interrupted" in footer(answer) and "r retries" in footer(answer)
        assert len(notes.errors()) == 1
        # Stored: every character that arrived, marked interrupted, with the reason.
        stored = app.store.active_path(screen.session.id)
        assert [m.content for m in stored[:1]] == ["tell me everything"]
        assert stored[1].content == shown.content and stored[1].state == "interrupted"
        # A SIGKILL shows up as a reset (lost) or as an early end (closed), depending on timing.
        reason = stored[1].error or ""
        assert "lost mid-stream" in reason or "closed the stream before the answer was complete" in reason
        assert reason in footer(answer)
        # Nothing retries by itself once tokens have arrived: one request, and it stays one.
        await wait_for(pilot, lambda: screen.server_state is ServerState.UNREACHABLE, timeout=10)
        await pilot.pause(1.0)
        assert requests["/completion"] == 1
        assert len(views(screen)) == 2 and len(app.store.active_path(screen.session.id)) == 2
