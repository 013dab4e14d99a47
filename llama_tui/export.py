"""Export sessions (versioned JSON, Markdown) and import them back, or from the llama.cpp web UI.

No Textual here: the CLI, the TUI and the tests share it.

llama-tui's own format (``EXPORT_SCHEMA``, ``EXPORT_VERSION``)
---------------------------------------------------------------
A bundle ``{"schema", "version", "exported_at", "sessions": [...]}``; each session document is
self-describing (it carries ``schema`` and ``version`` too, so one can be cut out and imported
alone) and holds every field of the session and *every* message of its tree, all branches, with
ids numbered 1..n in tree order (depth first, alternatives oldest first) and ``head_id`` mapped
the same way. Export -> import -> export is therefore byte-identical under ``dumps_export``;
timestamps are kept as exported.

llama.cpp web UI exports (``import_llamacpp_webui``)
----------------------------------------------------
Shapes read from ggml-org/llama.cpp ``tools/server/webui``:

* Svelte UI (current): ``src/lib/types/database.d.ts`` defines ``ExportedConversation =
  {conv: DatabaseConversation, messages: DatabaseMessage[]}`` and ``ExportedConversations`` as one
  of those or a list. ``downloadConversationFile`` (``src/lib/utils/conversation-utils.ts``) writes
  ``JSON.stringify(data, null, 2)``; the settings "Export conversations" tab
  (``SettingsChatImportExportTab.svelte``) exports a list with every message of each conversation,
  the per-conversation download a single object; ``importConversations``
  (``src/lib/stores/conversations.svelte.ts``) accepts both. ``DatabaseConversation = {id, name, lastModified
  (ms), currNode, pinned?, forkedFromConversationId?, ...}``; ``DatabaseMessage = {id, convId,
  type ('root' | 'system' | 'text'), timestamp (ms), role ('user' | 'assistant' | 'system' |
  'tool'), content, parent (null for the root), children, thinking? (deprecated),
  reasoningContent?, toolCalls?, extra? (attachments), timings? {cache_n, prompt_n, prompt_ms,
  predicted_n, predicted_ms}, model?}``. Every conversation has one invisible ``type: 'root'`` node
  (``DatabaseService.createRootMessage``); the system prompt, when set, is a ``type: 'system'``
  child of it. ``currNode`` is the end of the shown path; when it is empty or unknown the UI shows
  the path to the newest message (``filterByLeafNodeId``), and so do we.
* React UI (2025): same Dexie tables (``src/utils/storage.ts``), numeric ``Date.now()`` message
  ids, root ``parent: -1``; its "export DB" is a dexie-export-import file
  (``{"formatName": "dexie", "data": {"data": [{"tableName", "rows"}]}}``), also read here.
* Vue UI (2024, ``examples/server/webui/src/main.js`` ``downloadConv``): the localStorage object
  ``{id: "conv-<ms>", lastModified, messages: [{id: <ms>, role, content, timings?}]}``, a linear
  chat with no root and no system message; a list of those is accepted too.

Web UI messages with other roles ("tool") are skipped and their children attached to the nearest
kept ancestor; text attachments (``extra[].content``) are appended to the message text, binary
ones (images, audio) are dropped.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, get_args

from .domain import KNOBS_BY_NAME, Message, MessageState, Role, SamplingSettings, Session, default_title
from .format import format_timings
from .sanitize import one_line
from .store import Store

__all__ = [
    "EXPORT_SCHEMA",
    "EXPORT_VERSION",
    "ImportFormatError",
    "dumps_export",
    "export_sessions_json",
    "import_any",
    "import_json",
    "import_llamacpp_webui",
    "read_import_file",
    "session_to_json",
    "session_to_markdown",
    "write_export",
]

EXPORT_SCHEMA: Final = "llama-tui/session"
EXPORT_VERSION: Final = 1

_ROLES: Final = frozenset(get_args(Role))
_STATES: Final = frozenset(get_args(MessageState))
_ROLE_LABELS: Final = {"user": "You", "assistant": "Assistant", "system": "System"}


class ImportFormatError(ValueError):
    """The data is not something we can import; the message says where and what, in plain words."""


# -- serialisation ------------------------------------------------------------------------------


def dumps_export(data: Mapping[str, Any]) -> str:
    """The canonical text of an export document (what write_export writes, minus the final newline)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2)


