"""What a GGUF model file says about its attention memory, read from the file header (stdlib only).

llama-server's /props does not say whether a model uses sliding-window attention (SWA) or a
recurrent state, yet that decides whether a saved slot cache can be reused: llama.cpp keeps only
the last `n_swa` positions of an SWA layer, so after a restore (which drops the context
checkpoints) the server re-processes the whole prompt unless it runs with `--swa-full`. When the
model file is readable here (a managed server, or a local path in /props) its header tells.

The reader walks the key/value section only (never the tensors), validates every length against
the file size (a model file is untrusted input), and keeps the scalar values.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

_MAGIC = b"GGUF"
# GGUF value types -> struct format of a scalar (8 = string, 9 = array are handled apart).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_MAX_KV = 1_000_000  # real models have a few dozen keys; a bigger count is a broken file

# Architectures whose loader ignores a sliding_window key (llama.cpp src/models/phi3.cpp), and
# those that use chunked attention even without one (llama4: 8192 unless the key says 0).
_SWA_IGNORED = frozenset({"phi3"})
_SWA_BY_DEFAULT = {"llama4": 8192}
# Key fragments of recurrent or hybrid memories (Mamba, RWKV, LFM2 short convolutions).
_RECURRENT_MARKERS = (".ssm.", ".wkv.", ".shortconv.", ".rwkv.")


class GGUFError(ValueError):
    """The file is not a GGUF model this reader understands."""


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """The few facts about a model that decide what a saved slot cache is worth."""

    architecture: str
    sliding_window: int  # 0: no sliding-window attention
    recurrent: bool  # a recurrent or hybrid memory (its reuse after a restore is not known here)

    @property
    def uses_swa(self) -> bool:
        return self.sliding_window > 0


def read_model_traits(path: str | os.PathLike[str]) -> ModelTraits:
    """The traits of the GGUF model at `path`. GGUFError if it is not one; OSError if unreadable."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 24:
            raise GGUFError(f"{Path(path).name}: too short to be a GGUF file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            values = _read_kv(data, size, Path(path).name)
    return traits_from_metadata(values)


def traits_from_metadata(values: dict[str, object]) -> ModelTraits:
    """ModelTraits from GGUF key/values (scalars; arrays may be absent)."""
    arch = values.get("general.architecture")
    arch = arch if isinstance(arch, str) else ""
    window = values.get(f"{arch}.attention.sliding_window")
    n_swa = window if isinstance(window, int) and not isinstance(window, bool) and window > 0 else 0
    if arch in _SWA_IGNORED:
        n_swa = 0
    elif arch in _SWA_BY_DEFAULT and window is None:
        n_swa = _SWA_BY_DEFAULT[arch]
    recurrent = any(marker in key for key in values for marker in _RECURRENT_MARKERS)
    return ModelTraits(architecture=arch, sliding_window=n_swa, recurrent=recurrent)


def _read_kv(data: mmap.mmap, size: int, name: str) -> dict[str, object]:
    if data[:4] != _MAGIC:
        raise GGUFError(f"{name}: not a GGUF file")
    # Files are little-endian unless written on a big-endian machine: the version tells which.
    (version,) = struct.unpack_from("<I", data, 4)
    endian = "<" if version < 0x10000 else ">"
    (version,) = struct.unpack_from(endian + "I", data, 4)
    if version not in (2, 3):
        raise GGUFError(f"{name}: GGUF version {version} is not supported")
    _, n_kv = struct.unpack_from(endian + "QQ", data, 8)
    if n_kv > _MAX_KV:
        raise GGUFError(f"{name}: implausible key count {n_kv}")
    pos = 24
    values: dict[str, object] = {}

    def need(n: int) -> None:
        if n < 0 or pos + n > size:
            raise GGUFError(f"{name}: truncated or corrupt header")

    def read_string() -> str:
        nonlocal pos
        need(8)
        (length,) = struct.unpack_from(endian + "Q", data, pos)
        pos += 8
        need(length)
        text = bytes(data[pos : pos + length]).decode("utf-8", errors="replace")
        pos += length
        return text

    def skip_array() -> None:
        nonlocal pos
        need(12)
        item_type, count = struct.unpack_from(endian + "IQ", data, pos)
        pos += 12
        if item_type == _STRING:
            for _ in range(count):  # each string is length-prefixed: walk them
                need(8)
                (length,) = struct.unpack_from(endian + "Q", data, pos)
                need(8 + length)
                pos += 8 + length
        elif item_type in _SCALARS:
            width = struct.calcsize(_SCALARS[item_type])
            need(count * width)
            pos += count * width
        else:
            raise GGUFError(f"{name}: unsupported array item type {item_type}")

    for _ in range(n_kv):
        key = read_string()
        need(4)
        (value_type,) = struct.unpack_from(endian + "I", data, pos)
        pos += 4
        if value_type == _STRING:
            values[key] = read_string()
        elif value_type == _ARRAY:
            skip_array()
        elif value_type in _SCALARS:
            fmt = endian + _SCALARS[value_type]
            need(struct.calcsize(fmt))
            (values[key],) = struct.unpack_from(fmt, data, pos)
            pos += struct.calcsize(fmt)
        else:
            raise GGUFError(f"{name}: unknown value type {value_type} for {key!r}")
    return values
