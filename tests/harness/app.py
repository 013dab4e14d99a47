"""Driving the whole app headless (Pilot): building it the way the CLI does, and waiting for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_tui.app import LlamaTui
from llama_tui.client import LlamaCppClient
from llama_tui.config import Config
from llama_tui.server import ManagedServer
from llama_tui.store import Store

FIXED_NOW = 1_790_000_000.0  # a fixed clock for deterministic ages in snapshots


class AppFactory:
    """Builds apps the way cli/launch.py does, with the store and config under `root`; closes the
    stores it opened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stores: list[Store] = []

    def __call__(
        self,
        server_url: str,
        *,
        api_key: str | None = None,
        store: Store | None = None,
        clock: Callable[[], float] | None = None,
        custom_templates: dict[str, Any] | None = None,
        discover: list[Any] | None = None,
        demo: bool = False,
        managed_server: ManagedServer | None = None,
        **config: Any,
    ) -> LlamaTui:
        if store is None:
            store = Store.open(self.root / "data" / "sessions.sqlite3")
            self.stores.append(store)
        cfg = Config(server_url=server_url, api_key=api_key, **config)
        client = LlamaCppClient(server_url, api_key, read_timeout=cfg.read_timeout)
        kwargs: dict[str, Any] = {"custom_templates": custom_templates, "discover": discover, "demo": demo}
        if clock is not None:
            kwargs["clock"] = clock
        return LlamaTui(
            config=cfg,
            client=client,
            store=store,
            config_path=self.root / "config.toml",
            managed_server=managed_server,
            **kwargs,
        )

    def close(self) -> None:
        for store in self.stores:
            store.close()


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until predicate() is true (fails the test after timeout seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def wait_for_answer(pilot: Any, timeout: float = 20.0) -> Any:
    """Wait until the session shows a question and its answer, and the answer has ended (any way);
    returns the answer's MessageView."""
    from llama_tui.widgets.message_view import MessageView

    screen = pilot.app.main

    def ended() -> bool:
        views = screen.query(MessageView)
        return len(views) == 2 and not screen.is_generating and views[-1].message.state != "streaming"

    await wait_for(pilot, ended, timeout=timeout)
    return screen.query(MessageView)[-1]


async def ask_and_wait(pilot: Any, prompt: str, timeout: float = 20.0) -> Any:
    """Type `prompt` in a fresh session's composer, send it, and wait for the complete answer;
    returns the answer's MessageView."""
    from llama_tui.widgets.composer import Composer

    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None)
    screen.query_one(Composer).insert(prompt)
    await pilot.press("enter")
    view = await wait_for_answer(pilot, timeout)
    assert view.message.state == "complete", view.message.error
    return view
