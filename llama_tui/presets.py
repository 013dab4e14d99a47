"""Presets as TOML files: export a session's settings (grammar, schema, logit bias and adapter
scales included) as a `[presets.NAME]` table that can be imported again or pasted into the config,
and import such a file (or a plain table of knobs). Every value is checked as the config checks
it (config.check_knobs, the settings pane's rules); a grammar or schema is written as a multi-line
string so the file stays readable. No Textual.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .config import ConfigError, check_knobs

FILE_LIMIT = 1024 * 1024  # a preset file is a few KB; a bigger one is not a preset
_NAME = re.compile(r"[^\w.-]+")


def toml_value(value: Any) -> Any:
    """`value` as a tomlkit item: text of several lines as a multi-line string (literal when it
    can be: no escapes, so a grammar reads as written)."""
    import tomlkit

    if isinstance(value, str) and "\n" in value:
        literal = "'''" not in value and all(c in "\t\n" or c.isprintable() for c in value)
        # tomlkit starts it on a new line (TOML drops a newline right after the quotes).
        return tomlkit.string(value, literal=literal, multiline=True)
    return value


def preset_toml(name: str, values: dict[str, Any]) -> str:
    """A TOML document holding preset `name` (checked first: never a file that would not load)."""
    import tomlkit

    name = name.strip()
    if not name:
        raise ConfigError("a preset needs a name")
    checked = check_knobs(values, f"[presets.{name}]")
    doc = tomlkit.document()
    doc.add(tomlkit.comment("A llama-tui preset: import it in the settings pane, or paste it into config.toml."))
    presets = tomlkit.table(is_super_table=True)
    table = tomlkit.table()
    for key, value in checked.items():
        table[key] = toml_value(value)
    presets[name] = table
    doc["presets"] = presets
    return tomlkit.dumps(doc)


def read_presets(text: str, default_name: str, where: str = "") -> dict[str, dict[str, Any]]:
    """The presets of a TOML text: its [presets.NAME] tables, or (a file of knobs alone) one
    preset named `default_name`. Each is checked; ConfigError names the file and the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}invalid TOML: {e}") from None
    tables = raw.get("presets")
    if tables is None:
        return {default_name: check_knobs(raw, f"{where}[{default_name}]")} if raw else {}
    if not isinstance(tables, dict) or set(raw) - {"presets"}:
        raise ConfigError(f"{where}a preset file holds [presets.NAME] tables only")
    return {n: check_knobs(t, f"{where}[presets.{n}]") for n, t in tables.items()}


def read_preset_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        if path.stat().st_size > FILE_LIMIT:
            raise ConfigError(f"{path}: too big for a preset file (over 1 MB)")
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from None
    return read_presets(text, preset_name(path.stem), f"{path}: ")


def write_preset_file(path: Path, name: str, values: dict[str, Any]) -> Path:
    """Write preset `name` to `path` (atomically, as session exports are written)."""
    from .transfer.files import write_export

    text = preset_toml(name, values)
    try:
        return write_export(path, text)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write: {e.strerror or e}") from None


def preset_name(text: str) -> str:
    """A preset name from a file name or title: letters, digits, '.', '-' and '_'."""
    return _NAME.sub("-", text).strip("-")[:40] or "imported"
