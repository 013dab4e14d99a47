"""Typed results of llama-server's slot file actions (`POST /slots/{id}?action=save|restore|erase`).

The server writes and reads the files inside its own `--slot-save-path` directory; the client only
names them. Facts from build b1-0c1e570 (llama-cpp-python 0.3.36):

- save: `{"id_slot", "filename", "n_saved" (tokens), "n_written" (bytes), "timings": {"save_ms"}}`;
  a busy slot is saved once its current task ends (the request waits). An empty slot saves a
  file of a few dozen bytes.
- restore: `{"id_slot", "filename", "n_restored", "n_read", "timings": {"restore_ms"}}`. A refused
  restore (missing file, another layer count or head size, a context too small for it) is a 400
  "Unable to restore slot: ..." and *clears the slot*. A file from another model with the same
  shapes is accepted without a word: only the caller can tell (keep a record of what you saved).
- erase: `{"id_slot", "n_erased"}`.
- Without `--slot-save-path` every action is a 501 `not_supported_error` (NotSupported). A slot id
  past the last slot wraps around (id % total_slots); a bad filename is a 400 "Invalid filename".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, ProtocolError

# What llama-server's fs_validate_filename refuses, checked here first so a bad name never leaves
# the client: path separators and the characters Windows forbids, control characters, surrogates,
# U+FFFD and the BOM.
_FORBIDDEN = frozenset('/\\:*?"<>|\ufffd\ufeff\uff0e\u2215\u2216')
MAX_FILENAME = 255


class SlotFileRefused(BadRequest):
    """The server refused a slot file action (a 400): the file is missing or does not fit this
    model and context (restore), or the name is not allowed. A refused restore leaves the slot empty."""


def check_filename(filename: str) -> str:
    """`filename` if llama-server would accept it as a slot file name; ValueError says why not."""
    bad = [c for c in filename if c in _FORBIDDEN or _is_control_or_surrogate(ord(c))]
    if bad:
        raise ValueError(f"a slot file name cannot contain {bad[0]!r}")
    if not filename or len(filename.encode()) > MAX_FILENAME:
        raise ValueError(f"a slot file name needs 1 to {MAX_FILENAME} bytes")
    # Windows strips a leading/trailing space and a trailing dot; the server refuses them, and "..".
    if filename[0] == " " or filename[-1] in " ." or ".." in filename:
        raise ValueError(f"not a usable slot file name: {filename!r}")
    return filename


def _is_control_or_surrogate(code: int) -> bool:
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def check_slot_id(id_slot: int) -> int:
    if isinstance(id_slot, bool) or not isinstance(id_slot, int) or id_slot < 0:
        raise ValueError(f"a slot id is a whole number from 0, not {id_slot!r}")
    return id_slot


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"slot action answer has no valid {key!r}: {str(data)[:200]}")
    return value


def _ms(data: dict[str, Any], key: str) -> float:
    timings = data.get("timings")
    value = timings.get(key) if isinstance(timings, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0.0 or value == float("inf"):
        return 0.0  # only informative: a missing or odd timing is not worth failing the action for
    return float(value)


def _object(data: Any, action: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"slot {action} answer is not a JSON object: {str(data)[:200]}")
    return data


@dataclass(frozen=True, slots=True)
class SlotSaved:
    """A slot's KV cache written to `filename` in the server's --slot-save-path directory."""

    id_slot: int
    filename: str
    n_saved: int  # tokens in the file
    n_written: int  # bytes
    save_ms: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> SlotSaved:
        d = _object(data, "save")
        return cls(
            _count(d, "id_slot"), str(d.get("filename", "")), _count(d, "n_saved"), _count(d, "n_written"),
            _ms(d, "save_ms"), d,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SlotRestored:
    """A slot's KV cache read back from `filename`: the slot now holds `n_restored` tokens."""

    id_slot: int
    filename: str
    n_restored: int
    n_read: int  # bytes
    restore_ms: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> SlotRestored:
        d = _object(data, "restore")
        return cls(
            _count(d, "id_slot"), str(d.get("filename", "")), _count(d, "n_restored"), _count(d, "n_read"),
            _ms(d, "restore_ms"), d,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SlotErased:
    """A slot's KV cache dropped (the file, if any, is untouched)."""

    id_slot: int
    n_erased: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> SlotErased:
        d = _object(data, "erase")
        return cls(_count(d, "id_slot"), _count(d, "n_erased"), d)
