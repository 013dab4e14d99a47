"""The monitor's "Session caches" block: whether this server and model can save and restore
session KV caches (and what to do to get the gain), the saved caches with their sizes, and the
last things the cache did. Plain text only (Content): session titles and server words are
untrusted."""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content

from ..chat.slot_cache_types import SavedCache, SlotCacheEvent
from ..chat.slot_support import SlotSupport, Support
from ..format import format_age
from ..sanitize import one_line

SHOWN = 8  # saved caches listed (most recently used first)
EVENTS = 3  # last events shown


def format_size(n_bytes: int) -> str:
    if n_bytes >= 10**9:
        return f"{n_bytes / 1e9:.1f} GB"
    if n_bytes >= 10**5:
        return f"{n_bytes / 1e6:.1f} MB"
    return f"{n_bytes / 1e3:.0f} kB"


def caches_content(
    support: SlotSupport,
    saved: list[SavedCache],
    *,
    title: dict[int, str],
    gain: str,
    max_bytes: int,
    now: float,
    events: Iterable[SlotCacheEvent] = (),
) -> Content:
    """`title`: session id -> title for the saved caches; `gain`: what saving would spare the
    current session (shown when saving is off)."""
    label = ("status      ", "$text-muted")
    parts: list[Content | str | tuple[str, str]] = [label, one_line(support.summary)]
    if support.hint:
        parts += ["\n", ("            ", ""), (one_line(support.hint), "$text-warning")]
    if support.support is Support.OFF and gain:
        parts += ["\n", ("would gain  ", "$text-muted"), one_line(gain)]
    total = sum(c.n_bytes for c in saved)
    limit = f" (limit {max_bytes / 2**20:,.0f} MiB)" if max_bytes > 0 else ""
    parts += ["\n", ("saved       ", "$text-muted"), f"{len(saved)} · {format_size(total)}{limit}"]
    for row in saved[:SHOWN]:
        other = "" if row.this_model else f" · {_short(row.model_name)} (another model)"
        name = _short(title.get(row.session_id, f"session {row.session_id}"))
        parts += [
            "\n  ",
            (f"“{name}”", "$text-accent"),
            f" · {row.n_tokens:,} tokens · {format_size(row.n_bytes)} · used {format_age(now - row.used_at)}{other}",
        ]
    if len(saved) > SHOWN:
        parts += ["\n  ", (f"… {len(saved) - SHOWN} more", "$text-muted")]
    for event in list(events)[-EVENTS:]:
        parts += ["\n", ("last        ", "$text-muted"), one_line(event.message)]
    return Content.assemble(*parts)


def _short(text: str, width: int = 40) -> str:
    line = one_line(text)
    return line if len(line) <= width else line[: width - 1] + "…"
