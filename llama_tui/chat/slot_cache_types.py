"""What SlotCache (chat/slot_cache.py) hands back: the slot to use, how a restore went, saved
caches for the monitor, and quiet events. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EventKind(Enum):
    SAVED = "saved"
    RESTORED = "restored"
    REUSED = "reused"
    NOT_REUSED = "not reused"
    SAVE_FAILED = "save failed"
    RESTORE_FAILED = "restore failed"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class SlotCacheEvent:
    """Something the user may want to know, quietly (a log line or a short notification)."""

    kind: EventKind
    session_id: int | None
    message: str  # one line of plain text
    n_tokens: int = 0
    n_bytes: int = 0
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """What prepare() did: send the request to `slot` (None: as before, the server picks)."""

    slot: int | None
    restored: int = 0  # tokens put back into the slot from a file; 0 if nothing was restored
    restore_ms: float = 0.0
    expected: int = 0  # prompt tokens the next completion should find cached thanks to the restore


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """How a restore turned out, known once the answer's timings are in."""

    restored: int
    cache_n: int  # prompt tokens the server did not have to process
    reused: bool

    @property
    def footer(self) -> str:
        if self.reused:
            return f"cache restored: {self.cache_n:,} prompt tokens not re-processed"
        return "restored cache not reused by the server: prompt processed again"


@dataclass(frozen=True, slots=True)
class SavedCache:
    """One saved session cache, for the monitor."""

    session_id: int
    model_name: str
    n_tokens: int
    n_bytes: int
    used_at: float
    this_model: bool  # saved for the model the server runs now
