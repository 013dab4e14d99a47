"""llama-tui's own JSON format: export sessions and import them back.

No Textual here: the CLI, the TUI and the tests share it.

A bundle ``{"schema", "version", "exported_at", "sessions": [...]}``; each session document is
self-describing (it carries ``schema`` and ``version`` too, so one can be cut out and imported
alone) and holds every field of the session and *every* message of its tree, all branches, with
ids numbered 1..n in tree order (depth first, alternatives oldest first) and ``head_id`` mapped
the same way. Export -> import -> export is therefore byte-identical under ``dumps_export``;
timestamps are kept as exported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, get_args

from ..domain import ChatMessage, MessageState, Role, SamplingSettings, Session
from ..knobs import KNOBS_BY_NAME, SettingError, check_value
from ..store import Store
from .fields import Fields, ImportFormatError, at, check_values, kind_of, place

EXPORT_SCHEMA: Final = "llama-tui/session"
EXPORT_VERSION: Final = 1

_ROLES: Final = frozenset(get_args(Role))
_STATES: Final = frozenset(get_args(MessageState))


def tree_order(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Depth first from the roots, each node's children oldest (lowest id) first. A message whose
    parent is missing is treated as a root, so nothing is ever lost."""
    by_id = {m.id: m for m in messages}
    children: dict[int | None, list[ChatMessage]] = {}
    for m in sorted(messages, key=lambda m: m.id or 0):
        parent = m.parent_id if m.parent_id in by_id else None
        children.setdefault(parent, []).append(m)
    ordered: list[ChatMessage] = []
    stack = list(reversed(children.get(None, [])))
    seen: set[int | None] = set()
    while stack:
        m = stack.pop()
        if m.id in seen:
            continue
        seen.add(m.id)
        ordered.append(m)
        stack.extend(reversed(children.get(m.id, [])))
    return ordered


def _message_doc(m: ChatMessage, number: dict[int | None, int]) -> dict[str, Any]:
    return {
        "id": number[m.id],
        "parent_id": None if m.parent_id is None else number.get(m.parent_id),
        "role": m.role,
        "content": m.content,
        "created_at": m.created_at,
        "state": m.state,
        "timings": m.timings,
        "stop_type": m.stop_type,
        "stopping_word": m.stopping_word,
        "truncated": m.truncated,
        "tokens_cached": m.tokens_cached,
        "ttft_ms": m.ttft_ms,
        "settings": m.settings,
        "error": m.error,
        "reasoning": m.reasoning,
        "probs": m.probs,
        "meta": m.meta,
    }


def session_to_json(store: Store, session_id: int) -> dict[str, Any]:
    """One session as a versioned, self-describing document: every session field and every message
    of its tree (all branches), ids numbered 1..n in tree order, head_id mapped the same way.
    StoreNotFound if the session does not exist (or is deleted)."""
    session = store.get_session(session_id)
    ordered = tree_order(store.session_messages(session_id))
    number: dict[int | None, int] = {m.id: i for i, m in enumerate(ordered, 1)}
    return {
        "schema": EXPORT_SCHEMA,
        "version": EXPORT_VERSION,
        "title": session.title,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "template": session.template,
        "system_prompt": session.system_prompt,
        "settings": session.settings.to_dict(),
        "draft": session.draft,
        "pinned": session.pinned,
        "server": session.server,
        "model": session.model,
        "template_options": session.template_options,
        "head_id": None if session.head_id is None else number.get(session.head_id),
        "messages": [_message_doc(m, number) for m in ordered],
    }


def export_sessions_json(
    store: Store | None, ids: Iterable[int] | None = None, *, now: float | None = None
) -> dict[str, Any]:
    """A bundle of session documents: the given sessions in the given order, or (ids=None) every
    session not deleted, oldest first. `now` fixes exported_at (tests). store=None: no store at
    all, an empty bundle."""
    if store is None:
        ids = []
    elif ids is None:
        ids = sorted(s.id for s in store.list_sessions())
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return {
        "schema": EXPORT_SCHEMA,
        "version": EXPORT_VERSION,
        "exported_at": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sessions": [session_to_json(store, sid) for sid in ids] if store is not None else [],
    }


