"""Mapping between SQLite rows and the domain types, and the row-level inserts."""

from __future__ import annotations

import json
import sqlite3
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


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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
        timings=loads(row["timings_json"]),
        stop_type=row["stop_type"],
        stopping_word=row["stopping_word"],
        truncated=bool(row["truncated"]),
        tokens_cached=row["tokens_cached"],
        ttft_ms=row["ttft_ms"],
        settings=loads(row["settings_json"]),
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
