"""Where the real test assets are: the official chat templates and real-tokenizer vocabularies from the
llama-cpp-python sdist, and the real Gemma 3 270M model, all cached under the build cache (never in the
repository).

``scripts/test`` provides them (scripts/fetch-test-assets.sh); when they are missing this module runs
that script itself, as find_llama_server() builds the server. Anything it cannot provide is an error,
never a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-test-assets.sh"
SDIST_VERSION = "0.3.36"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


class AssetError(RuntimeError):
    pass


def build_cache() -> Path:
    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    return Path(base)


def _sdist_cache() -> Path:
    return build_cache() / f"llama-cpp-python-{os.environ.get('LLAMA_CPP_PYTHON_VERSION', SDIST_VERSION)}"


def gemma_model_path() -> Path:
    return build_cache() / "models" / GEMMA_FILE


@cache
def _fetched() -> Path:
    """Run the fetch script once per session if something is missing; return the sdist cache dir."""
    cache_dir = _sdist_cache()
    if (cache_dir / "assets.done").is_file() and gemma_model_path().is_file():
        return cache_dir
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(FETCH_SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssetError(f"{FETCH_SCRIPT.name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return cache_dir


def templates_dir() -> Path:
    """The 70 official chat templates (vendor/llama.cpp/models/templates/*.jinja)."""
    path = _fetched() / "templates"
    if not any(path.glob("*.jinja")):
        raise AssetError(f"no official templates in {path}")
    return path


def official_template(name: str) -> Path:
    """One official template file by its file name, e.g. "Qwen3.5-4B.jinja"."""
    path = templates_dir() / name
    if not path.is_file():
        raise AssetError(f"official template {name!r} not found in {path.parent}")
    return path


def official_template_names() -> list[str]:
    return sorted(p.name for p in templates_dir().glob("*.jinja"))


def vocab_path(name: str) -> Path:
    """A vocab-only GGUF of a real tokenizer by short name, e.g. "llama-bpe", "qwen35", "gemma-4"."""
    path = _fetched() / "vocab" / f"ggml-vocab-{name}.gguf"
    if not path.is_file():
        raise AssetError(f"vocabulary {name!r} not found: {path}")
    return path


def gemma_model() -> Path:
    """The real Gemma 3 270M (base model, Q4_K_M, no chat template in the file)."""
    _fetched()
    path = gemma_model_path()
    if not path.is_file():
        raise AssetError(f"the Gemma model was not assembled at {path}")
    return path
