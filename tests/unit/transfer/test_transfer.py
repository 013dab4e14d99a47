"""Export/import: llama-tui JSON round trip, Markdown, llama.cpp web UI imports, format errors."""

from __future__ import annotations

import copy
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.store import Store, StoreNotFound
from llama_tui.transfer import (
    EXPORT_SCHEMA,
    EXPORT_VERSION,
    ImportFormatError,
    dumps_export,
    export_sessions_json,
    import_any,
    import_json,
    import_llamacpp_webui,
    read_import_file,
    session_to_json,
    session_to_markdown,
    write_export,
)


class Clock:
    """Every reading is 1.25 s after the previous one (fractions catch float mangling)."""

    def __init__(self, start: float = 1_700_000_000.5) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.25
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "a" / "sessions.sqlite3", clock=Clock()) as s:
        yield s


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Store]:
    """A second store with a different clock, so kept timestamps cannot be a coincidence."""
    with Store.open(tmp_path / "b" / "sessions.sqlite3", clock=Clock(1_800_000_000.0)) as s:
        yield s


TIMINGS = {
    "prompt_n": 12,
    "prompt_ms": 10.0,
    "prompt_per_token_ms": 0.833,
    "prompt_per_second": 1200.0,
    "predicted_n": 5,
    "predicted_ms": 50.0,
    "predicted_per_token_ms": 10.0,
    "predicted_per_second": 100.0,
    "cache_n": 3,
}
PROBS = [
    {
        "id": 42,
        "token": " héllo",
        "bytes": [32, 104],
        "logprob": -0.25,
        "top_logprobs": [{"token": "x", "logprob": -2}],
    },
    {"id": 7, "token": "\x00\x1b", "logprob": -1.5e-7, "top_logprobs": []},
]
NASTY = "ctl: \x1b[31mred\x1b[0m \x9b2J \x07 nul\x00 crlf\r\n tab\t 🦙 中文 \u202e rtl [bold]markup[/bold] \\ \" '"


def build_session(store: Store) -> tuple[Session, dict[str, ChatMessage]]:
    """A session with every field set and a tree with branches at two levels:

    u1 ─ a1 (error)
       ├ a2 (regenerated, timings, probs, reasoning)
       │  └ u2 ─ a3 (interrupted)
    u1b (edited first turn) ─ a4   <- head is a2's branch (not the newest)
    """
    session = store.create_session(
        Session(
            title="Round [b]trip[/b] \x1b]0;pwn\x07 🦙",
            template="chatml",
            system_prompt="Be terse.\nLine two: " + NASTY,
            settings=SamplingSettings({"temperature": 0.7, "top_k": 40, "stop": ["</s>", "\n\nUser:"], "seed": 7}),
            pinned=True,
            server="http://127.0.0.1:8080",
            model="tiny.gguf",
            template_options={"enable_thinking": False, "reasoning_effort": "high"},
        )
    )
    assert session.id is not None
    sid = session.id

    def add(key: str, parent: ChatMessage | None, **fields: Any) -> ChatMessage:
        msg = store.add_message(ChatMessage(session_id=sid, parent_id=parent.id if parent else None, **fields))
        made[key] = msg
        return msg

    made: dict[str, ChatMessage] = {}
    u1 = add("u1", None, role="user", content="Hello " + NASTY)
    add("a1", u1, role="assistant", content="", state="error", error="HTTP 500: \x1b[31mboom")
    a2 = add(
        "a2",
        u1,
        role="assistant",
        content="Hi! 🦙 ```py\nprint('x')\n```",
        timings=TIMINGS,
        stop_type="eos",
        stopping_word="",
        truncated=True,
        tokens_cached=17,
        ttft_ms=41.5,
        settings={"temperature": 0.7, "n_probs": 2, "stop": ["</s>"], "nested": {"a": [1, 2.5, None, True]}},
        reasoning="<think>hmm \x00 ok</think>",
        probs=PROBS,
        meta={"reasoning_tokens": 12, "edited": True},
    )
    u2 = add("u2", a2, role="user", content="More?")
    add("a3", u2, role="assistant", content="Partial ans", state="interrupted", stop_type="none", ttft_ms=3.0)
    u1b = add("u1b", None, role="user", content="Hello, edited")
    add("a4", u1b, role="assistant", content="Edited answer", timings={"predicted_n": 1}, stop_type="limit")
    store.save_draft(sid, "unsent \x1b draft ✍")
    store.set_head(sid, a2.id)
    return store.get_session(sid), made