# -- import ---------------------------------------------------------------------------------------


def _check_version(data: dict[str, Any], where: str) -> None:
    schema = data.get("schema")
    if schema is None:
        hint = ""
        if "conv" in data or "messages" in data or data.get("formatName") == "dexie":
            hint = " (it looks like a llama.cpp web UI export: import it as one)"
        raise ImportFormatError(f'{place(where)}not a llama-tui export: there is no "schema" field{hint}')
    if schema != EXPORT_SCHEMA:
        raise ImportFormatError(
            f"{place(where)}not a llama-tui session export (schema {kind_of(schema)}, expected {EXPORT_SCHEMA!r})"
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ImportFormatError(f"{at(where, 'version')}: expected a whole number from 1, found {kind_of(version)}")
    if version > EXPORT_VERSION:
        raise ImportFormatError(
            f"{place(where)}this file was written by a newer llama-tui (export version {version}; this version "
            f"reads up to {EXPORT_VERSION}). Upgrade llama-tui to import it"
        )


def _settings(value: dict[str, Any] | None, where: str) -> SamplingSettings:
    """Known knobs are checked (type and range, as the settings pane does); unknown ones are
    dropped, as SamplingSettings does."""
    checked: dict[str, Any] = {}
    for name, v in (value or {}).items():
        knob = KNOBS_BY_NAME.get(name)
        if knob is None or v is None:
            continue
        if knob.kind not in ("int", "float"):
            try:
                checked[name] = check_value(name, v)
            except SettingError as e:
                raise ImportFormatError(f"{at(where, name)}: {e}") from None
            continue
        ok = isinstance(v, int) if knob.kind == "int" else isinstance(v, int | float)
        if isinstance(v, bool) or not ok or not math.isfinite(v):
            kind = "a whole number" if knob.kind == "int" else "a number"
            raise ImportFormatError(f"{at(where, name)}: expected {kind}, found {kind_of(v)}")
        if knob.minimum is not None and v < knob.minimum:
            raise ImportFormatError(f"{at(where, name)}: {v!r} is below the minimum {knob.minimum:g}")
        if knob.maximum is not None and v > knob.maximum:
            raise ImportFormatError(f"{at(where, name)}: {v!r} is above the maximum {knob.maximum:g}")
        checked[name] = v
    return SamplingSettings.from_dict(checked)


def _insertion_order(messages: list[ChatMessage], where: str) -> list[ChatMessage]:
    """Parents before children (depth first, in document order). Errors for a missing parent or a
    cycle. For a file we wrote this is the document order itself, so ids come back the same."""
    by_id = {m.id: m for m in messages}
    children: dict[int | None, list[ChatMessage]] = {}
    for i, m in enumerate(messages):
        if m.parent_id is not None and m.parent_id not in by_id:
            raise ImportFormatError(f"{at(where, f'messages[{i}].parent_id')}: there is no message {m.parent_id}")
        children.setdefault(m.parent_id, []).append(m)
    ordered: list[ChatMessage] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        m = stack.pop()
        ordered.append(m)
        stack.extend(reversed(children.get(m.id, [])))
    if len(ordered) != len(messages):
        reached = {m.id for m in ordered}
        stuck = next(i for i, m in enumerate(messages) if m.id not in reached)
        raise ImportFormatError(
            f"{at(where, f'messages[{stuck}]')}: its parent_id chain loops and never reaches a first message"
        )
    return ordered


def _parse_message(data: Any, where: str, now: float) -> ChatMessage:
    f = Fields(data, where)
    mid = f.opt_int("id")
    if mid is None:
        raise ImportFormatError(f"{where}: the field 'id' is missing")
    role = f.required_string("role")
    if role not in _ROLES:
        raise ImportFormatError(f"{where}.role: expected one of {', '.join(sorted(_ROLES))}, found {role!r}")
    state = f.string("state", "complete")
    if state not in _STATES:
        raise ImportFormatError(f"{where}.state: expected one of {', '.join(sorted(_STATES))}, found {state!r}")
    probs = f.opt_list("probs")
    if probs is not None and not all(isinstance(p, dict) for p in probs):
        raise ImportFormatError(f"{where}.probs: expected a list of objects")
    return ChatMessage(
        role=role,  # type: ignore[arg-type]  # checked against Role above
        content=f.required_string("content"),
        id=mid,
        parent_id=f.opt_int("parent_id"),
        created_at=f.number("created_at", now),
        state=state,  # type: ignore[arg-type]  # checked against MessageState above
        timings=f.opt_object("timings"),
        stop_type=f.opt_string("stop_type"),
        stopping_word=f.opt_string("stopping_word"),
        truncated=f.boolean("truncated"),
        tokens_cached=f.opt_int("tokens_cached"),
        ttft_ms=f.opt_number("ttft_ms"),
        settings=f.opt_object("settings"),
        error=f.opt_string("error"),
        reasoning=f.opt_string("reasoning"),
        probs=probs,
        meta=f.opt_object("meta"),
    )


def _parse_session(data: Any, where: str) -> tuple[Session, list[ChatMessage]]:
    f = Fields(data, where)
    if "schema" in f.data or "version" in f.data:
        _check_version(f.data, where)
    now = time.time()
    raw_messages = f.data.get("messages", [])
    if not isinstance(raw_messages, list):
        raise f.error("messages", "a list")
    messages = [_parse_message(m, at(where, f"messages[{i}]"), now) for i, m in enumerate(raw_messages)]
    seen: dict[int | None, int] = {}
    for i, m in enumerate(messages):
        if m.id in seen:
            raise ImportFormatError(
                f"{at(where, f'messages[{i}].id')}: {m.id} is also the id of messages[{seen[m.id]}]"
            )
        seen[m.id] = i
    head_id = f.opt_int("head_id")
    if head_id is not None and head_id not in seen:
        raise ImportFormatError(f"{at(where, 'head_id')}: there is no message {head_id}")
    updated = f.number("updated_at", now)
    session = Session(
        title=f.string("title", ""),
        created_at=f.number("created_at", updated),
        updated_at=updated,
        template=f.string("template", "server"),
        system_prompt=f.string("system_prompt", ""),
        settings=_settings(f.opt_object("settings"), at(where, "settings")),
        draft=f.string("draft", ""),
        head_id=head_id,
        pinned=f.boolean("pinned"),
        server=f.opt_string("server"),
        model=f.opt_string("model"),
        template_options=f.opt_object("template_options") or {},
    )
    return session, _insertion_order(messages, where)


def import_json(store: Store, data: Any) -> list[int]:
    """Import a llama-tui export: a bundle (export_sessions_json) or one session document
    (session_to_json). Everything is checked before anything is written; each session is then
    written with fresh ids and its timestamps as exported, all in one transaction (a failure,
    a full disk say, leaves the store as it was: nothing half-imported). Returns the new
    session ids, in document order. ImportFormatError says what is wrong and where."""
    if not isinstance(data, dict):
        raise ImportFormatError(f"not a llama-tui export: expected a JSON object, found {kind_of(data)}")
    check_values(data)
    _check_version(data, "")
    if "sessions" in data:
        sessions = data["sessions"]
        if not isinstance(sessions, list):
            raise ImportFormatError(f"sessions: expected a list, found {kind_of(sessions)}")
        plans = [_parse_session(s, f"sessions[{i}]") for i, s in enumerate(sessions)]
    else:
        plans = [_parse_session(data, "")]
    return insert_all(store, plans)


def insert_all(store: Store, plans: list[tuple[Session, list[ChatMessage]]]) -> list[int]:
    """Write every planned session in one transaction: all of them, or (StoreError) none."""
    return store.import_sessions(plans)