def write_export(path: Path | str, data: Mapping[str, Any] | str) -> Path:
    """Write an export atomically: a temporary file in the same folder, flushed to disk, then renamed
    over `path` (a crash leaves the old file or the new one, never half of one). A dict is written
    as canonical JSON, a str (Markdown) as is; UTF-8, ending in a newline. A new file is private to
    the user (0600: chats are personal); an existing file keeps its permissions."""
    target = Path(path).expanduser()
    text = (data if isinstance(data, str) else dumps_export(data)).rstrip("\n") + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        try:
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return target
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
    return target


def read_import_file(path: Path | str) -> Any:
    """Parse a JSON file to import; ImportFormatError (naming the file, line and column) if it is
    not JSON. OSError (missing, unreadable) passes through."""
    p = Path(path).expanduser()
    raw = p.read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ImportFormatError(f"{p}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ImportFormatError(f"{p}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None


# -- store access -------------------------------------------------------------------------------


def _tree_order(messages: Sequence[Message]) -> list[Message]:
    """Depth first from the roots, each node's children oldest (lowest id) first. A message whose
    parent is missing is treated as a root, so nothing is ever lost."""
    by_id = {m.id: m for m in messages}
    children: dict[int | None, list[Message]] = {}
    for m in sorted(messages, key=lambda m: m.id or 0):
        parent = m.parent_id if m.parent_id in by_id else None
        children.setdefault(parent, []).append(m)
    ordered: list[Message] = []
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


def _message_doc(m: Message, number: dict[int | None, int]) -> dict[str, Any]:
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
    }


def session_to_json(store: Store, session_id: int) -> dict[str, Any]:
    """One session as a versioned, self-describing document: every session field and every message
    of its tree (all branches), ids numbered 1..n in tree order, head_id mapped the same way.
    StoreNotFound if the session does not exist (or is deleted)."""
    session = store.get_session(session_id)
    ordered = _tree_order(store.session_messages(session_id))
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
        "head_id": None if session.head_id is None else number.get(session.head_id),
        "messages": [_message_doc(m, number) for m in ordered],
    }


def export_sessions_json(store: Store, ids: Iterable[int] | None = None, *, now: float | None = None) -> dict[str, Any]:
    """A bundle of session documents: the given sessions in the given order, or (ids=None) every
    session not deleted, oldest first. `now` fixes exported_at (tests)."""
    if ids is None:
        ids = sorted(s.id for s in store.list_sessions())
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return {
        "schema": EXPORT_SCHEMA,
        "version": EXPORT_VERSION,
        "exported_at": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sessions": [session_to_json(store, sid) for sid in ids],
    }


# -- llama-tui JSON: import ---------------------------------------------------------------------


