"""The Textual App: built from the injected services (config, store, server connection); the main
screen does the rest."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from .chat.connection import ServerConnection
from .chat.discovery import Candidate
from .client import LlamaCppClient
from .commands import palette_commands
from .config import Config
from .domain import SessionSummary
from .screens.finder import ManagedServerStarted
from .screens.main import MainScreen
from .screens.monitor import ServerMonitorScreen
from .screens.session_switcher import SessionCommands
from .server import ManagedServer, ManagedServerError
from .services import AppServices
from .store import Store
from .widgets.terminal_guard import ControlCharFilter


def _alt_digits_as_keys() -> None:
    """Let alt+1..9 reach the app as keys. Textual maps ESC+digit (what xterm-style terminals and
    tmux send for Alt+digit) to macOS Option characters such as "™", so alt+digit bindings could
    never fire there. Removing those entries makes the parser report alt+digit instead."""
    try:
        from textual import _ansi_sequences
    except ImportError:  # a later Textual without that private table: nothing to undo
        return
    table = cast("dict[str, object]", _ansi_sequences.ANSI_SEQUENCES_KEYS)  # a plain dict at run time
    for digit in "0123456789":
        table.pop("\x1b" + digit, None)


_alt_digits_as_keys()


class LlamaTui(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "llama-tui"
    COMMANDS = App.COMMANDS | {SessionCommands}

    def __init__(
        self,
        *,
        config: Config,
        client: LlamaCppClient,
        store: Store,
        config_path: Path,
        custom_templates: Mapping[str, Any] | None = None,
        initial_session: int | None = None,
        new_session: bool = False,
        clock: Callable[[], float] = time.time,
        managed_server: ManagedServer | None = None,
        discover: list[Candidate] | None = None,
        demo: bool = False,
    ) -> None:
        super().__init__()
        # The last line of defence: no control character in any text ever reaches the terminal.
        self._filters.append(ControlCharFilter())
        self.services = AppServices(
            config=config,
            store=store,
            connection=ServerConnection(client),
            config_path=config_path,
            custom_templates=dict(custom_templates or {}),
            clock=clock,
            managed_server=managed_server,
            initial_session=initial_session,
            new_session=new_session,
            discover=discover,
            demo=demo,
        )
        if config.theme in self.available_themes:
            self.theme = config.theme

    # What the services hold, for the CLI that built the app and for tests.
    @property
    def client(self) -> LlamaCppClient:
        return self.services.connection.client

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def managed_server(self) -> ManagedServer | None:
        return self.services.managed_server

    @managed_server.setter
    def managed_server(self, server: ManagedServer | None) -> None:
        self.services.managed_server = server

    def on_mount(self) -> None:
        self.push_screen(MainScreen(self.services))
        if self.store.recovered_from is not None:
            self.notify(
                f"The session store was damaged: it was moved aside to {self.store.recovered_from} "
                "and a new one was started.",
                title="Session store",
                severity="warning",
                timeout=30,
                markup=False,
            )
        if self.managed_server is not None:
            self._watch_server()

    def on_managed_server_started(self, message: ManagedServerStarted) -> None:
        """The first-run screen started a llama-server: follow it, and stop it at exit."""
        self.managed_server = message.server
        self._watch_server()

    @work(exclusive=True, group="managed-server", exit_on_error=False)
    async def _watch_server(self) -> None:
        """Follow the llama-server we started: loading progress, ready, or why it died."""
        server = self.managed_server
        assert server is not None

        def progress(p: object) -> None:
            self.sub_title = f"llama-server: {p}"

        try:
            seconds = await server.wait_healthy(self.config.server_launch.startup_timeout, on_progress=progress)
        except ManagedServerError as e:
            self.sub_title = ""
            self.notify(
                e.message.splitlines()[0],
                title="llama-server did not start",
                severity="error",
                timeout=30,
                markup=False,
            )
            self.push_screen(ServerMonitorScreen(self.client, server=server))  # its log shows why
            return
        self.sub_title = ""
        self.notify(f"llama-server ready in {seconds:.1f} s", markup=False)
        self.main.server.watch.poke()
        code = await server.wait()  # cancelled when the app exits, so this means it crashed
        self.notify(f"llama-server exited ({code}); log: {server.log_path}", severity="error", timeout=30, markup=False)

    @property
    def main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen not mounted")

    async def switch_to_session(self, session_id: int) -> None:
        await self.main.open_session(session_id)

    def session_summaries(self) -> list[SessionSummary]:
        """For the command palette's session switcher."""
        return self.store.list_sessions()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        servers = [(name, profile.url) for name, profile in self.config.servers.items()]
        yield from palette_commands(self.main, servers)

    async def on_unmount(self) -> None:
        await self.client.close()
