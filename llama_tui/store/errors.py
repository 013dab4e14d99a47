"""The store's errors: each message is fit to show the user."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """The session store could not do what was asked; the message is fit to show the user."""


class StoreWriteError(StoreError):
    """A write failed (disk full, read-only file, busy, I/O error). Nothing was half-written: the
    transaction was rolled back. The caller keeps the data in memory and may retry later."""


class StoreNotFound(StoreError, KeyError):
    """No such session or message. Also a KeyError, so ``except KeyError`` works as documented."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class StoreTooNew(StoreError):
    """The file was written by a newer llama-tui with a schema this version does not know."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} was written by a newer llama-tui (store version {found}; this version knows up to "
            f"{supported}). It was left untouched: upgrade llama-tui, or use --data-dir for a separate store"
        )


class StoreCorrupt(StoreError):
    """The file is damaged, and the caller asked for it to be left as it is (recover=False)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(
            f"the session store {path} is damaged ({detail}); it was left as it is. Start llama-tui to move it "
            "aside and begin a new one, or put back a backup"
        )


class Corrupt(Exception):
    """Internal: the file is not a usable SQLite database."""
