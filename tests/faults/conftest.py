"""Fixtures of the fault suite (issue #5): the whole app, headless, against the real llama-server
where it can produce the fault, and the scripted fault server for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.tiny_model import make_tiny_model


@pytest.fixture(scope="session")
def slow_model(tiny_models_dir: Path) -> Path:
    """A bigger random model (256-dim, 8 layers, 16k context): about 700 tokens/s on one core, the
    speed of a real model on a GPU, so a test can act while an answer is still being generated."""
    return make_tiny_model(
        tiny_models_dir, chat_template="chatml", n_embd=256, n_layer=8, n_ff=1024, context_length=16384
    )
