"""What every command shares: the server to talk to, the config's templates, finding a session."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store
    from ..templates import ChatTemplate


def resolve_server(args: argparse.Namespace) -> tuple[str, str | None, Config]:
    """Server URL, API key and loaded config from CLI > env > config file > defaults."""
    from ..config import load_config
    from ..paths import config_path

    config = load_config(config_path(args.config))
    url = args.server or config.server_url
    key = args.api_key or read_key_file(getattr(args, "api_key_file", None)) or config.api_key
    return url, key, config


def read_key_file(path: Path | None) -> str | None:
    """The API key in `path` (its first line, trimmed); ConfigError if it cannot be read or is
    empty. Keeps the key out of the command line, where `ps` shows it to every user."""
    from ..config import KeyFileError

    if path is None:
        return None
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"--api-key-file {path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not key:
        raise KeyFileError(f"--api-key-file {path}: the file is empty")
    return key


def custom_templates(config: Any, base_dir: Path | None = None) -> dict[str, ChatTemplate]:
    """The user templates of the config ([templates.NAME]); TemplateError names a bad one. A Jinja
    template's relative path is taken from `base_dir` (the config file's folder)."""
    from ..templates import custom_template

    tables = getattr(config, "templates", None) or {}
    return {name: custom_template(name, spec, base_dir) for name, spec in tables.items()}


def find_session(store: Store, ref: str) -> int | None:
    """A session by id, exact title, or title substring (the newest match)."""
    if ref.isdigit():
        try:
            return int(store.get_session(int(ref)).id or 0) or None
        except KeyError:
            pass
    for summary in store.list_sessions():
        if summary.title == ref:
            return int(summary.id)
    matches = store.list_sessions(ref)
    return int(matches[0].id) if matches else None