# -- llama-tui JSON ------------------------------------------------------------------------------


def test_session_document_has_every_field_and_every_branch(store: Store) -> None:
    session, made = build_session(store)
    assert session.id is not None
    doc = session_to_json(store, session.id)
    assert doc["schema"] == EXPORT_SCHEMA and doc["version"] == EXPORT_VERSION
    assert doc["template_options"] == {"enable_thinking": False, "reasoning_effort": "high"}
    assert {k: doc[k] for k in ("title", "template", "draft", "pinned", "server", "model")} == {
        "title": session.title,
        "template": "chatml",
        "draft": "unsent \x1b draft ✍",
        "pinned": True,
        "server": "http://127.0.0.1:8080",
        "model": "tiny.gguf",
    }
    assert doc["created_at"] == session.created_at and doc["updated_at"] == session.updated_at
    assert doc["settings"] == {"temperature": 0.7, "top_k": 40, "stop": ["</s>", "\n\nUser:"], "seed": 7}
    # Tree order, ids 1..n: u1, a1, a2, u2, a3, u1b, a4 (depth first, alternatives oldest first).
    order = ["u1", "a1", "a2", "u2", "a3", "u1b", "a4"]
    assert [m["id"] for m in doc["messages"]] == list(range(1, 8))
    assert [m["content"] for m in doc["messages"]] == [made[k].content for k in order]
    assert [m["parent_id"] for m in doc["messages"]] == [None, 1, 1, 3, 4, None, 6]
    assert doc["head_id"] == 3  # a2, not the newest branch
    a2 = doc["messages"][2]
    assert a2 == {
        "id": 3,
        "parent_id": 1,
        "role": "assistant",
        "content": made["a2"].content,
        "created_at": made["a2"].created_at,
        "state": "complete",
        "timings": TIMINGS,
        "stop_type": "eos",
        "stopping_word": "",
        "truncated": True,
        "tokens_cached": 17,
        "ttft_ms": 41.5,
        "settings": made["a2"].settings,
        "error": None,
        "reasoning": made["a2"].reasoning,
        "probs": PROBS,
        "meta": {"reasoning_tokens": 12, "edited": True},
    }
    assert doc["messages"][1]["state"] == "error" and doc["messages"][1]["error"] == "HTTP 500: \x1b[31mboom"


def test_round_trip_is_byte_identical(store: Store, other: Store, tmp_path: Path) -> None:
    session, _ = build_session(store)
    assert session.id is not None
    first = session_to_json(store, session.id)

    # Through a file, into another store (different clock, different ids) ...
    path = write_export(tmp_path / "out" / "one.json", first)
    [new_id] = import_json(other, read_import_file(path))
    second = session_to_json(other, new_id)
    assert dumps_export(second) == dumps_export(first)
    assert path.read_text(encoding="utf-8") == dumps_export(first) + "\n"

    # ... and into the same store: fresh ids, same document.
    [again] = import_json(store, first)
    assert again != session.id
    assert dumps_export(session_to_json(store, again)) == dumps_export(first)
    imported = store.get_session(again)
    assert (imported.created_at, imported.updated_at) == (session.created_at, session.updated_at)
    assert [m.content for m in store.active_path(again)] == [m.content for m in store.active_path(session.id)]


def test_bundle_round_trip_keeps_order_and_is_byte_identical(store: Store, other: Store) -> None:
    first, _ = build_session(store)
    empty = store.create_session(Session(title="empty"))
    assert first.id is not None and empty.id is not None
    bundle = export_sessions_json(store, None, now=1_700_000_000)
    assert bundle["exported_at"] == "2023-11-14T22:13:20Z"
    assert [s["title"] for s in bundle["sessions"]] == [first.title, "empty"]
    assert bundle["sessions"][1]["messages"] == [] and bundle["sessions"][1]["head_id"] is None
    ids = import_json(other, json.loads(dumps_export(bundle)))
    assert len(ids) == 2
    assert dumps_export(export_sessions_json(other, ids, now=1_700_000_000)) == dumps_export(bundle)
    assert dumps_export(export_sessions_json(other, None, now=1_700_000_000)) == dumps_export(bundle)


def test_export_of_a_missing_session_raises(store: Store) -> None:
    with pytest.raises(StoreNotFound):
        session_to_json(store, 999)


