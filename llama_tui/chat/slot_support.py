"""What saving and restoring session caches can do on this server with this model (pure).

Measured on llama-server b1-0c1e570 (llama-cpp-python 0.3.36); see chat/slot_cache.py:

- llama architecture (full attention): save, server restart, restore, then the same prompt gives
  `cache_n` = prompt tokens - 1 (the last token is always evaluated again) and the same greedy answer.
- Gemma 3 (sliding-window attention, n_swa 512): a restore succeeds (`n_restored` is right) but the
  next completion finds nothing usable and re-processes everything (`cache_n` 0). The server keeps
  only the last n_swa positions of the SWA layers, and a restore drops the context checkpoints that
  let it roll back, so it resets. With `--swa-full` (full-size SWA cache, more KV memory) the
  restored cache is reused exactly like a llama model's. `--ctx-checkpoints` and `--cache-reuse`
  do not help: checkpoints live in RAM only and are cleared by a restore.
- Recurrent or hybrid memories (Mamba, RWKV, LFM2...) are not measured: learned at the first restore.

`assess` turns what is known (is --slot-save-path on, the model's traits, --swa-full, what an
earlier restore showed) into a `SlotSupport`: a state, one line for the monitor, and a hint.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..client.types import Props
from ..gguf_info import ModelTraits


class Support(Enum):
    OFF = "off"  # the server runs without --slot-save-path
    UNAVAILABLE = "unavailable"  # not connected, router mode, or the server would not say
    REUSED = "reused"  # restored caches are reused: the full gain
    UNVERIFIED = "unverified"  # saving works; whether this model reuses a restore is seen at the first one
    NOT_REUSED = "not reused"  # a restore would be re-processed anyway: nothing is saved


@dataclass(frozen=True, slots=True)
class SlotSupport:
    support: Support
    summary: str  # one line for the monitor
    hint: str = ""  # what the user can do to get (more of) the gain; "" when nothing is needed

    @property
    def can_save(self) -> bool:
        return self.support in (Support.REUSED, Support.UNVERIFIED)


UNKNOWN = SlotSupport(Support.UNAVAILABLE, "not checked yet")


def _swa_hint(managed: bool) -> str:
    where = (
        "add --swa-full to [server.launch] args (or --server-arg=--swa-full)"
        if managed
        else ("start llama-server with --swa-full")
    )
    return f"{where}: a full-size sliding-window cache (more KV memory) makes saved session caches usable"


def assess(
    *,
    files_enabled: bool,
    router: bool = False,
    traits: ModelTraits | None = None,
    swa_full: bool | None = None,
    learned_not_reused: bool = False,
    managed: bool = False,
) -> SlotSupport:
    """What session caches can do. `swa_full` is None when the server's flags are unknown
    (an external server); `traits` None when the model file cannot be read here."""
    if router:
        return SlotSupport(Support.UNAVAILABLE, "router mode: session caches are not saved (one server per model)")
    if not files_enabled:
        where = "[server.launch] args" if managed else "llama-server's command line"
        return SlotSupport(
            Support.OFF,
            "off: sessions re-process their whole prompt after a server restart or a cache eviction",
            f"add --slot-save-path DIR to {where} to resume long sessions instantly",
        )
    if learned_not_reused:
        hint = _swa_hint(managed) if traits is None or traits.uses_swa else ""
        summary = "off: the server re-processed a restored cache, so this model's caches are not saved"
        return SlotSupport(Support.NOT_REUSED, summary, hint)
    if traits is not None and traits.uses_swa:
        if swa_full is False:
            return SlotSupport(
                Support.NOT_REUSED,
                f"off: {traits.architecture} uses sliding-window attention ({traits.sliding_window} tokens), "
                "and llama-server re-processes a restored cache of such a model",
                _swa_hint(managed),
            )
        if swa_full is None:
            return SlotSupport(
                Support.UNVERIFIED,
                f"on, unverified: {traits.architecture} uses sliding-window attention; a restore is reused only "
                "if llama-server runs with --swa-full (seen at the first restore)",
                _swa_hint(managed),
            )
    if traits is None or traits.recurrent:
        return SlotSupport(Support.UNVERIFIED, "on: sessions are saved; the first restore shows whether it is reused")
    return SlotSupport(Support.REUSED, "on: long sessions resume without re-processing, even after a restart")


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """Everything that must match for a saved cache to be valid: the model file (path, type and,
    when readable here, size and modification time), the server build, and the slot context."""

    model_path: str
    model_ftype: str
    build_info: str
    n_ctx: int
    file_stamp: str  # "size:mtime_ns" of the model file when readable here, else ""
    name: str

    @classmethod
    def from_props(cls, props: Props, *, local_model: Path | None = None) -> ModelIdentity:
        stamp = ""
        if local_model is not None:
            try:
                st = os.stat(local_model)
                stamp = f"{st.st_size}:{st.st_mtime_ns}"
            except OSError:
                stamp = ""
        ftype = props.raw.get("model_ftype")
        return cls(
            model_path=props.model_path,
            model_ftype=str(ftype) if isinstance(ftype, str | int) else "",
            build_info=props.build_info,
            n_ctx=props.n_ctx,
            file_stamp=stamp,
            name=props.model_name or "model",
        )

    @property
    def key(self) -> str:
        fields = [self.model_path, self.model_ftype, self.build_info, self.n_ctx, self.file_stamp]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def would_gain(n_prompt_tokens: int, prompt_tokens_per_second: float) -> str:
    """What saved caches would spare this session after a restart or an eviction, from its last
    prompt size and the server's prompt speed (for the monitor when saving is off); "" if unknown."""
    if n_prompt_tokens <= 0 or not prompt_tokens_per_second > 0 or prompt_tokens_per_second == float("inf"):
        return ""
    seconds = n_prompt_tokens / prompt_tokens_per_second
    return f"a saved cache would spare re-processing {n_prompt_tokens:,} prompt tokens (about {seconds:.1f} s)"
