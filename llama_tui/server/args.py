"""The llama-server flags llama-tui sets itself, refuses from the user, or reads back (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..paths import slot_cache_dir
from .errors import ManagedServerError

# Flags llama-tui sets itself: a user copy would make the URL (or the model) wrong.
RESERVED_FLAGS = ("-m", "--model", "--host", "--port")


def check_user_args(args: Sequence[str]) -> tuple[str, ...]:
    """`args` as a tuple; ManagedServerError if one of them is a flag llama-tui sets."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in RESERVED_FLAGS:
            raise ManagedServerError(
                f"server argument {flag} is set by llama-tui (it picks the model, a loopback host and a free "
                "port); remove it from the server arguments"
            )
    return tuple(args)


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """The value given to `flag` in `args` ("--flag VALUE" or "--flag=VALUE"); the last one wins."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def default_slot_save_dir() -> Path:
    """Where the managed server saves session KV caches unless the user chose a --slot-save-path."""
    return slot_cache_dir() / "files"
