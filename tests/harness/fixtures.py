"""Fixtures that run the real llama-server on tiny generated models (loaded by tests/conftest.py).

Servers start lazily, only when a test asks
for them; session-scoped ones are shared, so tests must not kill them (use ``fresh_llama_server``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.server import LlamaServer, find_llama_server
from tests.harness.tiny_model import GENERATOR_VERSION, REASONING_TOKENS, make_tiny_model

_HERE = Path(__file__).resolve().parent

API_KEY = "test-key-123"


def _models_cache_dir() -> Path:
    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    return Path(base) / "models" / f"gen{GENERATOR_VERSION}"


@pytest.fixture(scope="session")
def llama_server_bin() -> Path:
    return find_llama_server()


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Persistent cache of generated models (next to the cached binary), shared by every run."""
    path = _models_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = tmp_path_factory.mktemp("tiny-models")
    return path


@pytest.fixture(scope="session")
def chatml_model(tiny_models_dir: Path) -> Path:
    return make_tiny_model(tiny_models_dir, chat_template="chatml")


@pytest.fixture(scope="session")
def llama3_model(tiny_models_dir: Path) -> Path:
    return make_tiny_model(tiny_models_dir, chat_template="llama3")


@pytest.fixture(scope="session")
def server_logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llama-server-logs")


