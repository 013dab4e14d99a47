"""Markdown export of a session: the active path (or every branch), verbatim, with figures."""

from __future__ import annotations

from typing import Final

from ..domain import ChatMessage
from ..format import format_timings
from ..sanitize import one_line
from ..store import Store
from .json_format import tree_order

_ROLE_LABELS: Final = {"user": "You", "assistant": "Assistant", "system": "System"}


def _figures(m: ChatMessage) -> str:
    return format_timings(m.timings, m.stop_type, m.ttft_ms, truncated=m.truncated)


def _markdown_message(m: ChatMessage, heading: str, include_reasoning: bool) -> list[str]:
    parts = [heading]
    if include_reasoning and m.reasoning:
        quoted = "\n".join("> " + line if line else ">" for line in m.reasoning.split("\n"))
        parts.append("> **Reasoning**\n>\n" + quoted)
    if m.content:
        parts.append(m.content)
    if m.state == "error":
        parts.append(f"**Error:** {m.error or 'the generation failed'}")
    elif m.state in ("interrupted", "streaming"):
        parts.append("*(interrupted)*")
    if m.role == "assistant" and (figures := _figures(m)):
        parts.append(f"*{figures}*")
    return parts


def session_to_markdown(
    store: Store, session_id: int, *, all_branches: bool = False, include_reasoning: bool = False
) -> str:
    """The session as Markdown: the title as heading, the system prompt, then each message of the
    active path as a "### You" / "### Assistant" section with its content verbatim and, under
    answers, the figures line. all_branches=True writes the whole tree instead, depth first, each
    alternative labelled "alternative i of n" (the shown one marked "shown")."""
    session = store.get_session(session_id)
    parts = [f"# {one_line(session.title) or 'Untitled'}"]
    if session.system_prompt.strip():
        parts += ["## System prompt", session.system_prompt]
    path = store.active_path(session_id)
    if not all_branches:
        for m in path:
            parts += _markdown_message(m, f"### {_ROLE_LABELS.get(m.role, m.role)}", include_reasoning)
    else:
        on_path = {m.id for m in path}
        ordered = tree_order(store.session_messages(session_id))
        siblings: dict[int | None, list[int | None]] = {}
        known = {m.id for m in ordered}
        for m in sorted(ordered, key=lambda m: m.id or 0):
            siblings.setdefault(m.parent_id if m.parent_id in known else None, []).append(m.id)
        for m in ordered:
            group = siblings[m.parent_id if m.parent_id in known else None]
            heading = f"### {_ROLE_LABELS.get(m.role, m.role)}"
            if len(group) > 1:
                shown = ", shown" if m.id in on_path else ""
                heading += f" (alternative {group.index(m.id) + 1} of {len(group)}{shown})"
            parts += _markdown_message(m, heading, include_reasoning)
    return "\n\n".join(parts) + "\n"
