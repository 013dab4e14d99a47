"""commands.py: the palette names only actions the main screen has, with the keys it binds."""

from __future__ import annotations

from llama_tui.commands import ENTRIES, key_for
from llama_tui.screens.main import MainScreen


def test_every_palette_action_exists_and_shows_its_bound_key() -> None:
    for entry in ENTRIES:
        if entry.run is None:
            assert callable(getattr(MainScreen, f"action_{entry.action}", None)), entry.action
    assert key_for("new_session") == "ctrl+n"
    assert key_for("search") == "ctrl+f"
    assert key_for("no_such_action") == ""
