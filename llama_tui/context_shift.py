"""What llama-server does when a conversation fills the context, in words for the context meter and
the settings pane (n_keep, n_discard). Checked against b1-0c1e570's server-context.cpp: context
shift is off unless the server runs with --context-shift; then, when generation reaches n_ctx, it
keeps the first n_keep prompt tokens (-1: the whole prompt; plus BOS), drops the next n_discard
(0: half of what is left) and goes on. A prompt that does not fit is refused either way. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def context_fill_note(used: int | None, n_ctx: int, n_keep: int, n_discard: int) -> str:
    """E.g. "3,900 of 4,096 tokens used: 196 left for the answer. When the context fills, ..."."""
    parts: list[str] = []
    if used is not None and n_ctx > 0:
        left = max(0, n_ctx - used)
        parts.append(f"{used:,} of {n_ctx:,} tokens used: {left:,} left for the answer.")
    if n_keep < 0:
        kept = "the whole prompt"
    elif n_keep == 0:
        kept = "only the BOS token (n_keep 0: the system prompt goes first)"
    else:
        kept = f"the first {n_keep:,} tokens"
    dropped = f"the next {n_discard:,} tokens" if n_discard > 0 else "half of the rest"
    parts.append(
        "When the context fills, llama-server ends the answer there (stop: limit). Only if it runs with "
        f"--context-shift does it go on: it keeps {kept}, drops {dropped} (the oldest turns) and continues."
    )
    return " ".join(parts)


def session_fill_note(values: Mapping[str, Any], defaults: Mapping[str, Any], used: int | None, n_ctx: int) -> str:
    """`context_fill_note` with a session's n_keep and n_discard (else the server's defaults)."""

    def pick(name: str) -> int:
        value = values.get(name)
        value = defaults.get(name, 0) if value is None else value
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return context_fill_note(used, n_ctx, pick("n_keep"), pick("n_discard"))
