"""Building llama-server from the sdist (demo/build.py): the commands it would run match the test
command's build script, progress is read from cmake, missing tools are named up front."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest

from llama_tui.demo import SetupError
from llama_tui.demo.build import (
    CMAKE_FLAGS,
    SDIST_VERSION,
    build_commands,
    build_progress,
    build_server,
    built_binary,
    missing_tools,
    source_dir,
)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build-llama-server.sh"


def test_the_commands_download_the_pinned_sdist_then_configure_and_build_only_the_server(tmp_path: Path) -> None:
    download, configure, compile_ = build_commands(tmp_path, python="/py", jobs=3)
    assert download.argv[:4] == ("/py", "-m", "pip", "download")
    assert {"--no-deps", "--no-binary", ":all:"} <= set(download.argv)
    assert download.argv[-3:] == ("-d", str(tmp_path), f"llama-cpp-python=={SDIST_VERSION}")
    assert configure.argv[:5] == ("cmake", "-S", str(source_dir(tmp_path)), "-B", str(tmp_path / "build"))
    assert source_dir(tmp_path) == tmp_path / f"llama_cpp_python-{SDIST_VERSION}" / "vendor" / "llama.cpp"
    assert "-DLLAMA_USE_PREBUILT_UI=OFF" in configure.argv  # ON would download the web UI
    assert compile_.argv == (
        "cmake", "--build", str(tmp_path / "build"), "--target", "llama-server", "--config", "Release", "-j", "3",
    )  # fmt: skip


def test_the_same_version_flags_and_cache_layout_as_the_test_commands_build_script() -> None:
    script = SCRIPT.read_text()
    assert f'VERSION="${{LLAMA_CPP_PYTHON_VERSION:-{SDIST_VERSION}}}"' in script
    cmake_line = re.search(r'^cmake -S "\$SRC".*?>&2$', script, re.M | re.S)
    assert cmake_line, "the script's cmake configure line moved"
    flags = {word for word in shlex.split(cmake_line.group(0).replace("\\\n", " ")) if word.startswith("-D")}
    assert flags == set(CMAKE_FLAGS)
    # The script caches $ROOT/llama-cpp-python-$VERSION/bin/llama-server: same layout here.
    assert '/llama-cpp-python-$VERSION"' in script and 'BIN="$CACHE/bin/llama-server"' in script
    assert built_binary(Path("/r")) == Path(f"/r/llama-cpp-python-{SDIST_VERSION}/bin/llama-server")


@pytest.mark.parametrize(
    ("line", "fraction"),
    [
        ("[  0%] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o", 0.0),
        ("[ 45%] Building CXX object src/CMakeFiles/llama.dir/llama.cpp.o", 0.45),
        ("[100%] Built target llama-server", 1.0),
        ("-- Configuring done", None),
        ("warning: [ 45%] not at the start", None),
    ],
)
def test_progress_is_read_from_cmake_lines(line: str, fraction: float | None) -> None:
    assert build_progress(line) == fraction


def test_missing_tools_are_named() -> None:
    assert missing_tools(lambda name: None) == [
        "cmake",
        "make (or ninja)",
        "a C compiler (gcc or clang)",
        "a C++ compiler (g++ or clang++)",
    ]
    present = {"cmake", "ninja", "clang", "clang++"}
    assert missing_tools(lambda name: f"/usr/bin/{name}" if name in present else None) == []


def test_without_a_toolchain_the_build_says_what_to_install_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SetupError) as error:
        asyncio.run(build_server(tmp_path, tmp_path / "setup.log", on_progress=lambda label, f: None))
    assert "needs cmake" in error.value.message and "apt install build-essential cmake" in error.value.message
    assert not (tmp_path / "setup.log").exists() and not built_binary(tmp_path).exists()
