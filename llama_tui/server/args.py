"""The llama-server flags llama-tui sets itself, refuses from the user, or reads back (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..paths import slot_cache_dir
from .errors import ManagedServerError

# Flags llama-tui sets itself: a user copy would make the URL (or the model) wrong.
RESERVED_FLAGS = ("-m", "--model", "--host", "--port")


def check_user_args(args: Sequence[str]) -> tuple[str, ...]:
    """`args` as a tuple; ManagedServerError if one of them is a flag llama-tui sets."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in RESERVED_FLAGS:
            raise ManagedServerError(
                f"server argument {flag} is set by llama-tui (it picks the model, a loopback host and a free "
                "port); remove it from the server arguments"
            )
    return tuple(args)


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """The value given to `flag` in `args` ("--flag VALUE" or "--flag=VALUE"); the last one wins."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def default_slot_save_dir() -> Path:
    """Where the managed server saves session KV caches unless the user chose a --slot-save-path."""
    return slot_cache_dir() / "files"


# llama-server's weight repacking flags (and its environment variable): the user's choice wins.
REPACK_FLAGS = ("--repack", "-nr", "--no-repack")
REPACK_ENV = "LLAMA_ARG_REPACK"


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has AMX tiles (Sapphire Rapids and later): the `amx_tile` flag of Linux's
    /proc/cpuinfo. False where there is no such file (other systems) or it cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_tile" in line.partition(":")[2].split()
    return False


def automatic_flags(args: Sequence[str], env: Mapping[str, str], *, amx: bool) -> tuple[str, ...]:
    """Flags llama-tui adds for the machine. On an AMX CPU, `--no-repack` unless the user chose
    (a repack flag in `args`, or LLAMA_ARG_REPACK in the server's environment): llama-server
    b1-0c1e570 repacks quantized weights for AMX and crashes with SIGSEGV in
    ggml_backend_amx_mul_mat while warming up a Q4_K model (Gemma 3 270M); without repacking it
    runs, at no measurable cost for that model here."""
    chose = any(arg.split("=", 1)[0] in REPACK_FLAGS for arg in args) or REPACK_ENV in env
    return ("--no-repack",) if amx and not chose else ()
