"""The TOML config file: loading, validation messages, atomic private saving."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

import pytest

from llama_tui.config import Config, ConfigError, ServerProfile, load_config
from llama_tui.config_files import save_config, save_preset


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "config.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_file_gives_defaults(path: Path) -> None:
    config = load_config(path)
    assert config == Config()
    assert (config.server_url, config.theme, config.default_template) == (
        "http://127.0.0.1:8080",
        "textual-dark",
        "server",
    )
    assert (config.connect_timeout, config.read_timeout, config.health_interval) == (10.0, 300.0, 2.0)
    assert not path.exists() and not path.parent.exists()


def test_every_field_has_a_docstring() -> None:
    import ast
    import inspect

    from llama_tui import config as config_mod

    body = ast.parse(inspect.getsource(config_mod.Config)).body[0].body  # type: ignore[attr-defined]
    for node, after in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign):
            assert isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant), ast.unparse(node)


def test_full_file_loads(path: Path) -> None:
    write(
        path,
        """
server_url = "https://llm.example:8443"
api_key = "secret"
theme = "nord"
default_template = "chatml"
connect_timeout = 3
read_timeout = 60.5
health_interval = 1

[default_settings]
temperature = 1
top_k = 40
stop = ["</s>"]

[presets.precise]
temperature = 0.2
seed = 42

