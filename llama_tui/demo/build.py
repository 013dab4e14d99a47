"""Building llama-server from the llama.cpp sources inside the llama-cpp-python sdist on PyPI, the
way scripts/build-llama-server.sh does, into the demo cache. No Textual.

Needs pip (to download the 76 MB sdist once), cmake, make (or ninja) and a C/C++ compiler; about
5 minutes on 2 cores. `missing_tools()` says up front what is not installed, `build_commands()`
lists what will run (tested without running it), and `build_server()` runs it with progress read
from cmake's "[ 45%]" lines. The sdist is thrown away once the binary is in place.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from .steps import Command, SetupError, open_log, pip_failure, run_command

SDIST_PACKAGE = "llama-cpp-python"
SDIST_VERSION = "0.3.36"
SDIST_MB = 76
# As scripts/build-llama-server.sh: only the server, static, no network at build time (the web UI
# would be downloaded unless LLAMA_USE_PREBUILT_UI is off), no curl.
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
)
_PERCENT = re.compile(r"^\[\s*(\d{1,3})%\]")

INSTALL_HINT = (
    "Install them, then try again:\n"
    "  Debian/Ubuntu: sudo apt install build-essential cmake\n"
    "  Fedora: sudo dnf install gcc-c++ make cmake\n"
    "  macOS: xcode-select --install, and brew install cmake\n"
    "(cmake can also come from pip: pip install cmake.) Or get a llama-server binary and set "
    "llama_server_bin under [server.launch] in the config."
)


def server_dir(root: Path, version: str = SDIST_VERSION) -> Path:
    """Where the built binary is kept: the same layout as scripts/build-llama-server.sh's cache."""
    return root / f"llama-cpp-python-{version}"


def built_binary(root: Path, version: str = SDIST_VERSION) -> Path:
    name = "llama-server.exe" if os.name == "nt" else "llama-server"
    return server_dir(root, version) / "bin" / name


def missing_tools(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """What the build needs and this machine lacks (empty: all there)."""
    missing = []
    if which("cmake") is None:
        missing.append("cmake")
    if which("make") is None and which("ninja") is None:
        missing.append("make (or ninja)")
    if not any(which(c) for c in ("cc", "gcc", "clang")):
        missing.append("a C compiler (gcc or clang)")
    if not any(which(c) for c in ("c++", "g++", "clang++")):
        missing.append("a C++ compiler (g++ or clang++)")
    return missing


def build_commands(work: Path, *, python: str = sys.executable, jobs: int | None = None) -> list[Command]:
    """The commands build_server runs in `work`, in order (the sdist is unpacked between the
    first and the second, in Python)."""
    jobs = jobs or os.cpu_count() or 2
    src = source_dir(work)
    return [
        Command(
            f"downloading the llama.cpp sources ({SDIST_PACKAGE} {SDIST_VERSION} sdist, {SDIST_MB} MB)",
            (
                python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                "--disable-pip-version-check", "--progress-bar", "off",
                "-d", str(work), f"{SDIST_PACKAGE}=={SDIST_VERSION}",
            ),
        ),
        Command("configuring (cmake)", ("cmake", "-S", str(src), "-B", str(work / "build"), *CMAKE_FLAGS)),
        Command(
            "compiling llama-server",
            (
                "cmake", "--build", str(work / "build"), "--target", "llama-server",
                "--config", "Release", "-j", str(jobs),
            ),
        ),
    ]  # fmt: skip


def source_dir(work: Path) -> Path:
    return work / f"llama_cpp_python-{SDIST_VERSION}" / "vendor" / "llama.cpp"


def build_progress(line: str) -> float | None:
    """The fraction done from a cmake build line ("[ 45%] Building CXX object ..."), else None."""
    match = _PERCENT.match(line)
    return min(int(match.group(1)), 100) / 100 if match else None


Progress = Callable[[str, float | None], None]
"""on_progress(label, fraction or None) for the step under way."""


async def build_server(
    root: Path,
    log_path: Path,
    *,
    on_progress: Progress,
    on_line: Callable[[str], None] | None = None,
    python: str = sys.executable,
) -> Path:
    """Build llama-server into the cache under `root`; returns the binary. SetupError says what
    went wrong (a tool missing, no network, a compile error and where its log is)."""
    missing = missing_tools()
    if missing:
        raise SetupError(f"Building llama-server needs {', '.join(missing)}.\n{INSTALL_HINT}")
    target = built_binary(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work.", dir=server_dir(root)))
    tail: list[str] = []
    try:
        with open_log(log_path) as log:
            download, configure, compile_ = build_commands(work, python=python)
            on_progress(download.label, None)
            if await run_command(download, log=log, on_line=on_line, tail=tail) != 0:
                raise pip_failure(f"the {SDIST_PACKAGE} sources", tail, log_path)
            on_progress("unpacking the sources", None)
            await asyncio.to_thread(_unpack, work)
            on_progress(configure.label, None)
            if await run_command(configure, log=log, on_line=on_line, tail=tail) != 0:
                raise SetupError(f"cmake could not configure llama.cpp: {_last(tail)}\nLog: {log_path}", log_path)

            def compiled(line: str) -> None:
                fraction = build_progress(line)
                if fraction is not None:
                    on_progress(compile_.label, fraction)
                if on_line is not None:
                    on_line(line)

            on_progress(compile_.label, 0.0)
            if await run_command(compile_, log=log, on_line=compiled, tail=tail) != 0:
                raise SetupError(f"compiling llama-server failed: {_last(tail)}\nLog: {log_path}", log_path)
        built = work / "build" / "bin" / target.name
        if not built.is_file():
            raise SetupError(f"the build finished but made no {built}; log: {log_path}", log_path)
        partial = target.with_name(target.name + ".tmp")
        shutil.copy2(built, partial)
        os.replace(partial, target)  # a half-copied binary is never taken for a built one
        return target
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _unpack(work: Path) -> None:
    archive = work / f"llama_cpp_python-{SDIST_VERSION}.tar.gz"
    if not archive.is_file():
        raise SetupError(f"pip reported success but {archive.name} is not in {work}")
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")  # refuses links and paths that leave `work`
    archive.unlink()


def _last(tail: list[str]) -> str:
    errors = [line for line in tail if "error" in line.lower()]
    return (errors[0] if errors else tail[-1] if tail else "(no output)").strip()[:300]
