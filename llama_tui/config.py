"""The user's config file (TOML): read with tomllib, written with tomli_w.

Loading never changes the file. Every problem is a ConfigError whose message names the file and
the key (or the line, for a TOML syntax error), so the user can fix it; every number has a range,
and default_template must name a template that exists. Saving is atomic, keeps a file with an API
key private (0600), and refuses to replace a file that does not load: a config the user is in the
middle of fixing is never clobbered. save_preset edits the user's file in place (tomlkit), so its
comments and layout survive; save_config rewrites the file from the values (tomli_w, comments lost).
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .knobs import KNOBS_BY_NAME, SettingError, check_value, parse_knob

API_KEY_ENV = "LLAMA_API_KEY"


class ConfigError(ValueError):
    """The config file cannot be used (or saved); the message names the file and what is wrong."""


class KeyFileError(ConfigError):
    """--api-key-file cannot be read or is empty (the config file itself is fine)."""


@dataclass
class LaunchConfig:
    """[server.launch]: llama-tui starts (and stops) its own llama-server when `model` is set."""

    model: str | None = None
    """GGUF file to serve. Unset: connect to server_url instead (--model overrides)."""

    llama_server_bin: str | None = None
    """The llama-server binary (path or name on PATH). Unset: `llama-server` on PATH."""

    args: list[str] = field(default_factory=list)
    """Extra llama-server flags, e.g. ["-c", "8192", "-ngl", "99", "--metrics"] (not -m/--host/--port)."""

    startup_timeout: float = 600.0
    """Seconds to wait for the model to load."""

    stop_grace: float = 5.0
    """Seconds between SIGTERM and SIGKILL when llama-tui quits."""

    log_file: str | None = None
    """Server output. Unset: <user cache dir>/llama-server.log."""


@dataclass
class ServerProfile:
    """[servers.NAME]: a llama-server to switch to from the command palette."""

    url: str
    """Base URL, e.g. "http://gpu-box:8080"."""

    api_key: str | None = field(default=None, repr=False)
    """The key itself (a file holding one is written 0600), or use api_key_env."""

    api_key_env: str | None = None
    """Name of an environment variable holding the key (keeps the key out of the file)."""

    default_template: str | None = None
    """Prompt template for new sessions on this server."""

    def resolved_key(self) -> str | None:
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or self.api_key
        return self.api_key


@dataclass
class Config:
    """Everything the config file can set. Defaults apply to anything the file leaves out."""

    server_url: str = "http://127.0.0.1:8080"
    """Base URL of llama-server (http:// or https://)."""

    api_key: str | None = field(default=None, repr=False)
    """Sent as a Bearer token. $LLAMA_API_KEY overrides it at load; not shown in repr."""

    theme: str = "textual-dark"
    """Textual theme name (the one chosen in the app is saved here)."""

    sidebar_width: int = 32
    """Width of the sessions sidebar in columns (alt+left / alt+right in the app; saved here)."""

    default_template: str = "server"
    """Prompt template for new sessions: a built-in name or a name from [templates]."""

    default_settings: dict[str, Any] = field(default_factory=dict)
    """Sampling knob name -> value for new sessions (names and ranges as in knobs.KNOBS)."""

    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Named sets of sampling knob values, e.g. [presets.precise] temperature = 0.2."""

    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """User prompt templates as raw TOML tables (validated by llama_tui.templates)."""

    connect_timeout: float = 10.0
    """Seconds to wait for the server to accept a connection."""

    read_timeout: float = 300.0
    """Longest silence (seconds) tolerated in a stream before giving up."""

    health_interval: float = 2.0
    """Seconds between health checks of the server."""

    trash_days: float = 30.0
    """Deleted sessions stay in the trash this many days (then they are purged at start-up); 0 keeps them."""
    slot_cache_max_mb: int = 4096
    """Disk space (MiB) for saved session KV caches (llama-server --slot-save-path files); the least
    recently used go first. 0 turns saving and restoring off."""

    servers: dict[str, ServerProfile] = field(default_factory=dict)
    """Named servers ([servers.NAME] tables with url, api_key or api_key_env, default_template)."""

    server_launch: LaunchConfig = field(default_factory=LaunchConfig)
    """The [server.launch] table (see LaunchConfig): a llama-server llama-tui runs itself."""

    server_url_set: bool = field(default=False, repr=False, compare=False)
    """True when the file sets server_url; otherwise llama-tui looks for a server (chat/discovery.py)."""

    api_key_from_env: bool = field(default=False, repr=False, compare=False)
    """True when api_key came from $LLAMA_API_KEY; saving then keeps the file's own key and never
    writes the environment's one into the file."""


SAVED_FIELDS = tuple(
    f.name for f in fields(Config) if f.name not in ("api_key_from_env", "server_url_set", "server_launch")
)
_TOML_KEYS = (*SAVED_FIELDS, "server")  # [server.launch] is stored as server_launch
_STRINGS = ("server_url", "api_key", "theme", "default_template")
# Every number of the file has a range: too small a health_interval floods the server (1e-6 s
# made 8,000 requests in 10 s), too large a timeout is a hang. (minimum, maximum, unit)
_NUMBERS: dict[str, tuple[float, float, str]] = {
    "connect_timeout": (0.1, 3600.0, "seconds"),
    "read_timeout": (1.0, 86400.0, "seconds"),
    "health_interval": (0.1, 3600.0, "seconds"),
    "trash_days": (0.0, 36500.0, "days"),
}
_LAUNCH_NUMBERS: dict[str, tuple[float, float, str]] = {
    "startup_timeout": (1.0, 86400.0, "seconds"),
    "stop_grace": (0.1, 600.0, "seconds"),
}
SIDEBAR_MIN, SIDEBAR_MAX = 16, 80
_TOML_TYPES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
    dict: "a table",
    list: "an array",
}


