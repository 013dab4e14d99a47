"""The first run's real parts for tests: a demo cache holding the llama-server the test command
built and the real Gemma 3 270M, so "try it now" runs for real without rebuilding (5 minutes) or
downloading (250 MB). Nothing is copied: the cache holds symlinks to the build cache's files.

The model is the test assets' real Gemma 3 270M (tests/harness/assets.py, in the build cache).
"""

from __future__ import annotations

import socket
from pathlib import Path

from llama_tui.demo.build import built_binary
from llama_tui.demo.model import model_path
from tests.harness.assets import gemma_model

# Nothing listens on port 1 (tcpmux): a place to look that never answers.
NOWHERE = "http://127.0.0.1:1"


def demo_cache(root: Path, llama_server_bin: Path, *, with_model: bool = True) -> Path:
    """A demo cache at `root` laid out as llama-tui makes one, pointing at the test build's files."""
    binary = built_binary(root)
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.symlink_to(llama_server_bin)
    if with_model:
        model = model_path(root)
        model.parent.mkdir(parents=True, exist_ok=True)
        model.symlink_to(gemma_model())
    return root


def closed_url() -> str:
    """A loopback URL nobody listens on (a port the kernel just gave out and took back)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"
