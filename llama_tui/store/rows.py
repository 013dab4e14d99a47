"""Mapping between SQLite rows and the domain types, and the row-level inserts."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from typing import Any, Final, get_args

from ..domain import ChatMessage, MessageState, Role, SamplingSettings, Session, SessionSummary

_ROLES: Final = frozenset(get_args(Role))
_STATES: Final = frozenset(get_args(MessageState))

MESSAGE_COLUMNS: Final = (
    "id, session_id, parent_id, role, content, created_at, state, timings_json, stop_type, stopping_word, "
    "truncated, tokens_cached, ttft_ms, settings_json, error, reasoning, probs_json, meta_json"
)
SESSION_COLUMNS: Final = (
    "id, title, created_at, updated_at, template, system_prompt, settings_json, draft, head_id, pinned, server, model, "
    "options_json"
)
MESSAGE_COUNT: Final = "(SELECT count(*) FROM messages m WHERE m.session_id = s.id)"


@dataclass(frozen=True, slots=True)
class SessionStamp:
    """What changes when a session changes: its revision (every content write adds one) and
    whether it is in the trash."""

    revision: int
    deleted_at: float | None


@dataclass(frozen=True, slots=True)
class TrashedSession:
    """A session in the trash, for a list to restore from."""

    id: int
    title: str
    deleted_at: float
    updated_at: float
    message_count: int


def dumps(value: Any) -> str | None:
    """JSON text for a column. NaN and Infinity (which a broken server can send) are stored as
    null: JSON has no such numbers, and an export must stay importable."""
    if value is None:
        return None
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _stored_int(text: str) -> int | None:
    # Digits are counted before converting: a 5,000-digit integer would not even convert.
    return int(text) if len(text.lstrip("-")) <= 18 else None


def loads_figures(text: str | None) -> Any:
    """`loads` for the small objects the UI computes with (timings, settings): NaN, Infinity and
    integers too large for a float (which an older llama-tui could import) read as null, so that
    showing them can never raise."""
    if text is None:
        return None
    return json.loads(text, parse_constant=lambda _: None, parse_float=_finite_float, parse_int=_stored_int)


def casefold(text: str | None) -> str:
    return text.casefold() if text else ""


def fts_query(text: str) -> str | None:
    """User text -> a safe FTS5 query: every word a quoted string (so punctuation and FTS syntax
    are just text), all required, the last one matched as a prefix for search-as-you-type."""
    terms = ['"' + t.replace('"', '""') + '"' for t in text.split() if any(ch.isalnum() for ch in t)]
    if not terms:
        return None
    terms[-1] += "*"
    return " ".join(terms)


def like_snippet(content: str, terms: list[str], start: str, end: str, width: int = 60) -> str:
    lower = content.casefold()
    hits = [(i, t) for t in terms if (i := lower.find(t.casefold())) >= 0]
    at, term = min(hits) if hits else (0, "")
    lo, hi = max(0, at - width // 2), min(len(content), at + len(term) + width // 2)
    middle = content[at : at + len(term)]
    text = content[lo:at] + start + middle + end + content[at + len(term) : hi] if term else content[lo:hi]
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(content) else "")


def message_from_row(row: sqlite3.Row) -> ChatMessage:
    return ChatMessage(
        role=row["role"],
        content=row["content"],
        id=row["id"],
        session_id=row["session_id"],
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        state=row["state"],
        timings=loads_figures(row["timings_json"]),
        stop_type=row["stop_type"],
        stopping_word=row["stopping_word"],
        truncated=bool(row["truncated"]),
        tokens_cached=row["tokens_cached"],
        ttft_ms=row["ttft_ms"],
        settings=loads_figures(row["settings_json"]),
        error=row["error"],
        reasoning=row["reasoning"],
        probs=loads(row["probs_json"]),
        meta=loads(row["meta_json"]),
    )


def session_from_row(row: sqlite3.Row) -> Session:
    return Session(
        title=row["title"],
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        template=row["template"],
        system_prompt=row["system_prompt"],
        settings=SamplingSettings.from_dict(loads(row["settings_json"])),
        draft=row["draft"],
        head_id=row["head_id"],
        pinned=bool(row["pinned"]),
        server=row["server"],
        model=row["model"],
        template_options=loads(row["options_json"]) or {},
    )


def summary_from_row(row: sqlite3.Row) -> SessionSummary:
    return SessionSummary(
        id=row["s_id"],
        title=row["s_title"],
        updated_at=row["s_updated_at"],
        pinned=bool(row["s_pinned"]),
        message_count=row["s_count"],
    )


def message_values(m: ChatMessage) -> tuple[Any, ...]:
    """The mutable message columns, in the order used by update_message (and inserts)."""
    return (
        m.content,
        m.state,
        dumps(m.timings),
        m.stop_type,
        m.stopping_word,
        int(m.truncated),
        m.tokens_cached,
        m.ttft_ms,
        dumps(m.settings),
        m.error,
        m.reasoning,
        dumps(m.probs),
        dumps(m.meta),
    )


def insert_session(conn: sqlite3.Connection, session: Session, created: float, updated: float) -> int:
    cur = conn.execute(
        "INSERT INTO sessions (title, created_at, updated_at, template, system_prompt, settings_json, "
        "draft, head_id, pinned, server, model, options_json) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
        (
            session.title,
            created,
            updated,
            session.template,
            session.system_prompt,
            dumps(session.settings.to_dict()),
            session.draft,
            int(session.pinned),
            session.server,
            session.model,
            dumps(session.template_options),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def insert_message(
    conn: sqlite3.Connection, m: ChatMessage, session_id: int, parent_id: int | None, created: float
) -> int:
    cur = conn.execute(
        "INSERT INTO messages (content, state, timings_json, stop_type, stopping_word, truncated, "
        "tokens_cached, ttft_ms, settings_json, error, reasoning, probs_json, meta_json, session_id, parent_id, role, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*message_values(m), session_id, parent_id, m.role, created),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def check_message(m: ChatMessage) -> None:
    if m.role not in _ROLES:
        raise ValueError(f"unknown message role {m.role!r}")
    if m.state not in _STATES:
        raise ValueError(f"unknown message state {m.state!r}")
