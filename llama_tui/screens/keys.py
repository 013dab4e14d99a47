"""The key bindings of the main screen (one list, read by the screen, the command palette and
help) and of the compare screen.

Descriptions are short, for the footer; a tooltip is the readable name the help lists.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

MAIN_KEYS: list[BindingType] = [
    Binding("ctrl+n", "new_session", "New", tooltip="New session"),
    Binding("escape", "stop", "Stop", show=False, tooltip="Stop the answer; else leave an edit (to the composer)"),
    Binding("ctrl+g", "stop_thinking", "Answer now", show=False, priority=True, tooltip="Stop thinking: answer now"),
    Binding("ctrl+k", "switcher", "Switch", priority=True, tooltip="Session switcher (fuzzy)"),
    Binding("ctrl+b", "toggle_sidebar", "Sidebar", tooltip="Hide or show the sidebar"),
    Binding("ctrl+l", "focus_filter", "Filter sessions", show=False, priority=True),
    Binding("alt+left", "resize_sidebar(-1)", "Narrower sidebar", show=False),
    Binding("alt+right", "resize_sidebar(1)", "Wider sidebar", show=False),
    Binding("ctrl+t", "toggle_settings", "Settings", tooltip="Hide or show the settings pane"),
    Binding("ctrl+up", "previous_session", "Previous session", show=False, priority=True),
    Binding("ctrl+down", "next_session", "Next session", show=False, priority=True),
    Binding("f1", "help", "Help", tooltip="Help: every key"),
    Binding("f2", "rename_session", "Rename", show=False, tooltip="Rename the session"),
    Binding("f3", "duplicate_session", "Duplicate", show=False, tooltip="Duplicate the session"),
    Binding("f8", "delete_session", "Delete", show=False, tooltip="Delete the session (alt+u undoes)"),
    # alt+letter arrives as ESC + letter, which the composer would type: these need priority.
    Binding("alt+u", "undo_delete", "Undo delete", show=False, priority=True),
    Binding("alt+x", "trash", "Trash", show=False, priority=True, tooltip="Trash: restore or purge deleted sessions"),
    Binding("f4", "toggle_pin", "Pin", show=False, priority=True, tooltip="Pin or unpin the session"),
    Binding("f5", "prefill", "Prefill answer", show=False, priority=True),
    Binding("f6", "prompt_preview", "Prompt", priority=True, tooltip="Prompt preview: the exact request"),
    Binding("alt+up", "focus_messages", "Messages", show=False, priority=True, tooltip="Go to the messages"),
    Binding("ctrl+f", "search", "Search", priority=True, tooltip="Search every session"),
    Binding("f9", "server_monitor", "Monitor", priority=True, tooltip="Server monitor"),
    Binding("f7", "pick_model", "Model", show=False, priority=True, tooltip="Model picker (router mode)"),
    Binding("ctrl+o", "compare", "Compare", show=False, priority=True, tooltip="Compare side by side"),
    Binding(
        "alt+t",
        "use_suggested_template",
        "Use suggested template",
        show=False,
        priority=True,
        tooltip="Use the template family suggested for a model without one",
    ),
    *(Binding(f"alt+{n}", f"nth_session({n - 1})", f"Session {n}", show=False, priority=True) for n in range(1, 10)),
]

# The compare screen. Digits focus a column (typed as text while an input has focus); the column
# itself binds left/right, Enter (pick) and x (stop it): widgets/compare_column.py.
COMPARE_KEYS: list[BindingType] = [
    Binding("escape", "stop_or_close", "Stop / close"),
    Binding("f2", "fill('temperature')", "Temperatures"),
    Binding("f3", "fill('model')", "Models"),
    Binding("f4", "fill('template')", "Templates"),
    *(Binding(str(n), f"focus_column({n - 1})", f"Column {n}", show=False) for n in range(1, 5)),
]
