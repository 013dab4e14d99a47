"""The Textual App: holds the injected config, client and store; the main screen does the rest."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from .client import LlamaCppClient
from .config import Config
from .domain import SessionSummary
from .screens.main import MainScreen
from .screens.session_switcher import SessionCommands
from .store import Store


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
    ) -> None:
        super().__init__()
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

    def on_mount(self) -> None:
        self.push_screen(MainScreen())

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
        ):
            yield SystemCommand(title, help_text, action)

    async def on_unmount(self) -> None:
        await self.client.close()
