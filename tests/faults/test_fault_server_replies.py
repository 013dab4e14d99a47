"""Issue #5, cases 2, 3, 6 and 15: a loading model, a refused API key, a silent server, and the
retry policy, seen from the whole app.

Each test: what is injected -> what the user sees -> what is stored. The client-level versions
(error mapping, retry counts and backoff delays, Retry-After up to 120 s, pings, stalls) are in
tests/unit/test_client_faults.py; these check what the app makes of them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, json_error, token
from tests.harness.faults import (
    Notes,
    RequestCounter,
    footer,
    ready,
    screen_text,
    settled,
    status_text,
    type_and_send,
    views,
)

FAST = {"health_interval": 0.25, "default_template": "chatml"}  # chatml: no /apply-template needed


async def _ret(response: web.StreamResponse) -> web.StreamResponse:
    return response


# -- 2. model loading ------------------------------------------------------------------------------


async def test_loading_model_shows_loading_and_a_send_says_so_clearly(make_app) -> None:
    loaded = False

    def loading() -> web.Response:
        return json_error(503, "Loading model", "unavailable_error")

    async with FaultServer() as fs:
        # Injected: 503 "Loading model" from /health, /props and /completion (as llama-server does).
        fs.health = lambda r: _ret(web.json_response({"status": "ok"}) if loaded else loading())
        default_props = fs.props
        fs.props = lambda r: default_props(r) if loaded else _ret(loading())
        fs.completion = lambda r: (
            fs.stream(r, [token("Hello"), token(" world"), final(2)]) if loaded else _ret(loading())
        )
        app = make_app(fs.url, **FAST)
        app.client.backoff_base = 0.01
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot, ServerState.LOADING)
            # Seen: the status bar says the model is loading.
            assert "loading model" in status_text(screen)
            await type_and_send(pilot, "hello?")
            await wait_for(pilot, settled(screen, 2))
            user, answer = views(screen)
            assert user.message.content == "hello?"
            # Seen: a clear message (on the answer and as one toast); the app carries on.
            assert answer.message.state == "error"
            assert "still loading the model" in footer(answer)
            assert len(notes.errors()) == 1 and "still loading the model" in notes.errors()[0]
            # 503 before any byte: retried twice, then reported.
            assert fs.hits["/completion"] == 3
            # Stored: the question, and an answer that says why there is none.
            stored = app.store.active_path(screen.session.id)
            assert [(m.role, m.content, m.state) for m in stored] == [
                ("user", "hello?", "complete"),
                ("assistant", "", "error"),
            ]
            assert "still loading the model" in (stored[1].error or "")

            # The model finishes loading: "ok" by itself, and retry answers the same question.
            loaded = True
            await wait_for(pilot, lambda: screen.server_state is ServerState.OK)
            await pilot.press("alt+up", "r")
            await wait_for(pilot, lambda: views(screen)[-1].message.id != answer.message.id)
            await wait_for(pilot, settled(screen, 2))
            assert views(screen)[-1].message.content == "Hello world"
            assert [m.content for m in app.store.active_path(screen.session.id)] == ["hello?", "Hello world"]


# -- 3. wrong or missing API key -------------------------------------------------------------------

WRONG_KEY = "wrong-SECRET-key-987"


def _assert_key_nowhere(key: str, app, notes: Notes, tmp_path: Path, store_path: Path, logs: str) -> None:
    """The key is in no screenshot, toast, log line, or byte of the store."""
    assert key not in screen_text(app)
    assert key not in app.export_screenshot()
    shot = Path(app.save_screenshot(path=str(tmp_path), filename="shot.svg"))
    assert key not in shot.read_text()
    assert key not in notes.text()
    assert key not in logs
    assert key not in repr(app.client)
    for suffix in ("", "-wal"):
        file = Path(str(store_path) + suffix)
        if file.exists():
            assert key.encode() not in file.read_bytes()


async def test_wrong_api_key_gives_one_clear_message_keeps_the_draft_and_never_shows_the_key(
    llama_server_auth, make_app, tmp_path: Path, caplog, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    # Injected: a key the server (started with --api-key) refuses.
    app = make_app(
        llama_server_auth.url, api_key=WRONG_KEY, default_template="chatml", default_settings={"n_predict": 8}
    )
    notes = Notes(app)
    requests = RequestCounter(app.client)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await ready(pilot, ServerState.AUTH_ERROR)
        # Seen: the status bar names the problem and the setting that fixes it.
        status = status_text(screen)
        assert "auth error" in status and "api_key" in status
        # A send is refused with one message naming the key setting; the draft stays.
        await type_and_send(pilot, "my question")
        await wait_for(pilot, lambda: bool(notes.errors()))
        await pilot.pause(0.3)
        assert len(notes.errors()) == 1
        assert "api_key" in notes.errors()[0] and "LLAMA_API_KEY" in notes.errors()[0]
        assert screen.query_one(Composer).text == "my question"
        # Stored: nothing sent, nothing half-saved; the draft is kept with the session.
        assert app.store.active_path(screen.session.id) == []
        await wait_for(pilot, lambda: app.store.get_session(screen.session.id).draft == "my question")
        # Not retried: one /props per health check that came back ok, and no /completion at all.
        assert requests["/completion"] == 0
        assert 1 <= requests["/props"] <= requests["/health"]

        # The same key refused by the answer request itself (a send before the app knew): the
        # question is kept on screen and in the store, the answer says what to fix, retry is offered.
        screen.server_watch.state = ServerState.OK
        await pilot.press("enter")
        await wait_for(pilot, settled(screen, 2))
        user, answer = views(screen)
        assert user.message.content == "my question"
        assert answer.message.state == "error"
        assert "api_key" in footer(answer) and "r retries" in footer(answer)
        assert screen.server_state is ServerState.AUTH_ERROR  # later sends are refused up front
        stored = app.store.active_path(screen.session.id)
        assert [(m.role, m.content) for m in stored] == [("user", "my question"), ("assistant", "")]
        assert "Invalid API Key" in (stored[1].error or "") and "api_key" in (stored[1].error or "")
        assert requests["/completion"] == 1  # a 401 is never retried
        await pilot.pause(0.2)
        captured = capfd.readouterr()
        _assert_key_nowhere(WRONG_KEY, app, notes, tmp_path, app.store.path, caplog.text + captured.out + captured.err)


async def test_right_api_key_works_and_never_shows_either(
    llama_server_auth, make_app, tmp_path: Path, caplog, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app(llama_server_auth.url, api_key=llama_server_auth.api_key, default_settings={"n_predict": 8})
    notes = Notes(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await ready(pilot)
        await type_and_send(pilot, "hello")
        await wait_for(pilot, settled(screen, 2))
        assert views(screen)[-1].message.state == "complete"
        captured = capfd.readouterr()
        _assert_key_nowhere(
            llama_server_auth.api_key, app, notes, tmp_path, app.store.path, caplog.text + captured.out + captured.err
        )


# -- 6. silence longer than the read timeout, pings, slow but steady answers -----------------------


async def test_stall_longer_than_the_read_timeout_says_so_and_keeps_the_text(
    fresh_llama_server, slow_model: Path, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192)
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(server.url, read_timeout=1.0, health_interval=0.25, default_settings={"n_predict": 6000})
    notes = Notes(app)
    requests = RequestCounter(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await type_and_send(pilot, "keep talking")
        await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 100)
        # Injected: SIGSTOP; the connection stays open and nothing more comes.
        server.suspend()
        loop = asyncio.get_running_loop()
        stalled_at = loop.time()
        await wait_for(pilot, settled(screen, 2), timeout=15)
        waited = loop.time() - stalled_at
        assert 0.9 <= waited < 6.0
        answer = views(screen)[-1]
        # Seen: a clear timeout message; the text that arrived stays.
        assert answer.message.state == "interrupted"
        assert "read timeout" in footer(answer)
        assert any("read timeout" in e for e in notes.errors())
        # Stored: the same text, marked interrupted with the reason; nothing retried.
        stored = app.store.active_path(screen.session.id)[-1]
        assert stored.content == answer.message.content and len(stored.content) >= 100
        assert stored.state == "interrupted" and "read timeout" in (stored.error or "")
        assert requests["/completion"] == 1
        server.resume()


async def test_pings_and_slow_steady_tokens_outlive_the_read_timeout(make_app) -> None:
    # Injected: about 4.8 s of answer with a read timeout of 1 s. First tokens every 0.3 s; then
    # tokens 1.5 s apart (longer than the timeout) with ": ping" comments 0.3 s apart in between.
    # (Margins wide enough that a busy machine stalling the loop cannot fake a timeout.)
    words = [f"w{i} " for i in range(8)]
    ping = b": ping\n\n"
    chunks = [token(w) for w in words[:6]]
    for w in words[6:]:
        chunks += [ping, ping, ping, ping, token(w)]
    chunks.append(final(8))
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, chunks, delay=0.3)
        app = make_app(fs.url, read_timeout=1.0, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "slowly please")
            await wait_for(pilot, settled(screen, 2), timeout=15)
            answer = views(screen)[-1]
            # Seen: the whole answer, not killed, no trace of the pings, no error.
            assert answer.message.state == "complete"
            assert answer.message.content == "".join(words)
            assert "ping" not in screen_text(app)
            assert notes.errors() == []
            # Stored: the same.
            stored = app.store.active_path(screen.session.id)[-1]
            assert stored.content == "".join(words) and stored.state == "complete"


# -- 15. retry policy at the app level -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "etype", "headers", "attempts"),
    [
        (500, "server_error", {}, 3),
        (502, "server_error", {}, 3),
        (429, "rate_limit", {"Retry-After": "0"}, 3),
        (400, "invalid_request_error", {}, 1),
        (401, "authentication_error", {}, 1),
        (404, "not_found_error", {}, 1),
    ],
)
async def test_errors_before_the_first_byte_are_retried_only_when_it_can_help(
    make_app, status: int, etype: str, headers: dict[str, str], attempts: int
) -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(json_error(status, f"failure {status}", etype, headers=headers))
        app = make_app(fs.url, **FAST)
        app.client.backoff_base = 0.01
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "try")
            await wait_for(pilot, settled(screen, 2))
            # Retried at most twice (connection errors, 429, 5xx); 400/401/404 never.
            assert fs.hits["/completion"] == attempts
            answer = views(screen)[-1]
            assert answer.message.state == "error" and f"failure {status}" in footer(answer)
            assert len(notes.errors()) == 1 and f"failure {status}" in notes.errors()[0]
            stored = app.store.active_path(screen.session.id)
            assert [(m.role, m.content, m.state) for m in stored] == [
                ("user", "try", "complete"),
                ("assistant", "", "error"),
            ]


async def test_server_errors_then_success_is_one_clean_answer(make_app) -> None:
    calls = 0

    async with FaultServer() as fs:

        async def flaky(request: web.Request) -> web.StreamResponse:
            nonlocal calls
            calls += 1
            if calls < 3:
                return json_error(503, "busy", "server_error")
            return await fs.stream(request, [token("fine"), token(" now"), final(2)])

        fs.completion = flaky
        app = make_app(fs.url, **FAST)
        app.client.backoff_base = 0.01
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "again")
            await wait_for(pilot, settled(screen, 2))
            assert fs.hits["/completion"] == 3
            assert views(screen)[-1].message.content == "fine now"
            assert notes.errors() == []
            assert [m.content for m in app.store.active_path(screen.session.id)] == ["again", "fine now"]


async def test_nothing_is_retried_after_tokens_arrived(make_app) -> None:
    async def drop_after_tokens(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for chunk in (token("half "), token("an "), token("answer")):
            await resp.write(chunk)
        await asyncio.sleep(0.1)
        assert request.transport is not None
        request.transport.abort()  # the connection drops, no stop event
        return resp

    async with FaultServer() as fs:
        fs.completion = drop_after_tokens
        app = make_app(fs.url, **FAST)
        app.client.backoff_base = 0.01
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, "go")
            await wait_for(pilot, settled(screen, 2))
            answer = views(screen)[-1]
            assert answer.message.content == "half an answer" and answer.message.state == "interrupted"
            assert "r retries" in footer(answer)
            assert len(notes.errors()) == 1
            await pilot.pause(0.5)
            assert fs.hits["/completion"] == 1
            stored = app.store.active_path(screen.session.id)[-1]
            assert stored.content == "half an answer" and stored.state == "interrupted"
