"""The Textual App: holds the injected config, client and store; the main screen does the rest."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from .client import LlamaCppClient
from .config import Config
from .domain import SessionSummary
from .screens.main import MainScreen
from .screens.session_switcher import SessionCommands
from .store import Store
from .widgets.terminal_guard import ControlCharFilter

if TYPE_CHECKING:  # imported when used: neither is needed for the first frame (~15 ms of start-up)
    from .server import ManagedServer


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
        custom_templates: dict[str, Any] | None = None,
        initial_session: int | None = None,
        new_session: bool = False,
        clock: Callable[[], float] = time.time,
        managed_server: ManagedServer | None = None,
    ) -> None:
        super().__init__()
        # The last line of defence: no control character in any text ever reaches the terminal.
        self._filters.append(ControlCharFilter())
        self.managed_server = managed_server
        self.server_name: str | None = None  # the [servers.NAME] profile in use, if any
        self.config = config
        self.client = client
        self.store = store
        self.config_path = config_path
        self.custom_templates = custom_templates or {}
        self.initial_session = initial_session
        self.new_session = new_session
        self.clock = clock
        if config.theme in self.available_themes:
            self.theme = config.theme

    def on_ready(self) -> None:
        # The first frame is up: the ~90,000 objects of Textual, the app and its first screen live
        # as long as the app. Out of the cyclic GC's reach from now on, or each full collection
        # rescans them all (35-50 ms, a stall that showed in key echo while an answer streamed).
        # run_tui turned the GC off for the start-up (it made 3 full passes over a growing heap,
        # ~30 ms before the first frame): on again from here.
        gc.freeze()
        gc.enable()

    def on_mount(self) -> None:
        self.push_screen(MainScreen())
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
        self.main.poke_health()
        code = await server.wait()  # cancelled when the app exits, so this means it crashed
        self.notify(f"llama-server exited ({code}); log: {server.log_path}", severity="error", timeout=30, markup=False)

    async def use_server(self, name: str) -> None:
        """Switch to the [servers.NAME] profile: a new client; the screen re-reads the server."""
        profile = self.config.servers[name]
        old = self.client
        self.client = LlamaCppClient(
            profile.url,
            profile.resolved_key(),
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
        )
        self.server_name = name
        self.main.server_changed()
        await old.close()

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
        main = self.main
        for title, help_text, action in (
            ("New session", "Start a new conversation (ctrl+n)", main.action_new_session),
            ("Rename session", "Rename the current session (F2)", main.action_rename_session),
            ("Duplicate session", "Copy the current session with all its messages (F3)", main.action_duplicate_session),
            ("Delete session", "Delete the current session, with undo (F8)", main.action_delete_session),
            ("Undo delete", "Bring back the last deleted session (alt+u)", main.action_undo_delete),
            ("Switch session", "Fuzzy-find a session (ctrl+k)", main.action_switcher),
            ("Toggle sidebar", "Hide or show the sessions list (ctrl+b)", main.action_toggle_sidebar),
            ("Toggle settings", "Hide or show the settings pane (ctrl+t)", main.action_toggle_settings),
            ("Stop generation", "Stop the answer being generated (Esc)", main.action_stop),
            ("Next session", "Open the next session in the list (ctrl+down)", main.action_next_session),
            ("Previous session", "Open the previous session in the list (ctrl+up)", main.action_previous_session),
            ("Help", "Show every key binding (F1)", main.action_help),
            ("Search all sessions", "Full-text search across every session (ctrl+f)", main.action_search),
            ("Export session as Markdown", "Write this session to a .md file", lambda: main.export_session("md")),
            (
                "Export session as JSON",
                "Every field, every branch (re-importable)",
                lambda: main.export_session("json"),
            ),
            (
                "Export all sessions as JSON",
                "A backup of every session",
                lambda: main.export_session("json", everything=True),
            ),
            ("Import sessions", "From a llama-tui JSON export or a llama.cpp web UI export", main.import_sessions),
            ("Pin / unpin session", "Keep this session at the top (F4)", main.action_toggle_pin),
            ("Prefill the answer", "Start the next answer with your own text (F5)", main.action_prefill),
            ("Prompt preview", "The exact prompt, its tokens and count (F6)", main.action_prompt_preview),
            ("Server monitor", "Slots, metrics and model facts, live (F9)", main.action_server_monitor),
        ):
            yield SystemCommand(title, help_text, action)
        for name, profile in self.config.servers.items():
            yield SystemCommand(f"Use server: {name}", profile.url, partial(main.switch_server, name))

    async def on_unmount(self) -> None:
        await self.client.close()
