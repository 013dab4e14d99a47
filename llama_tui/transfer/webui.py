"""Import conversations exported by llama.cpp's own web UI.

No Textual here: the CLI, the TUI and the tests share it.

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
import time
from dataclasses import dataclass
from typing import Any, Final, get_args

from ..domain import ChatMessage, Role, Session, default_title
from ..store import Store
from .fields import Fields, ImportFormatError, check_values, clean_json, clean_text, kind_of
from .json_format import insert_all

_ROLES: Final = frozenset(get_args(Role))


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
        f'or a conversation with "messages"; found {kind_of(data)}'
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


def _webui_content(f: Fields) -> str:
    content = f.data.get("content")
    text = "" if content is None else content
    if not isinstance(text, str):
        raise f.error("content", "a string")
    parts = [clean_text(text)]
    extra = f.data.get("extra")
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict) and isinstance(item.get("content"), str) and item["content"]:
            name = item["name"] if isinstance(item.get("name"), str) else "attachment"
            parts.append(f"[attachment: {clean_text(name)}]\n{clean_text(item['content'])}")
    return "\n\n".join(p for p in parts if p) if len(parts) > 1 else parts[0]


def _webui_plan(conv: Any, raw_messages: Any, conv_where: str, where: str) -> tuple[Session, list[ChatMessage]]:
    cf = Fields(conv, conv_where)
    if raw_messages is None:
        raw_messages = []
    if not isinstance(raw_messages, list):
        raise ImportFormatError(f"{where}: expected a list, found {kind_of(raw_messages)}")
    now = time.time()
    last_modified = _ms(cf.data.get("lastModified"))
    has_tree = any(isinstance(m, dict) and "parent" in m for m in raw_messages)

    nodes: dict[str, _Node] = {}
    order: list[_Node] = []
    previous: str | None = None
    for i, raw in enumerate(raw_messages):
        mf = Fields(raw, f"{where}[{i}]")
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
        system_prompt = _webui_content(Fields(only.data, f"{where}[{only.index}]"))
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
    messages: list[ChatMessage] = []
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
        model = clean_text(named) if isinstance(named, str) and named else None
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


def _webui_message(node: _Node, local: dict[str, int], parent_of: dict[str, str | None], where: str) -> ChatMessage:
    f = Fields(node.data, where)
    reasoning = f.data.get("reasoningContent") or f.data.get("thinking")
    timings = f.data.get("timings")
    model = f.data.get("model")
    parent = parent_of[node.key]
    return ChatMessage(
        role=f.data["role"],
        content=_webui_content(f),
        id=local[node.key],
        parent_id=None if parent is None else local[parent],
        created_at=node.timestamp,
        reasoning=clean_text(reasoning) if isinstance(reasoning, str) and reasoning else None,
        timings=_webui_timings(clean_json(timings)) if isinstance(timings, dict) and timings else None,
        settings={"model": clean_text(model)} if isinstance(model, str) and model else None,
    )


def import_llamacpp_webui(store: Store, data: Any, *, template: str = "server") -> list[int]:
    """Import conversations exported by llama-server's web UI (any of the shapes in the module
    notes), keeping branches, timestamps, timings and reasoning, with the shown path as head;
    each session gets prompt `template` (the web UI has none of its own to keep).
    Everything is checked before anything is written. Returns the new session ids in file order."""
    check_values(data)
    plans = [_webui_plan(*item) for item in _webui_items(data)]
    for session, _ in plans:
        session.template = template
    return insert_all(store, plans)
