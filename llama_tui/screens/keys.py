"""The main screen's key bindings: one list, read by the screen, the command palette and help."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_KEYS: list[BindingType] = [
    Binding("ctrl+n", "new_session", "New"),
    Binding("escape", "stop", "Stop", show=False),
    Binding("ctrl+g", "stop_thinking", "Answer now", show=False, priority=True),
    Binding("ctrl+k", "switcher", "Switch", priority=True),
    Binding("ctrl+b", "toggle_sidebar", "Sidebar"),
    Binding("ctrl+t", "toggle_settings", "Settings"),
    Binding("ctrl+up", "previous_session", "Previous session", show=False, priority=True),
    Binding("ctrl+down", "next_session", "Next session", show=False, priority=True),
    Binding("f1", "help", "Help"),
    Binding("f2", "rename_session", "Rename", show=False),
    Binding("f3", "duplicate_session", "Duplicate", show=False),
    Binding("f8", "delete_session", "Delete", show=False),
    # alt+letter arrives as ESC + letter, which the composer would type: these need priority.
    Binding("alt+u", "undo_delete", "Undo delete", show=False, priority=True),
    Binding("alt+t", "trash", "Trash", show=False, priority=True),
    Binding("f4", "toggle_pin", "Pin", show=False, priority=True),
    Binding("f5", "prefill", "Prefill answer", show=False, priority=True),
    Binding("f6", "prompt_preview", "Prompt", priority=True),
    Binding("alt+up", "focus_messages", "Messages", show=False, priority=True),
    Binding("ctrl+f", "search", "Search", priority=True),
    Binding("f9", "server_monitor", "Monitor", priority=True),
    Binding("f7", "pick_model", "Model", show=False, priority=True),
    *(Binding(f"alt+{n}", f"nth_session({n - 1})", f"Session {n}", show=False, priority=True) for n in range(1, 10)),
]
