"""The Textual App: built from the injected services (config, store, server connection); the main
screen does the rest."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.theme import Theme

from .chat.connection import ServerConnection
from .chat.discovery import Candidate
from .client import LlamaCppClient
from .commands import palette_commands
from .config import Config, ConfigError
from .config_files import save_settings
from .domain import SessionSummary
from .screens.finder import ManagedServerStarted
from .screens.main import MainScreen
from .screens.session_switcher import SessionCommands
from .services import AppServices, build_slot_cache
from .store import Store
from .widgets.terminal_guard import ControlCharFilter

if TYPE_CHECKING:  # imported when used: neither is needed for the first frame (~15 ms of start-up)
    from .server import ManagedServer


@dataclass(frozen=True)
class _KeyName:
    """Stands in for a `Keys` member in Textual's sequence table (the parser reads `.value`)."""

    value: str


def _patch_key_table() -> None:
    """Two gaps in Textual's table of terminal sequences (a private module, hence the care):

    - alt+1..9: Textual maps ESC+digit (what xterm-style terminals and tmux send for Alt+digit)
      to macOS Option characters such as "™", so alt+digit bindings could never fire there.
      Removing those entries makes the parser report alt+digit instead.
    - alt+enter: ESC+CR is not in the table, so the parser re-issues it as a plain "enter" (it
      drops the alt of keys it maps by name) and alt+enter *sent* the message in tmux. Mapped to
      "alt+enter", it reaches the composer as the new-line key it is documented to be.
    """
    try:
        from textual import _ansi_sequences
    except ImportError:  # a later Textual without that private table: nothing to undo
        return
    table = cast("dict[str, object]", _ansi_sequences.ANSI_SEQUENCES_KEYS)  # a plain dict at run time
    for digit in "0123456789":
        table.pop("\x1b" + digit, None)
    table.setdefault("\x1b\r", (_KeyName("alt+enter"),))


_patch_key_table()


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
        self._caches_saved = False

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

    def on_ready(self) -> None:
        # The first frame is up: the ~90,000 objects of Textual, the app and its first screen live
        # as long as the app. Out of the cyclic GC's reach from now on, or each full collection
        # rescans them all (35-50 ms, a stall that showed in key echo while an answer streamed).
        # run_tui turned the GC off for the start-up (it made 3 full passes over a growing heap,
        # ~30 ms before the first frame): on again from here.
        gc.freeze()
        gc.enable()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        services = self.services
        services.slot_cache = build_slot_cache(
            services.config, services.connection, self.store.path, self.managed_server
        )
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

    def _theme_changed(self, theme: Theme) -> None:
        """A theme chosen in the app (palette: "Change theme") is kept for the next start."""
        config = self.services.config
        if theme.name == config.theme:
            return
        config.theme = theme.name
        try:
            save_settings(self.services.config_path, theme=theme.name)
        except (ConfigError, OSError) as e:
            self.notify(f"Theme not saved: {e}", severity="warning", markup=False)

    @work(exclusive=True, group="managed-server", exit_on_error=False)
    async def _watch_server(self) -> None:
        """Follow the llama-server we started: loading progress, ready, or why it died."""
        from .screens.monitor import ServerMonitorScreen
        from .server import ManagedServerError

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
        if not isinstance(screen, MainScreen):
            return  # the main screen's commands act on it: not from a screen over it (e.g. compare)
        servers = [(name, profile.url) for name, profile in self.config.servers.items()]
        yield from palette_commands(screen, servers)

    async def action_quit(self) -> None:
        """Save the session caches the server holds (while the UI still runs), then quit."""
        await self.save_slot_caches()
        self.exit()

    async def save_slot_caches(self) -> None:
        """At most a few seconds: a server that does not answer must not keep the app open."""
        cache = self.services.slot_cache
        if cache is not None and not self._caches_saved:
            self._caches_saved = True
            await cache.save_all(timeout=5.0)

    async def on_unmount(self) -> None:
        # Any other way out (a signal, an error): still before the client closes and before
        # cli/launch.py stops a managed server.
        await self.save_slot_caches()
        await self.client.close()
