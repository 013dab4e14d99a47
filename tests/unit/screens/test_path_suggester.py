"""Path completion for the first-run screen's model field (screens/path_suggester.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llama_tui.screens.path_suggester import complete_path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "qwen-7b.gguf").write_bytes(b"")
    (tmp_path / "models" / "gemma-270m.gguf").write_bytes(b"")
    (tmp_path / "models" / "notes.txt").write_text("x")
    (tmp_path / "models" / "gguf-archive").mkdir()
    (tmp_path / ".hidden.gguf").write_bytes(b"")
    return tmp_path


def test_completes_folders_with_a_slash_and_gguf_files(tree: Path) -> None:
    assert complete_path(f"{tree}/mo") == f"{tree}/models/"
    assert complete_path(f"{tree}/models/q") == f"{tree}/models/qwen-7b.gguf"
    assert complete_path(f"{tree}/models/g") == f"{tree}/models/gemma-270m.gguf"  # sorted: file before folder
    assert complete_path(f"{tree}/models/gg") == f"{tree}/models/gguf-archive/"


def test_other_files_hidden_ones_and_complete_names_are_not_suggested(tree: Path) -> None:
    assert complete_path(f"{tree}/models/n") is None  # notes.txt is no model
    assert complete_path(f"{tree}/") == f"{tree}/models/"  # .hidden.gguf only when asked for
    assert complete_path(f"{tree}/.h") == f"{tree}/.hidden.gguf"
    assert complete_path(f"{tree}/models/qwen-7b.gguf") is None
    assert complete_path(f"{tree}/nowhere/x") is None
    assert complete_path("") is None


def test_home_stays_as_typed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tree))
    assert complete_path("~/mod") == "~/models/"


def test_relative_paths_complete_from_the_current_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "models")
    assert complete_path("qw") == "qwen-7b.gguf"
    assert complete_path(f".{os.sep}ge") == f".{os.sep}gemma-270m.gguf"