[templates.mine]
user = "<u>{content}</u>"
""",
    )
    config = load_config(path)
    assert config.server_url == "https://llm.example:8443"
    assert config.api_key == "secret" and not config.api_key_from_env
    assert (config.theme, config.default_template) == ("nord", "chatml")
    assert (config.connect_timeout, config.read_timeout, config.health_interval) == (3.0, 60.5, 1.0)
    assert config.default_settings == {"temperature": 1.0, "top_k": 40, "stop": ["</s>"]}
    assert isinstance(config.default_settings["temperature"], float)
    assert config.presets == {"precise": {"temperature": 0.2, "seed": 42}}
    assert config.templates == {"mine": {"user": "<u>{content}</u>"}}
    assert "secret" not in repr(config)


def test_round_trip(path: Path) -> None:
    config = Config(
        server_url="http://10.0.0.2:9000",
        theme="gruvbox",
        default_settings={"temperature": 0.8, "samplers": ["top_k", "min_p"]},
        presets={"fast": {"n_predict": 128}, "with space": {"min_p": 0.05}},
        templates={"t": {"user": "U: {content}", "nested": {"a": 1}}},
        read_timeout=30.0,
    )
    save_config(config, path)
    assert load_config(path) == config
    assert "theme" in tomllib.loads(path.read_text()) and "health_interval" not in path.read_text()  # defaults left out
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp file left


def test_file_with_api_key_is_private(path: Path) -> None:
    save_config(Config(api_key="sk-123"), path)
    assert mode(path) == 0o600
    assert load_config(path).api_key == "sk-123"


def test_file_without_key_follows_umask(path: Path) -> None:
    old = os.umask(0o022)
    try:
        save_config(Config(theme="nord"), path)
    finally:
        os.umask(old)
    assert mode(path) == 0o644


def test_key_file_is_never_briefly_public(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp file is created 0600 (not chmod-ed afterwards)."""
    seen: list[int] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(mode(Path(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: pytest.fail("chmod used"))
    save_config(Config(api_key="k"), path)
    assert seen == [0o600]


def test_env_api_key_overrides_and_is_never_saved(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(path, 'api_key = "from-file"\n')
    monkeypatch.setenv("LLAMA_API_KEY", "from-env")
    config = load_config(path)
    assert config.api_key == "from-env" and config.api_key_from_env
    config.theme = "nord"
    save_config(config, path)
    text = path.read_text()
    assert "from-env" not in text and 'api_key = "from-file"' in text
    save_preset(path, "p", {"temperature": 0.5})
    assert "from-env" not in path.read_text()
    monkeypatch.delenv("LLAMA_API_KEY")
    assert load_config(path).api_key == "from-file"


def test_env_key_with_no_file_key_writes_no_key(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_API_KEY", "from-env")
    save_config(load_config(path), path)
    assert "api_key" not in path.read_text()


def test_bad_toml_names_file_and_line(path: Path) -> None:
    write(path, 'theme = "nord"\n\nserver_url = http://oops\n')
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and "line 3" in message
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("theme = 3", "theme must be a string, not an integer"),
        ("read_timeout = 'long'", "read_timeout must be a number of seconds, not a string"),
        ("read_timeout = true", "read_timeout must be a number of seconds, not true/false"),
        ("connect_timeout = 0", "connect_timeout must be more than 0 seconds"),
        ("health_interval = nan", "health_interval must be more than 0 seconds"),
        ("server_url = 'localhost:8080'", "server_url must start with http:// or https://"),
        ("sever_url = 'http://x'", "unknown key 'sever_url' (did you mean 'server_url'?)"),
        ("default_settings = 3", "[default_settings] must be a table of settings, not an integer"),
        ("[default_settings]\ntemprature = 1", "[default_settings] unknown setting 'temprature' (did you mean"),
        ("[presets.fast]\ntemperature = 11", "[presets.fast] temperature must be at most 10"),
        ("[presets.fast]\ntop_k = 2.5", "[presets.fast] top_k must be a whole number, not '2.5'"),
        ("[presets.fast]\ntop_k = '40'", "[presets.fast] top_k must be a whole number, not a string"),
        ("[presets.fast]\nseed = true", "[presets.fast] seed must be a whole number, not true/false"),
        ("[presets.fast]\nmin_p = -0.5", "[presets.fast] min_p must be at least 0"),
        ("[presets.fast]\ntemperature = inf", "[presets.fast] temperature must be a finite number"),
        ("[presets.fast]\nstop = 'x'", "[presets.fast] stop must be an array of strings"),
        ("presets = {fast = 1}", "[presets.fast] must be a table, not an integer"),
        ("templates = [1]", "templates must be a table, not an array"),
        ("slot_cache_max_mb = -1", "slot_cache_max_mb must be a whole number of MiB from 0 (off)"),
        ("slot_cache_max_mb = 1.5", "slot_cache_max_mb must be a whole number of MiB"),
        ("slot_cache_max_mb = true", "slot_cache_max_mb must be a whole number of MiB"),
    ],
)
def test_invalid_values_name_file_and_key(path: Path, text: str, expected: str) -> None:
    write(path, text + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_slot_cache_size_is_read_and_saved(path: Path) -> None:
    assert Config().slot_cache_max_mb == 4096
    write(path, "slot_cache_max_mb = 0\n")
    config = load_config(path)
    assert config.slot_cache_max_mb == 0
    config.slot_cache_max_mb = 512
    save_config(config, path)
    assert load_config(path).slot_cache_max_mb == 512


def test_not_utf8(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_empty_api_key_means_none(path: Path) -> None:
    write(path, 'api_key = ""\n')
    assert load_config(path).api_key is None


@pytest.mark.parametrize("broken", ["theme = \n", "nonsense = 1\n"])
def test_broken_file_is_never_overwritten(path: Path, broken: str) -> None:
    write(path, broken)
    with pytest.raises(ConfigError, match="fix the file first"):
        save_config(Config(theme="nord"), path)
    with pytest.raises(ConfigError, match="fix the file first"):
        save_preset(path, "p", {"temperature": 0.5})
    assert path.read_text() == broken


def test_invalid_config_in_memory_is_not_written(path: Path) -> None:
    write(path, 'theme = "nord"\n')
    with pytest.raises(ConfigError, match="temperature must be at most 10"):
        save_config(Config(presets={"x": {"temperature": 99}}), path)
    assert path.read_text() == 'theme = "nord"\n'


def test_save_preset_adds_and_replaces(path: Path) -> None:
    save_preset(path, " creative ", {"temperature": 1.2, "top_p": 0.95, "stop": ["\n"]})
    save_preset(path, "precise", {"temperature": 0.1})
    save_preset(path, "creative", {"temperature": 1.3})
    config = load_config(path)
    assert config.presets == {"creative": {"temperature": 1.3}, "precise": {"temperature": 0.1}}
    with pytest.raises(ConfigError, match="at most 10"):
        save_preset(path, "bad", {"temperature": 50})
    with pytest.raises(ConfigError, match="name"):
        save_preset(path, "  ", {})
    assert "bad" not in load_config(path).presets


def test_save_preset_keeps_other_settings(path: Path) -> None:
    write(path, 'server_url = "http://gpu:8080"\napi_key = "k"\n[templates.t]\nuser = "{content}"\n')
    save_preset(path, "p", {"seed": 1})
    config = load_config(path)
    assert (config.server_url, config.api_key, config.templates) == (
        "http://gpu:8080",
        "k",
        {"t": {"user": "{content}"}},
    )
    assert mode(path) == 0o600


def test_save_through_symlink_keeps_link(path: Path, tmp_path: Path) -> None:
    real = write(tmp_path / "dotfiles" / "llama.toml", 'theme = "nord"\n')
    path.parent.mkdir(parents=True)
    path.symlink_to(real)
    save_preset(path, "p", {"seed": 1})
    assert path.is_symlink()
    assert load_config(real).presets == {"p": {"seed": 1}}


def test_server_profiles_and_launch_table_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[servers.gpu]\nurl = "http://gpu-box:8080"\napi_key_env = "GPU_KEY"\ndefault_template = "llama3"\n'
        '[servers.local]\nurl = "http://127.0.0.1:8080"\n'
        '[server.launch]\nmodel = "/models/m.gguf"\nargs = ["-c", "8192"]\nstop_grace = 2\n'
    )
    monkeypatch.setenv("GPU_KEY", "from-env")
    config = load_config(path)
    assert config.servers["gpu"].resolved_key() == "from-env"
    assert config.servers["gpu"].default_template == "llama3"
    assert config.server_launch.model == "/models/m.gguf"
    assert config.server_launch.args == ["-c", "8192"] and config.server_launch.stop_grace == 2.0
    out = tmp_path / "out.toml"
    save_config(config, out)
    again = load_config(out)
    assert again.servers == config.servers and again.server_launch == config.server_launch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[servers.x]\nurl = "ftp://x"\n', "[servers.x] needs url"),
        ('[servers.x]\nurl = "http://x"\nkey = "k"\n', "[servers.x] unknown key 'key'"),
        ('[server.launch]\nargs = "-c 8192"\n', "args must be an array of strings"),
        ('[server.launch]\nmodle = "m.gguf"\n', "did you mean 'model'"),
        ("[server]\nport = 1\n", "[server] may only hold"),
    ],
)
def test_bad_server_tables_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)
    assert path.read_text() == text


def test_a_profile_key_makes_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config = Config(servers={"gpu": ServerProfile(url="http://gpu:8080", api_key="secret")})
    save_config(config, path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_save_settings_keeps_the_rest_and_checks_sidebar_width(tmp_path: Path) -> None:
    """The theme and sidebar width chosen in the app (#13) are saved; nothing else changes."""
    from llama_tui.config_files import save_settings

    path = tmp_path / "config.toml"
    path.write_text('server_url = "http://box:8080"\n[presets.fast]\ntemperature = 0.2\n')
    save_settings(path, theme="nord", sidebar_width=40)
    config = load_config(path)
    assert (config.theme, config.sidebar_width, config.server_url) == ("nord", 40, "http://box:8080")
    assert config.presets == {"fast": {"temperature": 0.2}}
    path.write_text("sidebar_width = 8\n")
    with pytest.raises(ConfigError, match="sidebar_width must be a whole number from 16 to 80"):
        load_config(path)
    with pytest.raises(ConfigError, match="not saved from the app"):
        save_settings(tmp_path / "other.toml", server_url="http://x")
