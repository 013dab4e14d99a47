"""What the app tells about the server while it runs, against the real llama-server (issue 13):
the slots in the status bar follow other clients' work (item 5), an answer queued behind a busy
slot says so (item 1), a sleeping server is left asleep and its naps are seen (item 11), and a
model without a chat template is named and its answers get stop strings (item 7)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.widgets import Static

from llama_tui.client import LlamaCppClient
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for, wait_for_answer
from tests.harness.tiny_model import NO_TEMPLATE, make_tiny_model


def status(app: Any, name: str) -> str:
    return str(app.main.query_one(f"#status-{name}", Static).visual)


def footer(view: MessageView) -> str:
    return str(view.query_one(".footer", Static).visual)


@contextlib.asynccontextmanager
async def another_client_generating(url: str, n_predict: int = 100_000) -> AsyncIterator[asyncio.Task[None]]:
    """A long generation by another client (a second terminal, a script) until the block ends."""

    async def generate() -> None:
        async with LlamaCppClient(url) as client:
            async for _ in client.stream_completion(
                "<|im_start|>user\ncount<|im_end|>\n", n_predict=n_predict, ignore_eos=True
            ):
                pass

    task = asyncio.ensure_future(generate())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def is_sleeping(url: str) -> bool:
    async with LlamaCppClient(url) as client:
        return (await client.props()).is_sleeping


async def test_the_status_bar_follows_another_clients_generation(make_app, fresh_llama_server, tiny_models_dir) -> None:
    """#13.5: `slots 0/2` stayed while /slots showed one busy; now 1/2 while another client
    generates, and 0/2 once it has stopped."""
    model = make_tiny_model(tiny_models_dir, chat_template="chatml", context_length=32768)
    server = fresh_llama_server(model=model, parallel=2, ctx_size=65536)
    app = make_app(server.url, default_template="chatml")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: status(app, "slots") == "slots 0/2")
        async with another_client_generating(server.url):
            await wait_for(pilot, lambda: status(app, "slots") == "slots 1/2", timeout=15)
        await wait_for(pilot, lambda: status(app, "slots") == "slots 0/2", timeout=10)


async def test_an_answer_queued_behind_a_busy_slot_says_so(make_app, fresh_llama_server, tiny_models_dir) -> None:
    """#13.1: the next message sat at "streaming…" with no explanation while the only slot was
    busy with another request."""
    model = make_tiny_model(tiny_models_dir, chat_template="chatml", context_length=32768)
    server = fresh_llama_server(model=model, parallel=1, ctx_size=32768)
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 8})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.server_state is ServerState.OK and screen.session is not None)
        async with another_client_generating(server.url):
            async with LlamaCppClient(server.url) as probe:
                deadline = time.monotonic() + 10
                while not any(s.is_processing for s in await probe.slots()):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
            screen.query_one(Composer).insert("hello")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
            answer = screen.query(MessageView)[-1]
            await wait_for(pilot, lambda: "waiting for a free slot (1/1 busy)" in footer(answer), timeout=10)
        # The other client stopped: the answer starts, and the note goes.
        view = await wait_for_answer(pilot)
        assert view.message.state == "complete"
        assert "waiting for a free slot" not in footer(view)


async def test_a_sleeping_server_is_left_asleep_and_its_naps_are_seen(make_app, fresh_llama_server) -> None:
    """#13.11: the app's own /tokenize woke the model at start-up, its /slots polling would keep
    it awake, and when it fell asleep again the status stayed `ok` and the next answer showed no
    "waking model"."""
    server = fresh_llama_server(extra_args=["--sleep-idle-seconds", "1"])
    deadline = time.monotonic() + 10
    while not await is_sleeping(server.url):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 8})
    notes: list[str] = []
    original_notify = app.notify
    app.notify = lambda message, **kw: (notes.append(str(message)), original_notify(message, **kw))[1]
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: screen.server_state is ServerState.SLEEPING)
        screen.query_one(Composer).insert("draft")  # the context meter counts it... once awake
        await pilot.pause(3.0)  # health, /props and the context meter have all run meanwhile
        assert await is_sleeping(server.url), "the app woke the sleeping server by itself"
        assert screen.server_state is ServerState.SLEEPING
        assert status(app, "context") == "ctx – / 4,096"

        async def answer_wakes_it(number: int) -> None:
            composer = screen.query_one(Composer)
            composer.set_text(f"question {number}")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2 * number)
            view = screen.query(MessageView)[-1]
            # The tiny model wakes in milliseconds: the footer's "waking model…" is gone by the
            # first token, the notification stays.
            await wait_for(pilot, lambda: sum("Waking the model" in n for n in notes) == number, timeout=5)
            await wait_for(pilot, lambda: view.message.state == "complete" and not screen.is_generating)

        await answer_wakes_it(1)
        await wait_for(pilot, lambda: screen.server_state is ServerState.OK)
        await wait_for(pilot, lambda: status(app, "context") != "ctx – / 4,096")
        # Once nothing happens, the app stops polling /slots; the server naps, and the app sees it.
        screen.server_watch.active_window = 1.0
        await wait_for(pilot, lambda: screen.server_state is ServerState.SLEEPING, timeout=20)
        assert await is_sleeping(server.url)
        await answer_wakes_it(2)


async def test_a_model_without_a_chat_template_is_named_and_its_answers_end(
    make_app, fresh_llama_server, tiny_models_dir: Path
) -> None:
    """#13.7: with the default `server` template, a GGUF without a template got the server's
    ChatML fallback and no stop strings, and wrote turn after turn."""
    server = fresh_llama_server(model=make_tiny_model(tiny_models_dir, chat_template=NO_TEMPLATE))
    app = make_app(server.url, default_settings={"n_predict": 16})  # default_template: "server"
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: "no chat template" in status(app, "template"))
        screen.query_one(Composer).insert("hi")
        await pilot.press("enter")
        view = await wait_for_answer(pilot)
        assert view.message.settings is not None
        assert view.message.settings["stop"] == ["<|im_end|>", "<|im_start|>"]  # as the server reports it
