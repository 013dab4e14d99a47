"""The command palette's entries for the main screen.

Each entry names a screen action (or a dialog with no key); the key shown beside it is read from
screens/keys.py, so the palette can never advertise a key the screen does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding

from .client import redact_url
from .screens.keys import MAIN_KEYS
from .screens.main import MainScreen


@dataclass(frozen=True)
class PaletteEntry:
    title: str
    help: str
    action: str = ""  # a MainScreen action name (action_<name>), whose key is shown
    run: Callable[[MainScreen], Any] | None = None  # a dialog without a key


ENTRIES: tuple[PaletteEntry, ...] = (
    PaletteEntry("New session", "Start a new conversation", "new_session"),
    PaletteEntry("Rename session", "Rename the current session", "rename_session"),
    PaletteEntry("Duplicate session", "Copy the current session with all its messages", "duplicate_session"),
    PaletteEntry("Delete session", "Delete the current session, with undo", "delete_session"),
    PaletteEntry("Undo delete", "Bring back the last deleted session", "undo_delete"),
    PaletteEntry("Trash", "Deleted sessions (from any window): restore, or delete for good", "trash"),
    PaletteEntry("Switch session", "Fuzzy-find a session", "switcher"),
    PaletteEntry("Toggle sidebar", "Hide or show the sessions list", "toggle_sidebar"),
    PaletteEntry("Toggle settings", "Hide or show the settings pane", "toggle_settings"),
    PaletteEntry("Filter sessions", "Type in the sidebar's filter box", "focus_filter"),
    PaletteEntry("Wider sidebar", "Room for longer titles (remembered)", run=lambda s: s.panes.resize_sidebar(1)),
    PaletteEntry("Narrower sidebar", "More room for the chat (remembered)", run=lambda s: s.panes.resize_sidebar(-1)),
    PaletteEntry("Stop generation", "Stop the answer being generated", "stop"),
    PaletteEntry("Stop thinking now", "End the model's reasoning where it is and let it answer", "stop_thinking"),
    PaletteEntry("Next session", "Open the next session in the list", "next_session"),
    PaletteEntry("Previous session", "Open the previous session in the list", "previous_session"),
    PaletteEntry("Help", "Show every key binding", "help"),
    PaletteEntry("Search all sessions", "Full-text search across every session", "search"),
    PaletteEntry("Pin / unpin session", "Keep this session at the top", "toggle_pin"),
    PaletteEntry("Prefill the answer", "Start the next answer with your own text", "prefill"),
    PaletteEntry("Prompt preview", "The exact request: prompt, tokens, parameters", "prompt_preview"),
    PaletteEntry("Server monitor", "Slots, metrics and model facts, live", "server_monitor"),
    PaletteEntry("Pick a model", "Router mode: the model this session uses", "pick_model"),
    PaletteEntry("Compare side by side", "The next answer from 2-4 models, templates or settings", "compare"),
    PaletteEntry(
        "Export session as Markdown", "Write this session to a .md file", run=lambda s: s.dialogs.export("md")
    ),
    PaletteEntry(
        "Export session as JSON", "Every field, every branch (re-importable)", run=lambda s: s.dialogs.export("json")
    ),
    PaletteEntry(
        "Export all sessions as JSON",
        "A backup of every session",
        run=lambda s: s.dialogs.export("json", everything=True),
    ),
    PaletteEntry(
        "Import sessions",
        "From a llama-tui JSON export or a llama.cpp web UI export",
        run=lambda s: s.dialogs.import_sessions(),
    ),
)


def key_for(action: str) -> str:
    """The key bound to a MainScreen action, as shown to the user ('' if none)."""
    for binding in MAIN_KEYS:
        if isinstance(binding, Binding) and binding.action == action:
            return binding.key.split(",")[0]
    return ""


def palette_commands(screen: MainScreen, server_names: Iterable[tuple[str, str]]) -> Iterable[SystemCommand]:
    """The palette's commands for `screen`, then one per configured server (name, url)."""
    for entry in ENTRIES:
        if entry.run is not None:
            yield SystemCommand(entry.title, entry.help, partial(entry.run, screen))
            continue
        key = key_for(entry.action)
        help_text = f"{entry.help} ({key})" if key else entry.help
        yield SystemCommand(entry.title, help_text, partial(screen.run_action, entry.action))
    for name, url in server_names:
        # A password in a profile's URL is never shown (not even in the palette).
        yield SystemCommand(f"Use server: {name}", redact_url(url), partial(screen.server.switch_server, name))
