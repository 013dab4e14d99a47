"""Finding and spawning a llama-server binary: PATH lookup, a free port, die-with-parent (Linux)."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import ServerBinaryMissing

BINARY_NAME = "llama-server"
LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


def find_binary(binary: str | os.PathLike[str] | None = None) -> Path:
    """The llama-server to run: `binary` if given (a path, or a command name looked up on PATH),
    else `llama-server` on PATH. Raises ServerBinaryMissing saying how to get one."""
    if binary is not None:
        given = Path(binary).expanduser()
        if given.is_file() and os.access(given, os.X_OK):
            return given
        found = shutil.which(str(binary)) if os.sep not in str(binary) else None
        if found:
            return Path(found)
        raise ServerBinaryMissing(f"llama-server binary {str(binary)!r} is not an executable file.\n{HOW_TO_GET}")
    found = shutil.which(BINARY_NAME)
    if found:
        return Path(found)
    raise ServerBinaryMissing(f"no {BINARY_NAME} found on PATH.\n{HOW_TO_GET}")


HOW_TO_GET = (
    "To get one:\n"
    "  - build llama.cpp (https://github.com/ggml-org/llama.cpp): "
    "cmake -B build && cmake --build build --target llama-server; the binary is build/bin/llama-server;\n"
    "  - or build it from the llama.cpp sources inside the llama-cpp-python sdist: "
    "pip download --no-deps --no-binary :all: llama-cpp-python, unpack it, then cmake as in "
    "scripts/build-llama-server.sh;\n"
    '  - then put it on PATH, or set llama_server_bin = "/path/to/llama-server" under [server.launch] '
    "in the config file."
)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pdeathsig_preexec() -> Callable[[], None] | None:
    """A preexec_fn making the kernel SIGKILL the child when this thread's process dies (Linux).

    libc and prctl are looked up here, in the parent: between fork and exec the child only calls
    an already-resolved C function (a preexec_fn must do as little as possible)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect: nobody wants us
            os._exit(1)

    return preexec


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the child: stdin closed, stdout and stderr into one pipe, in a session of its own."""
    if os.name == "posix":
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=pdeathsig_preexec(),  # only calls a pre-resolved prctl: see its docstring
        )
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        close_fds=True,
        creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
    )
