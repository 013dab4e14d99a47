"""message_view.footer_text: how a constrained answer is marked under it."""

from __future__ import annotations

from llama_tui.domain import ChatMessage
from llama_tui.widgets.message_view import footer_text


def answer(meta: dict[str, object]) -> ChatMessage:
    return ChatMessage(role="assistant", content="x", meta=meta)


def test_constrained_answers_are_marked() -> None:
    assert footer_text(answer({"constrained": "grammar"})).startswith("⊨ grammar")
    assert footer_text(answer({"constrained": "json_schema", "schema_ok": True})).startswith("⊨ JSON schema: valid ✓")
    meta = {"constrained": "json_schema", "schema_ok": False, "schema_error": "not JSON: \x1b[2J"}
    failed = footer_text(answer(meta))
    assert failed.startswith("⊨ JSON schema: ✗ not JSON: ") and "\x1b" not in failed  # the model's text, neutralised
    assert "⊨" not in footer_text(answer({}))
