"""GGUF header traits: sliding-window attention and recurrent memories read from real GGUF files
(written with the gguf package, as llama.cpp's converters do), and broken files refused."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from llama_tui.gguf_info import GGUFError, ModelTraits, read_model_traits
from tests.harness.tiny_model import make_tiny_model


def write_header(path: Path, arch: str, **keys: int) -> Path:
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(f"{arch}-test")
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a", "b"])  # arrays of strings are walked
    writer.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.0, -3.0])
    for key, value in keys.items():
        writer.add_uint32(key.replace("__", "."), value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    return path


def test_a_llama_model_has_full_attention(tiny_models_dir: Path) -> None:
    traits = read_model_traits(make_tiny_model(tiny_models_dir, chat_template="chatml"))
    assert traits == ModelTraits("llama", 0, recurrent=False) and not traits.uses_swa


def test_sliding_window_models(tmp_path: Path) -> None:
    gemma = read_model_traits(write_header(tmp_path / "g.gguf", "gemma3", gemma3__attention__sliding_window=512))
    assert gemma == ModelTraits("gemma3", 512, recurrent=False) and gemma.uses_swa
    # phi3 files carry the key, but llama.cpp does not use sliding windows for phi3.
    assert not read_model_traits(
        write_header(tmp_path / "p.gguf", "phi3", phi3__attention__sliding_window=2047)
    ).uses_swa
    # llama4 uses chunked attention unless the key says 0.
    assert read_model_traits(write_header(tmp_path / "l4.gguf", "llama4")).sliding_window == 8192
    assert not read_model_traits(
        write_header(tmp_path / "l4b.gguf", "llama4", llama4__attention__sliding_window=0)
    ).uses_swa


def test_recurrent_models(tmp_path: Path) -> None:
    mamba = read_model_traits(write_header(tmp_path / "m.gguf", "mamba", mamba__ssm__state_size=16))
    assert mamba.recurrent and not mamba.uses_swa


def test_the_real_gemma_file() -> None:
    """The traits the slot cache relies on, from the real model (tests/harness/gemma.py)."""
    from tests.harness.gemma import gemma_model_path

    assert read_model_traits(gemma_model_path()) == ModelTraits("gemma3", 512, recurrent=False)


@pytest.mark.parametrize("cut", [10, 30, 200])
def test_a_truncated_or_foreign_file_is_refused(tmp_path: Path, cut: int) -> None:
    whole = write_header(tmp_path / "g.gguf", "gemma3", gemma3__attention__sliding_window=512).read_bytes()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(whole[:cut])
    with pytest.raises(GGUFError):
        read_model_traits(broken)
    foreign = tmp_path / "foreign.gguf"
    foreign.write_bytes(b"PK\x03\x04" + whole[4:])
    with pytest.raises(GGUFError, match="not a GGUF file"):
        read_model_traits(foreign)
    huge = bytearray(whole)
    huge[16:24] = (2**40).to_bytes(8, "little")  # an absurd key count
    foreign.write_bytes(bytes(huge))
    with pytest.raises(GGUFError):
        read_model_traits(foreign)