def minimal_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": EXPORT_SCHEMA,
        "version": 1,
        "title": "t",
        "created_at": 1.5,
        "updated_at": 2.5,
        "head_id": 2,
        "messages": [
            {"id": 1, "parent_id": None, "role": "user", "content": "q"},
            {"id": 2, "parent_id": 1, "role": "assistant", "content": "a"},
        ],
    }
    doc.update(changes)
    return doc


def test_a_minimal_hand_written_document_imports_with_defaults(store: Store) -> None:
    [sid] = import_json(store, minimal_doc())
    s = store.get_session(sid)
    assert (s.title, s.created_at, s.updated_at, s.template, s.pinned) == ("t", 1.5, 2.5, "server", False)
    assert [(m.role, m.content) for m in store.active_path(sid)] == [("user", "q"), ("assistant", "a")]


def test_messages_may_come_in_any_order(store: Store) -> None:
    doc = minimal_doc()
    doc["messages"].reverse()
    [sid] = import_json(store, doc)
    assert [m.content for m in store.active_path(sid)] == ["q", "a"]


def test_lone_surrogates_become_replacement_characters(store: Store) -> None:
    doc = json.loads('{"schema": "llama-tui/session", "version": 1, "title": "bad \\ud800 title", "messages": []}')
    [sid] = import_json(store, doc)
    assert store.get_session(sid).title == "bad \ufffd title"


def mutate(path: str, value: Any) -> dict[str, Any]:
    doc = minimal_doc()
    target: Any = doc
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (minimal_doc(version=2), "newer llama-tui (export version 2; this version reads up to 1)"),
        (minimal_doc(version="1"), "version: expected a whole number from 1, found the string '1'"),
        (minimal_doc(schema="other/thing"), "not a llama-tui session export (schema the string 'other/thing'"),
        ({"conv": {}, "messages": []}, 'no "schema" field (it looks like a llama.cpp web UI export'),
        ([1, 2], "expected a JSON object, found a list"),
        (mutate("messages.1.role", "tool"), "messages[1].role: expected one of assistant, system, user, found 'tool'"),
        (mutate("messages.1.state", "weird"), "messages[1].state: expected one of"),
        (mutate("messages.1.parent_id", 9), "messages[1].parent_id: there is no message 9"),
        (mutate("messages.1.id", 1), "messages[1].id: 1 is also the id of messages[0]"),
        (mutate("messages.0.parent_id", 2), "messages[0]: its parent_id chain loops"),
        (mutate("messages.0.content", 5), "messages[0].content: expected a string, found the number 5"),
        (mutate("messages.0.created_at", float("nan")), "messages[0].created_at: expected a finite number"),
        (mutate("messages.0.timings", [1]), "messages[0].timings: expected an object or null, found a list"),
        (mutate("messages.0.truncated", 1), "messages[0].truncated: expected true or false"),
        (mutate("head_id", 3), "head_id: there is no message 3"),
        (mutate("settings", {"temperature": "hot"}), "settings.temperature: expected a number"),
        (mutate("settings", {"top_k": 1.5}), "settings.top_k: expected a whole number"),
        (mutate("settings", {"top_p": 3}), "settings.top_p: 3 is above the maximum 1"),
        (mutate("messages", {}), "messages: expected a list, found an object"),
        (
            {"schema": EXPORT_SCHEMA, "version": 1, "sessions": [minimal_doc(), minimal_doc(version=9)]},
            "sessions[1]: this file was written by a newer llama-tui",
        ),
        (
            {"schema": EXPORT_SCHEMA, "version": 1, "sessions": [minimal_doc(), "x"]},
            "sessions[1]: expected an object, found the string 'x'",
        ),
    ],
)
def test_format_errors_say_what_and_where_and_write_nothing(store: Store, doc: Any, message: str) -> None:
    with pytest.raises(ImportFormatError) as info:
        import_json(store, doc)
    assert message in str(info.value)
    assert store.list_sessions() == []


def test_read_import_file_names_the_file_on_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema": "llama-tui/session",\n  "version": }', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"broken\.json: not valid JSON \(line 2, column 14"):
        read_import_file(path)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(minimal_doc()).encode())  # a BOM is fine
    assert read_import_file(path)["title"] == "t"


def test_write_export_is_atomic_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "x.md"
    write_export(target, "# hi")
    assert target.read_text(encoding="utf-8") == "# hi\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    os.chmod(target, 0o644)
    write_export(target, {"b": 1, "a": "é"})
    assert target.read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["x.md"]  # no temporary file left behind


