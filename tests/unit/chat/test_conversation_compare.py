"""chat/conversation.py, its compare part: sibling answer rows for a run, the pick, and what a
run answers when no new message is written. Against a real store on tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.chat.conversation import CompareAnswers, Conversation, Refusal, Sent
from llama_tui.chat.writes import WriteGuard
from llama_tui.domain import ChatMessage, Session
from llama_tui.store import Store, StoreError


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "sessions.sqlite3")
    yield s
    s.close()


@pytest.fixture
def failures() -> list[StoreError]:
    return []


@pytest.fixture
def conversation(store: Store, failures: list[StoreError]) -> Conversation:
    session = store.create_session(Session(template="chatml"))
    return Conversation(store, session, WriteGuard(store, lambda error, first: failures.append(error)))


def columns(n: int) -> list[tuple[dict[str, object], dict[str, object]]]:
    return [({"temperature": 0.1 * (i + 1)}, {"compare": {"run": "r1", "column": i + 1, "of": n}}) for i in range(n)]


def test_a_run_makes_sibling_rows_with_their_own_params_and_shows_the_first(
    conversation: Conversation, store: Store
) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent) and sent.user is not None
    made = conversation.compare_answers(sent.path, columns(3))
    assert isinstance(made, CompareAnswers) and made.path == sent.path
    assert [a.state for a in made.answers] == ["streaming"] * 3
    assert {a.parent_id for a in made.answers} == {sent.user.id}
    assert [a.settings for a in made.answers] == [{"temperature": 0.1}, {"temperature": 0.2}, {"temperature": 0.1 * 3}]
    assert [a.meta["compare"]["column"] for a in made.answers if a.meta] == [1, 2, 3]
    # The first is the head, in memory and in the store (a crash mid-run reads on from it).
    first = made.answers[0].id
    assert conversation.session.head_id == first and store.get_session(conversation.session.id).head_id == first
    assert [m.id for m in store.siblings(first)] == [a.id for a in made.answers]


def test_pick_makes_a_column_the_next_message_and_records_it(conversation: Conversation, store: Store) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    made = conversation.compare_answers(sent.path, columns(2))
    assert isinstance(made, CompareAnswers)
    second = made.answers[1]
    store.update_message(second.replace(content="streamed text", state="complete"))  # as the run left it
    assert conversation.pick(second)
    assert conversation.session.head_id == second.id
    assert [m.content for m in store.active_path(conversation.session.id)] == ["q", "streamed text"]
    picked = store.get_message(second.id)
    assert picked.meta == {"compare": {"run": "r1", "column": 2, "of": 2, "picked": True}}
    assert picked.content == "streamed text" and picked.state == "complete"  # the pick keeps what streamed
    assert store.get_message(made.answers[0].id).meta == {"compare": {"run": "r1", "column": 1, "of": 2}}


def test_without_a_new_message_a_run_answers_the_last_one_again(conversation: Conversation) -> None:
    assert isinstance(conversation.compare_path(), Refusal)  # nothing to answer yet
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    made = conversation.compare_answers(sent.path, columns(2))
    assert isinstance(made, CompareAnswers)
    # The head is an answer now: the next run goes beside it, under the same question.
    assert conversation.compare_path() == sent.path


def test_compare_needs_a_user_turn_at_the_end(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    made = conversation.compare_answers(sent.path, columns(2))
    assert isinstance(made, CompareAnswers)
    refused = conversation.compare_answers([*sent.path, made.answers[0]], columns(2))
    assert isinstance(refused, Refusal) and "write a prompt" in refused.reason


def test_a_refused_row_leaves_none_streaming(
    conversation: Conversation, store: Store, failures: list[StoreError], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    real_add = store.add_message
    calls = []

    def add_then_fail(message: ChatMessage) -> ChatMessage:
        calls.append(message)
        if len(calls) == 2:
            raise StoreError("disk full")
        return real_add(message)

    monkeypatch.setattr(store, "add_message", add_then_fail)
    assert conversation.compare_answers(sent.path, columns(3)) is None
    assert failures and "disk full" in str(failures[0])
    rows = [m for m in store.session_messages(conversation.session.id) if m.role == "assistant"]
    assert [(m.state, m.error) for m in rows] == [("error", "not run")]
