"""Where files go: overrides, environment, platform defaults; nothing created by lookups."""

from __future__ import annotations

import importlib
import stat
from pathlib import Path

import platformdirs
import pytest

from llama_tui import paths


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_TUI_DATA_DIR", str(tmp_path / "env"))
    assert paths.data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert paths.data_dir() == tmp_path / "env"
    monkeypatch.delenv("LLAMA_TUI_DATA_DIR")
    assert paths.data_dir() == Path(platformdirs.user_data_dir("llama-tui", appauthor=False))
    assert paths.data_dir().name == "llama-tui"


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_TUI_CONFIG", str(tmp_path / "env.toml"))
    assert paths.config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    assert paths.config_path() == tmp_path / "env.toml"
    monkeypatch.delenv("LLAMA_TUI_CONFIG")
    assert paths.config_path() == Path(platformdirs.user_config_dir("llama-tui", appauthor=False)) / "config.toml"


def test_empty_env_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_TUI_DATA_DIR", "")
    assert paths.data_dir() == Path(platformdirs.user_data_dir("llama-tui", appauthor=False))


def test_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.data_dir(Path("~/d")) == tmp_path / "d"
    monkeypatch.setenv("LLAMA_TUI_CONFIG", "~/c.toml")
    assert paths.config_path() == tmp_path / "c.toml"


def test_tests_are_isolated_from_real_dirs(tmp_path: Path) -> None:
    # The autouse fixture in tests/conftest.py must hold for every test.
    assert tmp_path in paths.data_dir().parents
    assert tmp_path in paths.config_path().parents
    assert tmp_path in paths.cache_dir().parents
    assert paths.slot_cache_dir().parent == paths.cache_dir()
    assert tmp_path in Path(platformdirs.user_data_dir("llama-tui")).parents


def test_store_path_and_cache_dir() -> None:
    assert paths.store_path(Path("/x/y")) == Path("/x/y/sessions.sqlite3")
    assert paths.cache_dir().name == "llama-tui"


def test_lookups_and_import_create_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLAMA_TUI_DATA_DIR")
    monkeypatch.delenv("LLAMA_TUI_CONFIG")
    importlib.reload(paths)
    for found in (paths.data_dir(), paths.config_path(), paths.store_path(paths.data_dir())):
        assert not found.exists()
    assert list((tmp_path / "user").glob("**/*")) == []  # not even parents


def test_ensure_dir_creates_private_dirs(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert paths.ensure_dir(target) == target
    assert target.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert paths.ensure_dir(target) == target  # idempotent