def test_write_export_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_export(target, {"ok": True})
    with pytest.raises(TypeError):
        write_export(target, {"bad": object()})
    assert json.loads(target.read_text(encoding="utf-8")) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_of_the_active_path(store: Store) -> None:
    session, made = build_session(store)
    assert session.id is not None
    text = session_to_markdown(store, session.id)
    assert text == (
        "# Round [b]trip[/b] ␛]0;pwn␇ 🦙\n\n"
        "## System prompt\n\n"
        f"{session.system_prompt}\n\n"
        "### You\n\n"
        f"{made['u1'].content}\n\n"
        "### Assistant\n\n"
        f"{made['a2'].content}\n\n"
        "*5 tok · prompt 12 tok, 3 cached 1,200 t/s · gen 100.0 t/s · ttft 42 ms · stop: eos · context truncated*\n"
    )
    with_reasoning = session_to_markdown(store, session.id, include_reasoning=True)
    assert "> **Reasoning**\n>\n> <think>hmm \x00 ok</think>\n\n" + made["a2"].content in with_reasoning


def test_markdown_with_all_branches(store: Store) -> None:
    session, _ = build_session(store)
    assert session.id is not None
    text = session_to_markdown(store, session.id, all_branches=True)
    headings = [line for line in text.split("\n") if line.startswith("### ")]
    assert headings == [
        "### You (alternative 1 of 2, shown)",
        "### Assistant (alternative 1 of 2)",
        "### Assistant (alternative 2 of 2, shown)",
        "### You",
        "### Assistant",
        "### You (alternative 2 of 2)",
        "### Assistant",
    ]
    assert "**Error:** HTTP 500: \x1b[31mboom" in text
    assert "Partial ans\n\n*(interrupted)*\n\n*ttft 3 ms · stop: none*" in text
    assert "Edited answer\n\n*1 tok · prompt 0 tok 0 t/s · gen 0.0 t/s · stop: n_predict limit*" in text


def test_markdown_of_an_empty_untitled_session(store: Store) -> None:
    session = store.create_session(Session())
    assert session.id is not None
    assert session_to_markdown(store, session.id) == "# Untitled\n"


# -- llama.cpp web UI ----------------------------------------------------------------------------

# The Svelte web UI's per-conversation download ({conv, messages}), built like DatabaseService does:
# an invisible root, the system prompt as its child, then the chat; "r2" regenerates "a1", and
# currNode points at the older answer's branch.
SVELTE_CONV: dict[str, Any] = {
    "conv": {
        "id": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
        "name": "Llamas 🦙",
        "lastModified": 1_735_000_100_000,
        "currNode": "a1",
    },
    "messages": [
        {
            "id": "root",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "root",
            "timestamp": 1_735_000_000_000,
            "role": "system",
            "content": "",
            "parent": None,
            "toolCalls": "",
            "children": ["sys"],
        },
        {
            "id": "sys",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "system",
            "timestamp": 1_735_000_000_500,
            "role": "system",
            "content": "You are a helpful assistant.",
            "parent": "root",
            "children": ["u1"],
        },
        {
            "id": "u1",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "text",
            "timestamp": 1_735_000_001_000,
            "role": "user",
            "content": "What do llamas eat?",
            "parent": "sys",
            "thinking": "",
            "children": ["a1", "r2"],
            "extra": [
                {"type": "textFile", "name": "notes.txt", "content": "grass, hay"},
                {"type": "imageFile", "name": "llama.png", "base64Url": "data:image/png;base64,AAAA"},
            ],
        },
        {
            "id": "a1",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "text",
            "timestamp": 1_735_000_002_000,
            "role": "assistant",
            "content": "Grass and hay.",
            "parent": "u1",
            "thinking": "They are herbivores.",
            "children": [],
            "timings": {"prompt_n": 20, "prompt_ms": 10, "predicted_n": 8, "predicted_ms": 80, "cache_n": 4},
            "model": "qwen2.5-0.5b",
        },
        {
            "id": "r2",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "text",
            "timestamp": 1_735_000_003_000,
            "role": "assistant",
            "content": "Mostly grass.",
            "parent": "u1",
            "reasoningContent": "Regenerated thought.",
            "toolCalls": "",
            "children": ["t1"],
        },
        {
            "id": "t1",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "text",
            "timestamp": 1_735_000_004_000,
            "role": "tool",
            "content": '{"result": 1}',
            "parent": "r2",
            "toolCallId": "call_1",
            "children": ["a3"],
        },
        {
            "id": "a3",
            "convId": "0b6c1e9e-3c1f-4d5e-9a47-6a1f5f2b8d11",
            "type": "text",
            "timestamp": 1_735_000_005_000,
            "role": "assistant",
            "content": "After the tool: grass.",
            "parent": "t1",
            "children": [],
        },
    ],
}


