"""Full-text search over every session's messages: FTS5 where the SQLite build has it, else LIKE."""

from __future__ import annotations

import sqlite3

from ..domain import ChatMessage, SessionSummary
from .rows import MESSAGE_COLUMNS, MESSAGE_COUNT, fts_query, like_snippet, message_from_row, summary_from_row


def search_messages(
    conn: sqlite3.Connection, query: str, limit: int, highlight: tuple[str, str], *, fts: bool
) -> list[tuple[SessionSummary, ChatMessage, str]]:
    """Messages (of sessions not deleted) containing every word of `query`, best match first,
    each with its session and a one-line snippet; matches are wrapped in `highlight`."""
    summary_cols = (
        f"s.id AS s_id, s.title AS s_title, s.updated_at AS s_updated_at, s.pinned AS s_pinned, "
        f"{MESSAGE_COUNT} AS s_count"
    )
    message_cols = ", ".join(f"msg.{c.strip()} AS {c.strip()}" for c in MESSAGE_COLUMNS.split(","))
    start, end = highlight
    if fts:
        match = fts_query(query)
        if match is None:
            return []
        sql = f"""
            SELECT {summary_cols}, {message_cols},
                   snippet(messages_fts, 0, :start, :end, '…', 16) AS snip
            FROM messages_fts
            JOIN messages msg ON msg.id = messages_fts.rowid
            JOIN sessions s ON s.id = msg.session_id
            WHERE messages_fts MATCH :q AND s.deleted_at IS NULL
            ORDER BY messages_fts.rank, msg.id DESC LIMIT :limit
        """
        rows = conn.execute(sql, {"q": match, "start": start, "end": end, "limit": limit}).fetchall()
        return [(summary_from_row(r), message_from_row(r), " ".join(r["snip"].split())) for r in rows]
    terms = [t for t in query.split() if t]
    if not terms:
        return []
    escaped = ["%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for t in terms]
    where = " AND ".join("msg.content LIKE ? ESCAPE '\\'" for _ in terms)
    sql = f"""
        SELECT {summary_cols}, {message_cols} FROM messages msg JOIN sessions s ON s.id = msg.session_id
        WHERE {where} AND s.deleted_at IS NULL ORDER BY msg.id DESC LIMIT ?
    """
    rows = conn.execute(sql, (*escaped, limit)).fetchall()
    return [
        (summary_from_row(r), message_from_row(r), " ".join(like_snippet(r["content"], terms, start, end).split()))
        for r in rows
    ]