def _kind(value: Any) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)


def _did_you_mean(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_knobs(values: Any, where: str) -> dict[str, Any]:
    """Validate a table of sampling knobs; returns them normalised (ints as floats where the knob
    is a float, a schema table as JSON text, -inf biases as false). Messages match the settings
    pane's, prefixed with `where`, e.g. "[presets.fast]"."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a table of settings, not {_kind(values)}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        knob = KNOBS_BY_NAME.get(name)
        if knob is None:
            raise ConfigError(f"{where} unknown setting {name!r}{_did_you_mean(name, KNOBS_BY_NAME)}")
        if value is None:  # "server default": nothing to store
            continue
        try:
            if knob.kind not in ("int", "float"):
                checked[name] = check_value(name, value)  # as the settings pane checks them
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                kind = "a whole number" if knob.kind == "int" else "a number"
                raise ConfigError(f"{where} {name} must be {kind}, not {_kind(value)}")
            # The same parser (and messages) as the settings pane.
            checked[name] = parse_knob(name, repr(value) if isinstance(value, float) else str(value))
        except SettingError as e:
            raise ConfigError(f"{where} {e}") from None
    return checked


def _tables(value: Any, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table, not {_kind(value)}")
    for name, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(f"[{key}.{name}] must be a table, not {_kind(table)}")
    return value


def config_from_dict(raw: dict[str, Any]) -> Config:
    """Validate parsed TOML; messages name the key but not the file (the caller adds it)."""
    config = Config()
    for key, value in raw.items():
        if key not in _TOML_KEYS:
            raise ConfigError(f"unknown key {key!r}{_did_you_mean(key, _TOML_KEYS)}")
        if key in _STRINGS:
            if not isinstance(value, str):
                raise ConfigError(f"{key} must be a string, not {_kind(value)}")
            if key == "server_url" and not value.startswith(("http://", "https://")):
                raise ConfigError(f"server_url must start with http:// or https://, not {value!r}")
            if key == "api_key" and not value:
                value = None  # api_key = "" means no key
            if key == "server_url":
                config.server_url_set = True
            setattr(config, key, value)
        elif key == "sidebar_width":
            if isinstance(value, bool) or not isinstance(value, int) or not SIDEBAR_MIN <= value <= SIDEBAR_MAX:
                raise ConfigError(f"sidebar_width must be a whole number from {SIDEBAR_MIN} to {SIDEBAR_MAX}")
            config.sidebar_width = value
        elif key in _NUMBERS:
            setattr(config, key, _number(key, value, _NUMBERS[key], key))
        elif key == "slot_cache_max_mb":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 16 * 1024 * 1024:
                raise ConfigError(f"{key} must be a whole number of MiB from 0 (off) to 16777216")
            config.slot_cache_max_mb = value
        elif key == "default_settings":
            config.default_settings = check_knobs(value, "[default_settings]")
        elif key == "presets":
            config.presets = {n: check_knobs(t, f"[presets.{n}]") for n, t in _tables(value, key).items()}
        elif key == "templates":
            config.templates = copy.deepcopy(_tables(value, key))
        elif key == "servers":
            config.servers = {n: _server_profile(n, t) for n, t in _tables(value, key).items()}
        elif key == "server":
            config.server_launch = _launch(value)
    _check_templates(config)
    return config


def _optional_strings(table: dict[str, Any], where: str, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        if name in table:
            if not isinstance(table[name], str) or not table[name]:
                raise ConfigError(f"{where} {name} must be a non-empty string")
            out[name] = table[name]
    return out


def _server_profile(name: str, table: dict[str, Any]) -> ServerProfile:
    where = f"[servers.{name}]"
    known = ("url", "api_key", "api_key_env", "default_template")
    for key in table:
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r}{_did_you_mean(key, known)}")
    values = _optional_strings(table, where, known)
    if "url" not in values or not values["url"].startswith(("http://", "https://")):
        raise ConfigError(f'{where} needs url = "http://host:port"')
    return ServerProfile(**values)


def _launch(value: Any) -> LaunchConfig:
    if not isinstance(value, dict) or set(value) - {"launch"}:
        raise ConfigError("[server] may only hold the [server.launch] table")
    table = value.get("launch", {})
    if not isinstance(table, dict):
        raise ConfigError("[server.launch] must be a table")
    known = tuple(f.name for f in fields(LaunchConfig))
    for key in table:
        if key not in known:
            raise ConfigError(f"[server.launch] unknown key {key!r}{_did_you_mean(key, known)}")
    strings = _optional_strings(table, "[server.launch]", ("model", "llama_server_bin", "log_file"))
    launch = LaunchConfig(
        model=strings.get("model"), llama_server_bin=strings.get("llama_server_bin"), log_file=strings.get("log_file")
    )
    if "args" in table:
        if not isinstance(table["args"], list) or not all(isinstance(a, str) for a in table["args"]):
            raise ConfigError('[server.launch] args must be an array of strings, e.g. ["-c", "8192"]')
        launch.args = list(table["args"])
    for key, limits in _LAUNCH_NUMBERS.items():
        if key in table:
            setattr(launch, key, _number(key, table[key], limits, f"[server.launch] {key}"))
    return launch


def _number(key: str, value: Any, limits: tuple[float, float, str], name: str) -> float:
    low, high, unit = limits
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number of {unit}, not {_kind(value)}")
    if not math.isfinite(value) or (value <= 0 < low):
        raise ConfigError(f"{name} must be more than 0 {unit}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g} {unit}, not {value:g}")
    return float(value)


def _check_templates(config: Config) -> None:
    """default_template (and each server's) must name a built-in template, "server", or one of
    the file's [templates]: a name that is neither would fail every send later."""
    from .templates import template_names

    known = [*template_names(), *config.templates]
    wanted: list[tuple[str, str | None]] = [("default_template", config.default_template)]
    wanted += [(f"[servers.{n}] default_template", p.default_template) for n, p in config.servers.items()]
    for where, name in wanted:
        if name is not None and name not in known:
            raise ConfigError(
                f"{where}: no template {name!r}{_did_you_mean(name, known)}; choose from {', '.join(known)}"
            )


def read_config_file(path: Path) -> Config | None:
    """The file's own config (no environment overrides), or None if there is no file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        # The message carries "(at line N, column M)" on every Python version.
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    try:
        return config_from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def load_config(path: Path) -> Config:
    """The config at `path` (defaults if there is no file), with $LLAMA_API_KEY applied."""
    config = read_config_file(Path(path)) or Config()
    env_key = os.environ.get(API_KEY_ENV)
    if env_key:
        config.api_key = env_key
        config.api_key_from_env = True
    return config
