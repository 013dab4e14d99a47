"""The llama-server that llama-tui starts and stops itself (`--model`), and its log."""

from .args import default_slot_save_dir
from .binary import BINARY_NAME, LOOPBACK, find_binary, free_port
from .errors import ManagedServerError, ServerBinaryMissing, ServerStartError
from .log import READY, STARTING, LoadProgress, progress_from_line
from .managed import ManagedServer

__all__ = [
    "BINARY_NAME",
    "LOOPBACK",
    "READY",
    "STARTING",
    "LoadProgress",
    "ManagedServer",
    "ManagedServerError",
    "ServerBinaryMissing",
    "ServerStartError",
    "default_slot_save_dir",
    "find_binary",
    "free_port",
    "progress_from_line",
]
