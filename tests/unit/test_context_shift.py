"""context_shift.py: what the context meter and the pane say happens when the context fills."""

from __future__ import annotations

from llama_tui.context_shift import context_fill_note, session_fill_note


def test_the_note_says_what_is_kept_and_dropped() -> None:
    note = context_fill_note(3900, 4096, 0, 0)
    assert note.startswith("3,900 of 4,096 tokens used: 196 left for the answer.")
    assert "--context-shift" in note and "only the BOS token" in note and "half of the rest" in note
    assert "the first 100 tokens, drops the next 50 tokens" in context_fill_note(None, 0, 100, 50)
    assert "keeps the whole prompt" in context_fill_note(None, 0, -1, 0)


def test_the_session_overrides_the_server() -> None:
    note = session_fill_note({"n_keep": 64}, {"n_keep": 0, "n_discard": 0}, 10, 100)
    assert "the first 64 tokens" in note and "90 left" in note
