"""The official chat templates of llama.cpp (`models/templates/*.jinja` in the llama-cpp-python
sdist), from the cache that `scripts/fetch-test-assets.sh` fills next to the built llama-server.
Never copied into the repository. A missing cache is an error, never a skip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.harness.server import REPO_ROOT

VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-test-assets.sh"


def _cache_dir() -> Path:
    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    return Path(base) / f"llama-cpp-python-{VERSION}"


def official_templates_dir() -> Path:
    """The directory of official .jinja templates, fetched first if needed."""
    cache = _cache_dir()
    if not (cache / "assets.done").is_file():
        if not FETCH_SCRIPT.is_file():
            raise FileNotFoundError(f"no official templates in {cache} and no {FETCH_SCRIPT.name} to fetch them")
        out = subprocess.run(["bash", str(FETCH_SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        cache = Path(out.stdout.strip().splitlines()[-1])
    return cache / "templates"


def official_template(name: str) -> Path:
    path = official_templates_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"official template {name} not found in {path.parent}")
    return path