def _session_server(bin_: Path, model: Path, logs: Path, **kwargs: Any) -> Iterator[LlamaServer]:
    server = LlamaServer(bin_, model, log_dir=logs, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama_server(llama_server_bin: Path, chatml_model: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """ChatML model, 2 slots of 4096 tokens each (-c 8192 -np 2), no API key, no /metrics."""
    yield from _session_server(llama_server_bin, chatml_model, server_logs_dir, ctx_size=8192, parallel=2)


@pytest.fixture(scope="session")
def llama_server_metrics(llama_server_bin: Path, chatml_model: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """ChatML model, one 4096-token slot, started with --metrics."""
    yield from _session_server(llama_server_bin, chatml_model, server_logs_dir, metrics=True)


@pytest.fixture(scope="session")
def llama_server_auth(llama_server_bin: Path, chatml_model: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """ChatML model, one 4096-token slot, --api-key test-key-123 (``.api_key``; ``.request`` sends it)."""
    yield from _session_server(llama_server_bin, chatml_model, server_logs_dir, api_key=API_KEY)


@pytest.fixture(scope="session")
def llama3_server(llama_server_bin: Path, llama3_model: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """Llama-3 template model (BOS <|begin_of_text|>, EOS <|eot_id|>), one 4096-token slot."""
    yield from _session_server(llama_server_bin, llama3_model, server_logs_dir)


@pytest.fixture(scope="session")
def big_context_server(llama_server_bin: Path, tiny_models_dir: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """ChatML model trained (nominally) for 32k, one 16384-token slot: room for over 1 MB of text.
    The server caps a slot at the model's training context, hence the separate model."""
    model = make_tiny_model(tiny_models_dir, chat_template="chatml", context_length=32768)
    yield from _session_server(llama_server_bin, model, server_logs_dir, ctx_size=16384, parallel=1)


@pytest.fixture
def fresh_llama_server(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> Iterator[Callable[..., LlamaServer]]:
    """Factory for a private, started server that a test may kill, suspend or restart.

    ``fresh_llama_server(model=None, **LlamaServer kwargs)``; every server it made is stopped afterwards.
    """
    servers: list[LlamaServer] = []

    def factory(model: Path | None = None, *, timeout: float = 60, **kwargs: Any) -> LlamaServer:
        kwargs.setdefault("log_dir", tmp_path)
        server = LlamaServer(llama_server_bin, model or chatml_model, **kwargs)
        servers.append(server)
        return server.start(timeout)

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def router_server(
    llama_server_bin: Path,
    chatml_model: Path,
    llama3_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    server_logs_dir: Path,
) -> Iterator[LlamaServer]:
    """Router mode (--models-dir) over two tiny models, named "chatml" and "llama3"."""
    import shutil

    models = tmp_path_factory.mktemp("router-models")
    shutil.copy(chatml_model, models / "chatml.gguf")
    shutil.copy(llama3_model, models / "llama3.gguf")
    server = LlamaServer(llama_server_bin, None, models_dir=models, log_dir=server_logs_dir, ctx_size=2048)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Real assets: official chat templates, the real Gemma model (tests/harness/assets.py) ---------------


@pytest.fixture(scope="session")
def gemma_model() -> Path:
    """The real Gemma 3 270M base model (Q4_K_M, no chat template in the GGUF)."""
    from tests.harness.assets import gemma_model as locate

    return locate()


@pytest.fixture(scope="session")
def gemma_server(llama_server_bin: Path, gemma_model: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """The real Gemma 3 270M, one 4096-token slot. ``--no-repack``: on CPUs with AMX, this build's
    repacked Q4_K matmul crashes (SIGSEGV in ggml_backend_amx_mul_mat) while warming up."""
    yield from _session_server(llama_server_bin, gemma_model, server_logs_dir, extra_args=["--no-repack"])


@pytest.fixture(scope="session")
def gemma_router_server(
    llama_server_bin: Path,
    chatml_model: Path,
    gemma_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    server_logs_dir: Path,
) -> Iterator[LlamaServer]:
    """Router mode over the tiny ChatML model ("tiny") and the real Gemma 3 270M ("gemma"), linked
    into the models folder (not copied). The router passes its flags on to each model's server,
    ``--no-repack`` included (see gemma_server)."""
    models = tmp_path_factory.mktemp("gemma-router-models")
    (models / "tiny.gguf").symlink_to(chatml_model)
    (models / "gemma.gguf").symlink_to(gemma_model)
    server = LlamaServer(
        llama_server_bin, None, models_dir=models, log_dir=server_logs_dir, ctx_size=2048, extra_args=["--no-repack"]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def official_server(
    llama_server_bin: Path, tiny_models_dir: Path, server_logs_dir: Path
) -> Iterator[Callable[..., LlamaServer]]:
    """``official_server(template_file, bos=None, eos=None)``: a server on a tiny model whose BOS/EOS texts
    are the real model's, started with ``--chat-template-file`` (an official template from the sdist).
    The model does not add BOS (``add_bos_token`` false), so /apply-template keeps the template's BOS
    text and a test sees all of it. The last server is kept for the next call with the same arguments;
    one runs at a time."""
    from tests.harness.assets import official_template

    current: dict[tuple[str, str | None, str | None], LlamaServer] = {}

    def factory(template: str, bos: str | None = None, eos: str | None = None) -> LlamaServer:
        key = (template, bos, eos)
        if key in current:
            return current[key]
        for server in current.values():
            server.stop()
        current.clear()
        model = make_tiny_model(tiny_models_dir, bos_token=bos, eos_token=eos, add_bos_token=False)
        args = ["--chat-template-file", str(official_template(template))]
        server = LlamaServer(llama_server_bin, model, extra_args=args, log_dir=server_logs_dir)
        current[key] = server.start()
        return server

    yield factory
    for server in current.values():
        server.stop()


@pytest.fixture(scope="session")
def reasoning_server(llama_server_bin: Path, tiny_models_dir: Path, server_logs_dir: Path) -> Iterator[LlamaServer]:
    """ChatML model whose vocabulary also has the reasoning formats' markers (`<think>`, harmony's and
    Gemma 4's channel tokens), typed as in the real GGUFs; one 4096-token slot. With a grammar
    (tests/harness/forced_output.py) it streams exactly what a reasoning model would."""
    model = make_tiny_model(tiny_models_dir, extra_tokens=REASONING_TOKENS)
    yield from _session_server(llama_server_bin, model, server_logs_dir)


# A real tokenizer's vocabulary (models/ggml-vocab-NAME.gguf), the template the tiny model carries, its BOS
# and EOS texts (None: the vocabulary's own).
REAL_VOCABS: dict[str, tuple[str, str | None, str | None]] = {
    "llama-bpe": ("llama3", "<|begin_of_text|>", "<|eot_id|>"),
    "qwen2": ("chatml", None, "<|im_end|>"),
}


@pytest.fixture(scope="session")
def real_vocab_server(
    llama_server_bin: Path, tiny_models_dir: Path, server_logs_dir: Path
) -> Iterator[Callable[[str], LlamaServer]]:
    """``real_vocab_server(name)``: a tiny random model on a real tokenizer (a name of REAL_VOCABS), one
    2048-token slot, started on first use and kept for the session."""
    from tests.harness.assets import vocab_path

    started: dict[str, LlamaServer] = {}

    def factory(name: str) -> LlamaServer:
        if name not in started:
            template, bos, eos = REAL_VOCABS[name]
            model = make_tiny_model(
                tiny_models_dir, chat_template=template, vocab=vocab_path(name), bos_token=bos, eos_token=eos
            )
            started[name] = LlamaServer(llama_server_bin, model, log_dir=server_logs_dir, ctx_size=2048).start()
        return started[name]

    yield factory
    for server in started.values():
        server.stop()