def test_svelte_webui_single_conversation(store: Store) -> None:
    [sid] = import_llamacpp_webui(store, copy.deepcopy(SVELTE_CONV))
    s = store.get_session(sid)
    assert s.title == "Llamas 🦙"
    assert s.system_prompt == "You are a helpful assistant."  # the root's only child became the field
    assert s.template == "server"
    assert (s.created_at, s.updated_at) == (1_735_000_000.0, 1_735_000_100.0)
    assert s.model == "qwen2.5-0.5b"
    path = store.active_path(sid)  # currNode: the older answer
    assert [(m.role, m.content) for m in path] == [
        ("user", "What do llamas eat?\n\n[attachment: notes.txt]\ngrass, hay"),
        ("assistant", "Grass and hay."),
    ]
    u1, a1 = path
    assert u1.parent_id is None and u1.created_at == 1_735_000_001.0
    assert a1.reasoning == "They are herbivores."
    assert a1.settings == {"model": "qwen2.5-0.5b"}
    assert a1.timings == {
        "prompt_n": 20,
        "prompt_ms": 10,
        "predicted_n": 8,
        "predicted_ms": 80,
        "cache_n": 4,
        "prompt_per_second": 2000.0,
        "predicted_per_second": 100.0,
    }
    # The regenerated branch is kept; the tool message is skipped and its child re-attached.
    r2 = store.siblings(a1.id or 0)[1]
    assert (r2.content, r2.reasoning) == ("Mostly grass.", "Regenerated thought.")
    store.set_head(sid, store.latest_leaf(r2.id or 0))
    assert [m.content for m in store.active_path(sid)][1:] == ["Mostly grass.", "After the tool: grass."]
    md = session_to_markdown(store, sid, all_branches=True)
    assert "*8 tok · prompt 20 tok, 4 cached 2,000 t/s · gen 100.0 t/s*" in md


def test_svelte_webui_list_and_fallback_head(store: Store) -> None:
    second = copy.deepcopy(SVELTE_CONV)
    second["conv"].update(id="c2", name="", currNode="")  # empty currNode: newest message, like the UI
    extra_system = {**second["messages"][1], "id": "sys2", "content": "Other prompt", "timestamp": 1_735_000_000_600}
    second["messages"].append(extra_system)  # two system prompts: they stay messages
    ids = import_llamacpp_webui(store, [copy.deepcopy(SVELTE_CONV), second])
    assert len(ids) == 2
    s = store.get_session(ids[1])
    assert s.title == "What do llamas eat?"  # from the first line of the first user message
    assert s.system_prompt == ""
    path = store.active_path(ids[1])
    assert [m.role for m in path] == ["system", "user", "assistant", "assistant"]
    assert path[-1].content == "After the tool: grass."


def test_react_webui_numeric_ids(store: Store) -> None:
    """React UI rows (storage.ts): numeric Date.now() ids, the root's parent is -1."""
    data = {
        "conv": {"id": "conv-1717000000000", "lastModified": 1_717_000_009_000, "currNode": 1717000003000, "name": "R"},
        "messages": [
            {"id": 1717000000000, "convId": "conv-1717000000000", "type": "root", "timestamp": 1717000000000,
             "role": "system", "content": "", "parent": -1, "children": [1717000001000]},
            {"id": 1717000001000, "convId": "conv-1717000000000", "type": "text", "timestamp": 1717000001000,
             "role": "user", "content": "hi", "parent": 1717000000000, "children": [1717000002000, 1717000003000]},
            {"id": 1717000002000, "convId": "conv-1717000000000", "type": "text", "timestamp": 1717000002000,
             "role": "assistant", "content": "old", "parent": 1717000001000, "children": []},
            {"id": 1717000003000, "convId": "conv-1717000000000", "type": "text", "timestamp": 1717000003000,
             "role": "assistant", "content": "new", "parent": 1717000001000, "children": [],
             "timings": {"prompt_n": 1, "prompt_ms": 0, "predicted_n": 2, "predicted_ms": 4}},
        ],
    }  # fmt: skip
    [sid] = import_llamacpp_webui(store, data)
    assert [m.content for m in store.active_path(sid)] == ["hi", "new"]
    answer = store.active_path(sid)[1]
    assert answer.timings == {"prompt_n": 1, "prompt_ms": 0, "predicted_n": 2, "predicted_ms": 4,
                              "predicted_per_second": 500.0}  # fmt: skip
    assert [m.content for m in store.siblings(answer.id or 0)] == ["old", "new"]
    assert store.get_session(sid).updated_at == 1_717_000_009.0


