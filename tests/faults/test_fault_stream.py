"""Issue #5, cases 5, 7 and 8: errors inside a 200 stream, context overflow from the real server,
malformed streams, and text that must arrive exactly as the server meant it.

Each test: what is injected -> what the user sees -> what is stored. The client-level versions of
these faults are in tests/unit/test_client_faults.py; these check the whole app.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.sanitize import neutralize
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, event, final, token
from tests.harness.faults import Notes, RequestCounter, footer, ready, screen_text, settled, type_and_send, views

FAST = {"health_interval": 0.25, "default_template": "chatml"}


async def _answer(make_app, chunks: list[bytes], *, delay: float = 0.0, question: str = "go") -> dict[str, Any]:
    """Run the app against a fault server that answers with `chunks`; return what was seen and stored."""
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, chunks, delay=delay)
        app = make_app(fs.url, **FAST)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await type_and_send(pilot, question)
            await wait_for(pilot, settled(screen, 2))
            await pilot.pause()
            answer = views(screen)[-1]
            return {
                "running": app.is_running,
                "shown": answer.message,
                "source": answer.markdown.source,
                "footer": footer(answer),
                "errors": notes.errors(),
                "stored": app.store.active_path(screen.session.id),
                "hits": fs.hits["/completion"],
                "screen": screen_text(app),
            }


# -- 5. an error event inside a 200 stream, both forms ---------------------------------------------


@pytest.mark.parametrize(
    "error_chunk",
    [
        event({"error": {"code": 500, "message": "slot crashed", "type": "server_error"}}),
        b'error: {"code": 500, "message": "slot crashed", "type": "server_error"}\n\n',
    ],
    ids=["data-error", "older-error-line"],
)
async def test_error_event_after_tokens_keeps_question_and_partial_answer(make_app, error_chunk: bytes) -> None:
    seen = await _answer(make_app, [token("par"), token("tial"), error_chunk, token("never shown")])
    # Seen: the partial answer, marked interrupted with the server's message (and one toast).
    assert seen["running"]
    assert seen["shown"].content == "partial" and seen["source"] == "partial"
    assert seen["shown"].state == "interrupted"
    assert "interrupted: slot crashed" in seen["footer"] and "r retries" in seen["footer"]
    assert seen["errors"] == ["slot crashed"]
    # Stored: the question and the partial answer with the reason; not retried.
    user, answer = seen["stored"]
    assert (user.content, answer.content, answer.state, answer.error) == (
        "go",
        "partial",
        "interrupted",
        "slot crashed",
    )
    assert seen["hits"] == 1


async def test_context_overflow_from_the_real_server_shows_token_counts_and_keeps_everything(
    fresh_llama_server, make_app, monkeypatch
) -> None:
    server = fresh_llama_server(ctx_size=256)  # one slot of 256 tokens
    app = make_app(server.url, health_interval=0.25, default_settings={"n_predict": 200})
    notes = Notes(app)
    requests = RequestCounter(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        # Injected: a prompt longer than the context. The server refuses it (400) with counts.
        long_question = "hello " * 400
        await type_and_send(pilot, long_question)
        await wait_for(pilot, settled(screen, 2))
        answer = views(screen)[-1]
        assert answer.message.state == "error"
        # Seen: the server's message with both token counts, on the answer and as a toast.
        assert "exceeds the available context size" in footer(answer)
        assert "context 256)" in footer(answer) and "(prompt 4" in footer(answer)
        assert len(notes.errors()) == 1 and "context 256)" in notes.errors()[0]
        # Stored: the whole question, and the answer saying why.
        stored = app.store.active_path(screen.session.id)
        assert stored[0].content == long_question
        assert stored[1].state == "error" and "context 256)" in (stored[1].error or "")
        assert requests["/completion"] == 1  # a 400 is never retried

        # Injected: a prompt that fits, and an answer that runs into the end of the context.
        monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != stored[0].session_id and not views(screen))
        await type_and_send(pilot, "hello " * 150)
        await wait_for(pilot, settled(screen, 2))
        answer = views(screen)[-1]
        # Seen: the partial answer stays, marked as cut off by the full context.
        assert answer.message.content and answer.message.truncated
        assert "context full" in footer(answer)
        stored = app.store.active_path(screen.session.id)
        assert stored[1].content == answer.message.content
        assert (stored[1].stop_type, stored[1].truncated) == ("limit", True)


# -- 7. malformed streams ----------------------------------------------------------------------------

CRLF = (
    b': ping\r\n\r\ndata: {"content":"cr","tokens":[5],"stop":false}\r\n\r\n'
    b'data: {"content":"lf","tokens":[6],"stop":false}\r\n\r\n' + final(2).replace(b"\n", b"\r\n")
)
ODD_FIELDS = event(
    {
        "content": "odd",
        "tokens": "not a list",
        "stop": False,
        "brand_new_field": {"a": [1, 2]},
        "prompt_progress": {"total": "many", "processed": None},
        "completion_probabilities": "not a list",
    }
)


@pytest.mark.parametrize(
    ("chunks", "content", "state", "reason"),
    [
        ([token("kept "), b"data: {not json\n\n", token("lost")], "kept ", "interrupted", "malformed event"),
        ([token("kept "), b"data: 42\n\n"], "kept ", "interrupted", "unexpected event"),
        ([token("kept "), event({"content": 5, "stop": False})], "kept ", "interrupted", "not text"),
        ([token("a"), ODD_FIELDS, final(2, timings="garbage", generation_settings=[1])], "aodd", "complete", None),
        ([CRLF[:9], CRLF[9:40], CRLF[40:77], CRLF[77:]], "crlf", "complete", None),
        ([token("big "), final(1, prompt="word " * (2 * 1024 * 1024 // 5 + 1))], "big ", "complete", None),
        ([token("cut "), token("off")], "cut off", "interrupted", "closed the stream before the answer"),
        ([token("half"), b'data: {"content":" li'], "half", "interrupted", "closed the stream before the answer"),
    ],
    ids=["non-json", "non-object", "content-not-text", "odd-fields", "crlf", "2MiB-line", "no-stop", "torn-line"],
)
async def test_malformed_stream_never_crashes_keeps_what_arrived_and_marks_the_cut(
    make_app, chunks: list[bytes], content: str, state: str, reason: str | None
) -> None:
    seen = await _answer(make_app, chunks)
    assert seen["running"]
    # Seen and stored: exactly what arrived; an incomplete answer says so.
    assert seen["shown"].content == content and seen["source"] == content
    assert seen["shown"].state == state
    user, answer = seen["stored"]
    assert (user.content, answer.content, answer.state) == ("go", content, state)
    if reason is None:
        assert seen["errors"] == [] and answer.error is None
        assert "interrupted" not in seen["footer"]
    else:
        assert reason in (answer.error or "")
        assert "interrupted" in seen["footer"] and reason in seen["footer"]
        assert len(seen["errors"]) == 1 and reason in seen["errors"][0]
    assert seen["hits"] == 1


# -- 8. split UTF-8 and U+FFFD ---------------------------------------------------------------------

EXACT = "héllo 😀 世界 · \ufffd stays \ufffd · e\u0301 · "


async def test_split_utf8_and_replacement_characters_arrive_exactly(make_app) -> None:
    # Injected: a stream cut into 1-byte writes (every multi-byte character split across reads),
    # a literal U+FFFD the server meant, and an escaped surrogate pair.
    raw = token(EXACT) + b'data: {"content":"\\ud83e\\udd99","tokens":[7],"stop":false}\n\n' + final(2)
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    seen = await _answer(make_app, chunks, delay=0.0005)
    expected = EXACT + "🦙"
    assert seen["shown"].content == expected and seen["source"] == expected
    assert "😀 世界" in seen["screen"] and "\ufffd stays \ufffd" in seen["screen"] and "🦙" in seen["screen"]
    assert seen["stored"][1].content == expected and seen["stored"][1].state == "complete"


async def test_real_server_text_with_replacement_and_control_characters_is_kept_exactly(
    llama_server, make_app, monkeypatch
) -> None:
    # The tiny random model emits U+FFFD, control characters and tokens that split UTF-8.
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)
    app = make_app(llama_server.url, default_settings={"n_predict": 300, "seed": 1234})
    sent: list[tuple[Any, dict[str, Any]]] = []
    real = app.client.stream_completion

    def spy(prompt: Any, **params: Any) -> Any:
        sent.append((prompt, params))
        return real(prompt, **params)

    app.client.stream_completion = spy
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await type_and_send(pilot, "hello there")
        await wait_for(pilot, settled(screen, 2))
        answer: MessageView = views(screen)[-1]
        shown, source = answer.message.content, answer.markdown.source
        stored = app.store.active_path(screen.session.id)[-1]
    # What the server meant: the same request again (same seed), read by the harness's own
    # stdlib SSE reader and json.loads, independent of the client under test.
    prompt, params = sent[0]
    body = {**params, "prompt": prompt}
    meant = await asyncio.to_thread(
        lambda: "".join(e.get("content", "") for e in llama_server.stream("/completion", body))
    )
    assert "\ufffd" in meant and any(ord(c) < 0x20 and c not in "\n\t" for c in meant)  # the test has teeth
    assert stored.content == meant and stored.reasoning is None
    assert shown == meant
    assert source == neutralize(meant)  # shown with controls made visible, U+FFFD as it is
    assert json.dumps(stored.content) == json.dumps(meant)
