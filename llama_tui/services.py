"""What the app is built from, made once by the command line and handed down (no service locator):
the config, the store, the server connection, the saved session caches and the rest. No Textual."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chat.connection import ServerConnection
from .chat.discovery import Candidate
from .chat.slot_cache import SlotCache
from .chat.slot_cache_files import namespace_for
from .config import Config
from .paths import slot_cache_dir
from .server import ManagedServer
from .store import Store


@dataclass
class AppServices:
    config: Config
    store: Store
    connection: ServerConnection
    config_path: Path
    custom_templates: Mapping[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    managed_server: ManagedServer | None = None
    initial_session: int | None = None  # --session
    new_session: bool = False  # --new
    discover: list[Candidate] | None = None  # no URL given: look for a server here after the first frame
    demo: bool = False  # --demo: open "try it now" at start
    slot_cache: SlotCache | None = None  # built by the app once it knows its managed server


def build_slot_cache(
    config: Config, connection: ServerConnection, store_path: Path, server: ManagedServer | None
) -> SlotCache:
    """Saved session KV caches (chat/slot_cache.py) for the connection's server. A managed server's
    folder, model file and --swa-full are known here; an external server's are asked or guessed.
    `slot_cache_max_mb = 0` turns the feature off (refresh() then says so)."""
    return SlotCache(
        connection,
        root=slot_cache_dir(),
        max_bytes=config.slot_cache_max_mb * 2**20,
        files_dir=server.slot_save_dir if server is not None else None,
        model_file=server.model if server is not None else None,
        swa_full=server.swa_full if server is not None else None,
        managed=server is not None,
        namespace=namespace_for(store_path),
    )
