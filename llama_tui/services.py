"""What the app is built from, made once by the command line and handed down (no service locator):
the config, the store, the server connection and the rest. No Textual."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chat.connection import ServerConnection
from .chat.discovery import Candidate
from .config import Config
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
