"""Sessions that resume instantly (issue 16), through the whole app with a real managed
llama-server of one slot: switching sessions saves the one left; after a server restart the
session coming back has its cache restored (the footer says so, cache_n shows it); deleting a
session deletes its files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_tui.chat.slot_support import Support
from llama_tui.screens.monitor_caches import format_size
from llama_tui.server import ManagedServer
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for
from tests.harness.slot_turns import filler

SETTINGS = {"n_predict": 8, "temperature": 0.0, "seed": 1}


@pytest.fixture
def managed(llama_server_bin: Path, chatml_model: Path, tmp_path: Path) -> Iterator[ManagedServer]:
    """What `llama-tui --model` starts: one slot, the slot folder in the app's cache dir."""
    server = ManagedServer(
        chatml_model,
        binary=llama_server_bin,
        args=["-t", "1", "-c", "4096", "-np", "1", "--no-webui"],
        log_path=tmp_path / "server.log",
        slot_save_dir=tmp_path / "slot-files",
    )
    server.start()
    yield server
    server.terminate()


async def ask(pilot: Any, text: str) -> MessageView:
    """Send `text` in the current session; the complete answer's view."""
    screen = pilot.app.main
    before = len(screen.query(MessageView))
    screen.query_one(Composer).insert(text)
    await pilot.press("enter")

    def answered() -> bool:
        views = screen.query(MessageView)
        return len(views) == before + 2 and not screen.is_generating and views[-1].message.state != "streaming"

    await wait_for(pilot, answered, timeout=60)
    view: MessageView = screen.query(MessageView)[-1]
    assert view.message.state == "complete", view.message.error
    return view


async def test_a_session_comes_back_after_a_restart_with_its_cache_restored(
    make_app: Any, managed: ManagedServer
) -> None:
    files = managed.slot_save_dir
    assert files is not None
    app = make_app(managed.url, managed_server=managed, default_settings=SETTINGS)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.main
        cache = app.services.slot_cache
        await wait_for(pilot, lambda: cache.support.support is Support.REUSED, timeout=30)
        # A long session A, then a short session B on the one slot: A's cache is saved on the switch.
        await wait_for(pilot, lambda: screen.session is not None)
        first = await ask(pilot, filler(700))
        session_a = screen.session.id
        assert first.message.timings["cache_n"] == 0
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != session_a)
        await wait_for(pilot, lambda: len(list(files.glob("*.kv"))) == 1, timeout=30)
        await ask(pilot, "hello there")

        # The server restarts (as after a crash or a model reload): no slot holds anything.
        await managed.stop()
        await wait_for(pilot, lambda: screen.server_state is not ServerState.OK, timeout=30)
        managed.start()
        await managed.wait_healthy(60)
        await wait_for(pilot, lambda: screen.server_state is ServerState.OK, timeout=30)

        await screen.open_session(session_a)
        back = await ask(pilot, "and then?")
        cache_n = back.message.timings["cache_n"]
        assert cache_n > 700  # restored: the whole first turn was not processed again
        note = back.message.meta["slot_cache"]
        assert note["reused"] is True and note["cache_n"] == cache_n and note["restored"] >= cache_n
        footer = str(back.query_one(".footer").render())
        assert f"cache restored: {cache_n:,} prompt tokens not re-processed" in footer
        assert f"{cache_n:,} cached" in footer

        # Deleting session A deletes its saved cache (file and record).
        await cache.wait_idle()
        assert any(
            f"-s{session_a}-" in f.name or f.name.startswith(f"llama-tui-s{session_a}-") for f in files.iterdir()
        )
        await pilot.press("f8")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.session is not None and screen.session.id != session_a)
        await wait_for(pilot, lambda: not any(f.name.startswith(f"llama-tui-s{session_a}-") for f in files.iterdir()))
        assert all(row.session_id != session_a for row in await cache.saved_caches())


def monitor_caches_text(app: Any) -> str:
    from textual.content import Content
    from textual.widgets import Static

    content = app.screen.query_one("#slot-caches", Static).content
    assert isinstance(content, Content)
    return content.plain


async def test_quitting_saves_the_session_and_the_monitor_lists_it(make_app: Any, managed: ManagedServer) -> None:
    files = managed.slot_save_dir
    assert files is not None
    app = make_app(managed.url, managed_server=managed, default_settings=SETTINGS)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.main
        cache = app.services.slot_cache
        await wait_for(pilot, lambda: cache.support.support is Support.REUSED, timeout=30)
        await wait_for(pilot, lambda: screen.session is not None)
        await ask(pilot, filler(600))
        title = screen.session.title
        assert list(files.glob("*.kv")) == []  # nothing at risk yet: nothing saved
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.screen.query("#slot-caches") and "saved" in monitor_caches_text(app))
        text = monitor_caches_text(app)
        assert "on: long sessions resume without re-processing, even after a restart" in text
        assert "saved       0 · 0 kB (limit 4,096 MiB)" in text
        await pilot.press("escape")
        await pilot.press("ctrl+q")
    saved = list(files.glob("*.kv"))
    assert len(saved) == 1  # saved on the way out, before the server stops
    rows = await cache.saved_caches()
    assert len(rows) == 1 and rows[0].n_bytes == saved[0].stat().st_size and rows[0].n_tokens > 600

    app = make_app(managed.url, managed_server=managed, default_settings=SETTINGS)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.main.session is not None)
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.screen.query("#slot-caches") and "tokens" in monitor_caches_text(app))
        text = monitor_caches_text(app)
        assert f"saved       1 · {format_size(rows[0].n_bytes)} (limit 4,096 MiB)" in text
        assert f"  “{title[:30]}" in text  # the session, by its title
        assert f"” · {rows[0].n_tokens:,} tokens · {format_size(rows[0].n_bytes)} · used now" in text


async def test_an_external_server_without_slot_files_says_what_saving_would_spare(
    make_app: Any, llama_server: Any
) -> None:
    """A server without --slot-save-path works as before, and the monitor says what to gain."""
    app = make_app(llama_server.url, default_settings=SETTINGS)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.main
        cache = app.services.slot_cache
        await wait_for(pilot, lambda: cache.support.support is Support.OFF, timeout=30)
        await wait_for(pilot, lambda: screen.session is not None)
        answer = await ask(pilot, filler(400))
        assert "cache restored" not in str(answer.query_one(".footer").render())
        timings = answer.message.timings
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.screen.query("#slot-caches") and "saved" in monitor_caches_text(app))
        text = monitor_caches_text(app)
    assert "off: sessions re-process their whole prompt after a server restart or a cache eviction" in text
    assert "add --slot-save-path DIR to llama-server's command line to resume long sessions instantly" in text
    tokens = timings["prompt_n"] + timings["cache_n"]
    assert f"would gain  a saved cache would spare re-processing {tokens:,} prompt tokens (about" in text
    assert answer.message.meta is None or "slot_cache" not in answer.message.meta
