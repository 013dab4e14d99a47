"""Where llama-tui keeps its files. Pure functions: nothing is created at import or lookup time;
call ensure_dir when a folder is actually needed."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "llama-tui"
DATA_DIR_ENV = "LLAMA_TUI_DATA_DIR"
CONFIG_ENV = "LLAMA_TUI_CONFIG"
CACHE_DIR_ENV = "LLAMA_TUI_CACHE_DIR"
STORE_NAME = "sessions.sqlite3"


def data_dir(override: Path | None = None) -> Path:
    """Sessions live here: `override` (--data-dir) > $LLAMA_TUI_DATA_DIR > the platform's user data dir."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    # appauthor=False: no extra "llama-tui\llama-tui" level on Windows.
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_path(override: Path | None = None) -> Path:
    """The config file: `override` (--config) > $LLAMA_TUI_CONFIG > <user config dir>/config.toml."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def cache_dir() -> Path:
    """Disposable files (safe to delete at any time): $LLAMA_TUI_CACHE_DIR > the user cache dir."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def slot_cache_dir() -> Path:
    """Saved session KV caches: the managed server's --slot-save-path files and the records of
    every server's (chat/slot_cache_files.py)."""
    return cache_dir() / "slot-cache"


def store_path(data_dir: Path) -> Path:
    """The session database inside a data dir."""
    return Path(data_dir) / STORE_NAME


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; a new folder is private (0700): chats are personal."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
