"""Writing the config file: the whole config (save_config), or one part edited in place with
tomlkit so the user's comments and layout survive (presets, and the theme and sidebar width chosen
in the app). Never writes a file that would not load back; a file holding a key stays 0600."""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import stat
import tomllib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import tomli_w

from .config import SAVED_FIELDS, Config, ConfigError, check_knobs, config_from_dict, read_config_file
from .paths import ensure_dir


def _to_dict(config: Config, api_key: str | None) -> dict[str, Any]:
    """What gets written: only values that differ from the defaults, so that changing a default
    in a later version reaches users who never set it."""
    defaults = Config()
    data: dict[str, Any] = {}
    for name in SAVED_FIELDS:
        value = api_key if name == "api_key" else getattr(config, name)
        if value is not None and value != getattr(defaults, name):
            data[name] = copy.deepcopy(value)
    if config.servers:
        data["servers"] = {n: {k: v for k, v in asdict(p).items() if v is not None} for n, p in config.servers.items()}
    launch = {
        k: v
        for k, v in asdict(config.server_launch).items()
        if v is not None and v != getattr(defaults.server_launch, k)
    }
    if launch:
        data["server"] = {"launch": launch}
    return data


def save_config(config: Config, path: Path) -> None:
    """Write `config` to `path` atomically. Refuses (ConfigError) if the current file does not
    load. A file holding an api_key is created 0600."""
    path = Path(path)
    # Write through a symlink (dotfile managers) instead of replacing the link with a file.
    target = path.resolve() if path.is_symlink() else path
    try:
        existing = read_config_file(target)
    except ConfigError as e:
        raise ConfigError(f"{e}\nNot saving over it: fix the file first.") from None
    # A key from $LLAMA_API_KEY stays out of the file: keep whatever key the file had.
    api_key = (existing.api_key if existing else None) if config.api_key_from_env else config.api_key
    data = _to_dict(config, api_key)
    try:
        config_from_dict(copy.deepcopy(data))  # never write a file that would not load back
    except ConfigError as e:
        raise ConfigError(f"{path}: not saved: {e}") from None
    text = tomli_w.dumps(data)
    if api_key or any(p.api_key for p in config.servers.values()):
        mode = 0o600
    elif target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        mode = 0o666  # the umask decides, as for any new file
    try:
        ensure_dir(target.parent)
        _write_atomic(target, text, mode)
    except OSError as e:
        raise ConfigError(f"{path}: cannot save: {e.strerror or e}") from None


def _write_atomic(target: Path, text: str, mode: int) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # Created with its final mode: the key is never readable by others, even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename durable; not possible on every platform
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_preset(path: Path, name: str, values: dict[str, Any]) -> None:
    """Add or replace preset `name` in the config file (created if missing), editing the file in
    place with tomlkit: the user's comments, order and layout survive; only [presets.NAME] is
    (re)written. Refuses (ConfigError) a file that does not load, and never writes one that would
    not load back. The file keeps its mode (0600 if it holds a key)."""
    import tomlkit

    from .presets import toml_value

    name = name.strip()
    if not name:
        raise ConfigError("a preset needs a name")
    checked = check_knobs(values, f"[presets.{name}]")

    def edit(doc: Any) -> None:
        presets = doc.get("presets")
        if presets is None:
            presets = tomlkit.table(is_super_table=True)
            doc["presets"] = presets
        current = presets.get(name)
        if isinstance(current, tomlkit.items.Table | tomlkit.items.InlineTable):
            # Update the table in place: its header comment and the comments around it stay.
            for key in [k for k in current if k not in checked]:
                del current[key]
            for key, value in checked.items():
                current[key] = value if isinstance(current, tomlkit.items.InlineTable) else toml_value(value)
        else:
            if isinstance(presets, tomlkit.items.InlineTable):
                table: Any = tomlkit.inline_table()
                table.update(checked)
            else:
                table = tomlkit.table()
                table.update({key: toml_value(value) for key, value in checked.items()})
                table.add(tomlkit.nl())  # a blank line before whatever follows, as people write it
            presets[name] = table

    _edit_file(Path(path), edit)


def save_settings(path: Path, **values: Any) -> None:
    """Set top-level keys chosen in the app (theme, sidebar_width) in the config file, edited in
    place as save_preset does."""
    if other := set(values) - {"theme", "sidebar_width"}:
        raise ConfigError(f"{', '.join(sorted(other))} is not saved from the app")
    _edit_file(Path(path), lambda doc: doc.update(values))


def _edit_file(path: Path, edit: Callable[[Any], None]) -> None:
    """Apply `edit` to the config file's tomlkit document (an empty one if there is no file) and
    write it back atomically, if the result loads. A file that does not load is left alone."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    target = path.resolve() if path.is_symlink() else path
    try:
        existing = read_config_file(target)
    except ConfigError as e:
        raise ConfigError(f"{e}\nNot saving over it: fix the file first.") from None
    text = target.read_text(encoding="utf-8") if existing is not None else ""
    try:
        doc = tomlkit.parse(text)
        edit(doc)
        new_text = tomlkit.dumps(doc)
    except (TOMLKitError, ValueError, TypeError) as e:
        raise ConfigError(f"{path}: not saved: cannot edit the file: {e}") from None
    try:
        config_from_dict(tomllib.loads(new_text))  # never write a file that would not load back
    except (ConfigError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not saved: {e}") from None
    if existing is not None and (existing.api_key or any(p.api_key for p in existing.servers.values())):
        mode = 0o600  # a file holding a key is private
    else:
        mode = stat.S_IMODE(target.stat().st_mode) if existing is not None else 0o666
    try:
        ensure_dir(target.parent)
        _write_atomic(target, new_text, mode)
    except OSError as e:
        raise ConfigError(f"{path}: cannot save: {e.strerror or e}") from None
