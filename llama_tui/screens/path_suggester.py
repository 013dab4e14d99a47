"""Path completion for an Input: suggests the rest of a file or folder name (right arrow or End
accepts it), folders first-class (ending in "/"), files filtered by extension."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from textual.suggester import Suggester


def complete_path(value: str, extensions: Sequence[str] = (".gguf",), limit: int = 2000) -> str | None:
    """`value` completed to the first matching entry (folders and files with one of
    `extensions`, sorted by name), keeping what was typed (a leading ~ stays). None: no match."""
    if not value:
        return None
    typed_dir, _, prefix = value.rpartition(os.sep)
    folder = Path(os.path.expanduser(typed_dir + os.sep if typed_dir or value.startswith(os.sep) else "."))
    try:
        with os.scandir(folder) as entries:
            names: list[str] = []
            for i, entry in enumerate(entries):
                if i >= limit:  # a huge folder must not stall the input
                    break
                if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    names.append(entry.name + os.sep)
                elif entry.name.lower().endswith(tuple(extensions)):
                    names.append(entry.name)
    except OSError:
        return None
    if not names:
        return None
    best = sorted(names)[0]
    head = value[: len(value) - len(prefix)]
    completed = head + best
    return completed if completed != value else None


class PathSuggester(Suggester):
    def __init__(self, extensions: Sequence[str] = (".gguf",)) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes: no cache
        self.extensions = tuple(extensions)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value, self.extensions)