def _clean_text(text: str) -> str:
    """Lone surrogates (legal in JSON escapes, not in UTF-8) become U+FFFD so SQLite can store them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    return value


def _at(where: str, key: str) -> str:
    """A place in the file: "sessions[0].messages[2].role", or just "version" at the top."""
    return f"{where}.{key}" if where else key


def _in(where: str) -> str:
    return f"{where}: " if where else ""


class _Fields:
    """Typed reads from one JSON object, with errors that name the field's place in the file."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ImportFormatError(f"{_in(where)}expected an object, found {_kind(data)}")
        self.data: dict[str, Any] = data
        self.where = where

    def error(self, key: str, expected: str) -> ImportFormatError:
        return ImportFormatError(f"{_at(self.where, key)}: expected {expected}, found {_kind(self.data[key])}")

    def required_string(self, key: str) -> str:
        if key not in self.data:
            raise ImportFormatError(f"{_in(self.where)}the field {key!r} is missing")
        value = self.data[key]
        if not isinstance(value, str):
            raise self.error(key, "a string")
        return _clean_text(value)

    def string(self, key: str, default: str) -> str:
        return default if self.data.get(key) is None else self.required_string(key)

    def opt_string(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.required_string(key)

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, "a finite number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key, 0.0)

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "a whole number or null")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "true or false")
        return value

    def opt_object(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, "an object or null")
        result: dict[str, Any] = _clean_json(value)
        return result

    def opt_list(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.error(key, "a list or null")
        result: list[Any] = _clean_json(value)
        return result


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_version(data: dict[str, Any], where: str) -> None:
    schema = data.get("schema")
    if schema is None:
        hint = ""
        if "conv" in data or "messages" in data or data.get("formatName") == "dexie":
            hint = " (it looks like a llama.cpp web UI export: import it as one)"
        raise ImportFormatError(f'{_in(where)}not a llama-tui export: there is no "schema" field{hint}')
    if schema != EXPORT_SCHEMA:
        raise ImportFormatError(
            f"{_in(where)}not a llama-tui session export (schema {_kind(schema)}, expected {EXPORT_SCHEMA!r})"
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ImportFormatError(f"{_at(where, 'version')}: expected a whole number from 1, found {_kind(version)}")
    if version > EXPORT_VERSION:
        raise ImportFormatError(
            f"{_in(where)}this file was written by a newer llama-tui (export version {version}; this version "
            f"reads up to {EXPORT_VERSION}). Upgrade llama-tui to import it"
        )


def _settings(value: dict[str, Any] | None, where: str) -> SamplingSettings:
    """Known knobs are checked (type and range); unknown ones are dropped, as SamplingSettings does."""
    for name, v in (value or {}).items():
        knob = KNOBS_BY_NAME.get(name)
        if knob is None or v is None:
            continue
        if knob.kind is list:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ImportFormatError(f"{_at(where, name)}: expected a list of strings, found {_kind(v)}")
            continue
        ok = isinstance(v, int) if knob.kind is int else isinstance(v, int | float)
        if isinstance(v, bool) or not ok or not math.isfinite(v):
            kind = "a whole number" if knob.kind is int else "a number"
            raise ImportFormatError(f"{_at(where, name)}: expected {kind}, found {_kind(v)}")
        if knob.minimum is not None and v < knob.minimum:
            raise ImportFormatError(f"{_at(where, name)}: {v!r} is below the minimum {knob.minimum:g}")
        if knob.maximum is not None and v > knob.maximum:
            raise ImportFormatError(f"{_at(where, name)}: {v!r} is above the maximum {knob.maximum:g}")
    return SamplingSettings.from_dict(value)


def _insertion_order(messages: list[Message], where: str) -> list[Message]:
    """Parents before children (depth first, in document order). Errors for a missing parent or a
    cycle. For a file we wrote this is the document order itself, so ids come back the same."""
    by_id = {m.id: m for m in messages}
    children: dict[int | None, list[Message]] = {}
    for i, m in enumerate(messages):
        if m.parent_id is not None and m.parent_id not in by_id:
            raise ImportFormatError(f"{_at(where, f'messages[{i}].parent_id')}: there is no message {m.parent_id}")
        children.setdefault(m.parent_id, []).append(m)
    ordered: list[Message] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        m = stack.pop()
        ordered.append(m)
        stack.extend(reversed(children.get(m.id, [])))
    if len(ordered) != len(messages):
        reached = {m.id for m in ordered}
        stuck = next(i for i, m in enumerate(messages) if m.id not in reached)
        raise ImportFormatError(
            f"{_at(where, f'messages[{stuck}]')}: its parent_id chain loops and never reaches a first message"
        )
    return ordered


def _parse_message(data: Any, where: str, now: float) -> Message:
    f = _Fields(data, where)
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
    return Message(
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
    )


def _parse_session(data: Any, where: str) -> tuple[Session, list[Message]]:
    f = _Fields(data, where)
    if "schema" in f.data or "version" in f.data:
        _check_version(f.data, where)
    now = time.time()
    raw_messages = f.data.get("messages", [])
    if not isinstance(raw_messages, list):
        raise f.error("messages", "a list")
    messages = [_parse_message(m, _at(where, f"messages[{i}]"), now) for i, m in enumerate(raw_messages)]
    seen: dict[int | None, int] = {}
    for i, m in enumerate(messages):
        if m.id in seen:
            raise ImportFormatError(
                f"{_at(where, f'messages[{i}].id')}: {m.id} is also the id of messages[{seen[m.id]}]"
            )
        seen[m.id] = i
    head_id = f.opt_int("head_id")
    if head_id is not None and head_id not in seen:
        raise ImportFormatError(f"{_at(where, 'head_id')}: there is no message {head_id}")
    updated = f.number("updated_at", now)
    session = Session(
        title=f.string("title", ""),
        created_at=f.number("created_at", updated),
        updated_at=updated,
        template=f.string("template", "server"),
        system_prompt=f.string("system_prompt", ""),
        settings=_settings(f.opt_object("settings"), _at(where, "settings")),
        draft=f.string("draft", ""),
        head_id=head_id,
        pinned=f.boolean("pinned"),
        server=f.opt_string("server"),
        model=f.opt_string("model"),
    )
    return session, _insertion_order(messages, where)


def import_json(store: Store, data: Any) -> list[int]:
    """Import a llama-tui export: a bundle (export_sessions_json) or one session document
    (session_to_json). Everything is checked before anything is written; each session is then
    written in one transaction with fresh ids and its timestamps as exported. Returns the new
    session ids, in document order. ImportFormatError says what is wrong and where."""
    if not isinstance(data, dict):
        raise ImportFormatError(f"not a llama-tui export: expected a JSON object, found {_kind(data)}")
    _check_version(data, "")
    if "sessions" in data:
        sessions = data["sessions"]
        if not isinstance(sessions, list):
            raise ImportFormatError(f"sessions: expected a list, found {_kind(sessions)}")
        plans = [_parse_session(s, f"sessions[{i}]") for i, s in enumerate(sessions)]
    else:
        plans = [_parse_session(data, "")]
    return _insert_all(store, plans)


def _insert_all(store: Store, plans: list[tuple[Session, list[Message]]]) -> list[int]:
    ids: list[int] = []
    for session, messages in plans:
        new = store.import_session(session, messages)
        assert new.id is not None
        ids.append(new.id)
    return ids


def import_any(store: Store, data: Any) -> list[int]:
    """Import a parsed file of either kind: a llama-tui export (it has a "schema" field) or a
    llama.cpp web UI export."""
    if isinstance(data, dict) and "schema" in data:
        return import_json(store, data)
    return import_llamacpp_webui(store, data)


# -- llama.cpp web UI import --------------------------------------------------------------------


@dataclass
class _Node:
    key: str
    index: int  # position in the file: the tie-breaker for equal timestamps
    parent: str | None
    data: dict[str, Any]
    timestamp: float  # seconds
    kept: bool


def _ms(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) / 1000.0


def _node_key(value: Any) -> str | None:
    """Web UI ids are strings (Svelte) or numbers (React, Vue); the React root's parent is -1."""
    if value is None or value == -1 or value == "":
        return None
    return json.dumps(value)


# (conversation object, its messages, where the conversation is, where its messages list is)
_WebuiItem = tuple[Any, Any, str, str]


def _webui_items(data: Any) -> list[_WebuiItem]:
    """Each conversation in any of the known shapes."""
    if isinstance(data, dict):
        if data.get("formatName") == "dexie":
            return _dexie_items(data)
        if "conv" in data:
            return [(data["conv"], data.get("messages"), "conv", "messages")]
        if "messages" in data:
            return [(data, data["messages"], "", "messages")]
    elif isinstance(data, list):
        items: list[_WebuiItem] = []
        for i, item in enumerate(data):
            if isinstance(item, dict) and "conv" in item:
                items.append((item["conv"], item.get("messages"), f"[{i}].conv", f"[{i}].messages"))
            elif isinstance(item, dict) and "messages" in item:
                items.append((item, item["messages"], f"[{i}]", f"[{i}].messages"))
            else:
                raise ImportFormatError(f'[{i}]: not a web UI conversation (it has no "conv" or "messages")')
        return items
    raise ImportFormatError(
        'not a llama.cpp web UI export: expected {"conv": ..., "messages": [...]}, a list of those, '
        f'or a conversation with "messages"; found {_kind(data)}'
    )


def _dexie_items(data: dict[str, Any]) -> list[_WebuiItem]:
    inner = data.get("data")
    tables = inner.get("data") if isinstance(inner, dict) else None
    if not isinstance(tables, list):
        raise ImportFormatError("data.data: expected the list of tables of a Dexie database export")
    rows: dict[str, list[Any]] = {}
    for table in tables:
        if isinstance(table, dict) and isinstance(table.get("rows"), list):
            rows[str(table.get("tableName"))] = table["rows"]
    by_conv: dict[str, list[Any]] = {}
    for m in rows.get("messages", []):
        if isinstance(m, dict):
            by_conv.setdefault(json.dumps(m.get("convId")), []).append(m)
    return [
        (conv, by_conv.get(json.dumps(conv.get("id")), []), f"conversations[{i}]", f"conversations[{i}] messages")
        for i, conv in enumerate(rows.get("conversations", []))
        if isinstance(conv, dict)
    ]


def _webui_timings(raw: dict[str, Any]) -> dict[str, Any]:
    """The web UI keeps only the counts and times; add the speeds llama-server reports, so the
    figures line reads the same as for answers generated here."""
    t = dict(raw)
    for part in ("prompt", "predicted"):
        n, ms = t.get(f"{part}_n"), t.get(f"{part}_ms")
        if f"{part}_per_second" not in t and isinstance(n, int | float) and isinstance(ms, int | float) and ms > 0:
            t[f"{part}_per_second"] = n / ms * 1000.0
    return t


def _webui_content(f: _Fields) -> str:
    content = f.data.get("content")
    text = "" if content is None else content
    if not isinstance(text, str):
        raise f.error("content", "a string")
    parts = [_clean_text(text)]
    extra = f.data.get("extra")
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict) and isinstance(item.get("content"), str) and item["content"]:
            name = item["name"] if isinstance(item.get("name"), str) else "attachment"
            parts.append(f"[attachment: {_clean_text(name)}]\n{_clean_text(item['content'])}")
    return "\n\n".join(p for p in parts if p) if len(parts) > 1 else parts[0]


def _webui_plan(conv: Any, raw_messages: Any, conv_where: str, where: str) -> tuple[Session, list[Message]]:
    cf = _Fields(conv, conv_where)
    if raw_messages is None:
        raw_messages = []
    if not isinstance(raw_messages, list):
        raise ImportFormatError(f"{where}: expected a list, found {_kind(raw_messages)}")
    now = time.time()
    last_modified = _ms(cf.data.get("lastModified"))
    has_tree = any(isinstance(m, dict) and "parent" in m for m in raw_messages)

    nodes: dict[str, _Node] = {}
    order: list[_Node] = []
    previous: str | None = None
    for i, raw in enumerate(raw_messages):
        mf = _Fields(raw, f"{where}[{i}]")
        raw_id = mf.data.get("id")
        key = _node_key(raw_id) or f"#{i}"
        if key in nodes:
            raise ImportFormatError(f"{mf.where}.id: {raw_id!r} is used by two messages")
        parent = _node_key(mf.data.get("parent")) if has_tree else previous
        stamp = _ms(mf.data.get("timestamp"))
        if stamp is None and isinstance(raw_id, int) and raw_id > 10**11:  # Vue UI: ids are Date.now()
            stamp = _ms(raw_id)
        kept = mf.data.get("type") != "root" and mf.data.get("role") in _ROLES
        node = _Node(key, i, parent, mf.data, stamp if stamp is not None else (last_modified or now), kept)
        nodes[key] = node
        order.append(node)
        previous = key

    def kept_parent(node: _Node) -> str | None:
        """The nearest kept ancestor (skipping the root and tool messages); None at the top."""
        seen = {node.key}
        key = node.parent
        while key is not None and key in nodes:
            if key in seen:
                break  # a loop: reported below, when it leaves messages unreachable
            seen.add(key)
            if nodes[key].kept:
                return key
            key = nodes[key].parent
        return None

    kept = [n for n in order if n.kept]
    parent_of = {n.key: kept_parent(n) for n in kept}

    # The web UI keeps the system prompt as one system message right under the root: when it is
    # exactly that, it becomes the session's system prompt (otherwise system messages stay messages).
    system_prompt = ""
    systems = [n for n in kept if n.data.get("role") == "system"]
    roots = [n for n in kept if parent_of[n.key] is None]
    if len(systems) == 1 and roots == systems:
        only = systems[0]
        system_prompt = _webui_content(_Fields(only.data, f"{where}[{only.index}]"))
        kept.remove(only)
        del parent_of[only.key]
        for key, parent in parent_of.items():
            if parent == only.key:
                parent_of[key] = None

    # Head: currNode (or its nearest kept ancestor); else the newest message, as the web UI does.
    head_key: str | None = None
    curr = _node_key(cf.data.get("currNode"))
    if curr is not None and curr in nodes:
        head_key = curr if nodes[curr].kept else kept_parent(nodes[curr])
    elif kept:
        head_key = max(kept, key=lambda n: (n.timestamp, n.index)).key if has_tree else kept[-1].key
    if head_key not in parent_of:  # none, or the system prompt that became a session field
        head_key = None

    # Insertion order: depth first, siblings by time then file position; local ids 1..n.
    children: dict[str | None, list[_Node]] = {}
    for n in kept:
        children.setdefault(parent_of[n.key], []).append(n)
    for siblings in children.values():
        siblings.sort(key=lambda n: (n.timestamp, n.index))
    local: dict[str, int] = {}
    messages: list[Message] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        n = stack.pop()
        local[n.key] = len(local) + 1
        messages.append(_webui_message(n, local, parent_of, f"{where}[{n.index}]"))
        stack.extend(reversed(children.get(n.key, [])))
    if len(messages) != len(kept):
        stuck = next(n for n in kept if n.key not in local)
        raise ImportFormatError(f"{where}[{stuck.index}]: its parent chain loops and never reaches the first message")

    # The session's model: the newest one named on the shown path.
    model: str | None = None
    cursor = head_key
    while cursor is not None and model is None:
        named = nodes[cursor].data.get("model")
        model = _clean_text(named) if isinstance(named, str) and named else None
        cursor = parent_of.get(cursor)

    title = cf.string("name", "")
    if not title.strip():
        title = default_title(next((m.content for m in messages if m.role == "user"), ""))
    root_stamps = [n.timestamp for n in order if n.data.get("type") == "root"]
    created = min(root_stamps or [n.timestamp for n in kept] or [last_modified or now])
    updated = last_modified if last_modified is not None else max([n.timestamp for n in kept] or [created])
    session = Session(
        title=title,
        created_at=created,
        updated_at=max(updated, created),
        template="server",
        system_prompt=system_prompt,
        head_id=None if head_key is None else local[head_key],
        pinned=cf.data.get("pinned") is True,
        model=model,
    )
    return session, messages


def _webui_message(node: _Node, local: dict[str, int], parent_of: dict[str, str | None], where: str) -> Message:
    f = _Fields(node.data, where)
    reasoning = f.data.get("reasoningContent") or f.data.get("thinking")
    timings = f.data.get("timings")
    model = f.data.get("model")
    parent = parent_of[node.key]
    return Message(
        role=f.data["role"],
        content=_webui_content(f),
        id=local[node.key],
        parent_id=None if parent is None else local[parent],
        created_at=node.timestamp,
        reasoning=_clean_text(reasoning) if isinstance(reasoning, str) and reasoning else None,
        timings=_webui_timings(_clean_json(timings)) if isinstance(timings, dict) and timings else None,
        settings={"model": _clean_text(model)} if isinstance(model, str) and model else None,
    )


def import_llamacpp_webui(store: Store, data: Any) -> list[int]:
    """Import conversations exported by llama-server's web UI (any of the shapes in the module
    notes), keeping branches, timestamps, timings and reasoning, with the shown path as head.
    Everything is checked before anything is written. Returns the new session ids in file order."""
    plans = [_webui_plan(*item) for item in _webui_items(data)]
    return _insert_all(store, plans)


# -- Markdown -----------------------------------------------------------------------------------


def _figures(m: Message) -> str:
    return format_timings(m.timings, m.stop_type, m.ttft_ms, truncated=m.truncated)


def _markdown_message(m: Message, heading: str, include_reasoning: bool) -> list[str]:
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
        ordered = _tree_order(store.session_messages(session_id))
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