def test_vue_webui_linear_conversation(store: Store) -> None:
    """The 2024 localStorage object (main.js downloadConv): no root, no tree, ids are Date.now()."""
    data = {
        "id": "conv-1730000000000",
        "lastModified": 1_730_000_005_000,
        "messages": [
            {"id": 1730000000000, "role": "user", "content": "one"},
            {"id": 1730000000001, "role": "assistant", "content": "two",
             "timings": {"prompt_n": 5, "prompt_ms": 5.0, "predicted_n": 5, "predicted_ms": 50.0}},
            {"id": 1730000004000, "role": "user", "content": "three"},
        ],
    }  # fmt: skip
    [sid] = import_any(store, [data])
    s = store.get_session(sid)
    assert s.title == "one"
    path = store.active_path(sid)
    assert [m.content for m in path] == ["one", "two", "three"]
    assert [m.created_at for m in path] == [1_730_000_000.0, 1_730_000_000.001, 1_730_000_004.0]
    assert path[1].parent_id == path[0].id and path[2].parent_id == path[1].id


def test_dexie_database_export(store: Store) -> None:
    """The React UI's "export DB" file (dexie-export-import) holds both tables."""
    conv = SVELTE_CONV["conv"]
    data = {
        "formatName": "dexie",
        "formatVersion": 1,
        "data": {
            "databaseName": "LlamacppWebui",
            "databaseVersion": 1,
            "tables": [{"name": "conversations", "schema": "&id,lastModified", "rowCount": 1}],
            "data": [
                {"tableName": "conversations", "inbound": True, "rows": [conv]},
                {"tableName": "messages", "inbound": True, "rows": SVELTE_CONV["messages"]},
            ],
        },
    }
    [sid] = import_any(store, data)
    assert store.get_session(sid).title == "Llamas 🦙"
    assert len(store.active_path(sid)) == 2


def test_webui_import_converts_back_to_a_stable_export(store: Store, other: Store) -> None:
    [sid] = import_llamacpp_webui(store, copy.deepcopy(SVELTE_CONV))
    doc = session_to_json(store, sid)
    assert len(doc["messages"]) == 4
    [again] = import_json(other, doc)
    assert dumps_export(session_to_json(other, again)) == dumps_export(doc)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nope", "not a llama.cpp web UI export"),
        ([{"x": 1}], '[0]: not a web UI conversation (it has no "conv" or "messages")'),
        ({"conv": {"id": "c"}, "messages": {}}, "messages: expected a list, found an object"),
        ({"conv": [], "messages": []}, "conv: expected an object, found a list"),
        ({"conv": {"id": "c"}, "messages": [1]}, "messages[0]: expected an object, found the number 1"),
        (
            {"conv": {"id": "c"}, "messages": [{"id": "a", "role": "user", "content": "x"}] * 2},
            "messages[1].id: 'a' is used by two messages",
        ),
        (
            {"conv": {"id": "c"}, "messages": [{"id": "a", "role": "user", "content": 3, "parent": None}]},
            "messages[0].content: expected a string, found the number 3",
        ),
        (
            {"conv": {"id": "c"}, "messages": [
                {"id": "a", "role": "user", "content": "x", "parent": "b"},
                {"id": "b", "role": "user", "content": "y", "parent": "a"},
            ]},
            "its parent chain loops",
        ),
        ({"formatName": "dexie", "data": {}}, "data.data: expected the list of tables"),
    ],
)  # fmt: skip
def test_webui_format_errors(store: Store, data: Any, message: str) -> None:
    with pytest.raises(ImportFormatError) as info:
        import_llamacpp_webui(store, data)
    assert message in str(info.value)
    assert store.list_sessions() == []
