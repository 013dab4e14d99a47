"""chat/conversation.py: the tree rules of a session, against a real store on tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.chat.conversation import AnswerPlan, Conversation, Refusal, Sent
from llama_tui.chat.writes import WriteGuard
from llama_tui.domain import ChatMessage, SamplingSettings, Session
from llama_tui.store import Store, StoreError

PARAMS = {"n_predict": 8}


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
    session = store.create_session(Session(template="chatml", settings=SamplingSettings({"seed": 1})))
    writes = WriteGuard(store, lambda error, first: failures.append(error))
    return Conversation(store, session, writes)


def answer(conversation: Conversation, path: list[ChatMessage], text: str = "an answer") -> ChatMessage:
    """Ask for an answer and pretend it streamed to the end."""
    plan = conversation.new_answer(path, PARAMS)
    assert isinstance(plan, AnswerPlan)
    done = plan.answer.replace(content=text, state="complete")
    conversation.store.update_message(done)
    return done


def test_send_saves_the_turn_first_and_titles_the_session(conversation: Conversation, store: Store) -> None:
    sent = conversation.send("Hello there\nsecond line")
    assert isinstance(sent, Sent) and sent.user is not None and not sent.branched
    assert [m.content for m in store.active_path(conversation.session.id)] == ["Hello there\nsecond line"]
    assert store.get_session(conversation.session.id).title == "Hello there"
    assert conversation.session.head_id == sent.user.id
    assert sent.path == [sent.user]


def test_new_answer_is_a_streaming_row_under_the_turn_and_the_new_head(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    plan = conversation.new_answer(sent.path, PARAMS)
    assert isinstance(plan, AnswerPlan)
    assert plan.answer.state == "streaming" and plan.answer.parent_id == sent.user.id
    assert plan.answer.settings == PARAMS and plan.params == PARAMS
    assert plan.path == sent.path and not plan.continue_final
    assert conversation.store.get_session(conversation.session.id).head_id == plan.answer.id


def test_prefill_answer_starts_with_the_text_and_is_continued(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    plan = conversation.new_answer(sent.path, PARAMS, prefill="Sure! Here is")
    assert isinstance(plan, AnswerPlan)
    assert plan.answer.content == "Sure! Here is" and plan.continue_final
    assert plan.path[-1] is plan.answer


def test_editing_a_user_turn_branches_and_keeps_the_old_one(conversation: Conversation, store: Store) -> None:
    first = conversation.send("first")
    assert isinstance(first, Sent)
    a1 = answer(conversation, first.path)
    second = conversation.send("second")
    assert isinstance(second, Sent)
    edited = conversation.send("second, better", editing=second.user)
    assert isinstance(edited, Sent) and edited.branched and edited.user is not None
    assert [m.content for m in edited.path] == ["first", a1.content, "second, better"]
    assert edited.user.parent_id == second.user.parent_id
    assert [m.content for m in store.siblings(edited.user.id)] == ["second", "second, better"]


def test_editing_an_answer_saves_a_sibling_and_asks_for_no_new_answer(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    original = answer(conversation, sent.path, "wrong")
    edited = conversation.send("right", editing=original)
    assert isinstance(edited, Sent) and edited.user is None and edited.branched
    assert edited.path[-1].content == "right" and edited.path[-1].state == "complete"
    assert edited.path[-1].parent_id == original.parent_id
    assert conversation.session.head_id == edited.path[-1].id


def test_regenerate_adds_an_alternative_and_switching_shows_each(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    a1 = answer(conversation, sent.path, "one")
    plan = conversation.regenerate(a1, PARAMS)
    assert isinstance(plan, AnswerPlan) and plan.path == sent.path
    a2 = plan.answer
    assert conversation.alternatives(a2.id) == (2, 2)
    assert conversation.switch_alternative(a2, -1) == a1.id
    assert conversation.path()[-1].id == a1.id
    assert conversation.switch_alternative(a1, -1) is None  # nothing before the first
    assert conversation.switch_alternative(a1, 1) == a2.id
    # On the user turn, regenerate answers it again too.
    again = conversation.regenerate(sent.user, PARAMS)
    assert isinstance(again, AnswerPlan) and conversation.alternatives(again.answer.id) == (3, 3)


def test_switching_an_alternative_shows_that_branchs_latest_continuation(conversation: Conversation) -> None:
    q1 = conversation.send("q1")
    assert isinstance(q1, Sent)
    a1 = answer(conversation, q1.path)
    q2 = conversation.send("q2")
    assert isinstance(q2, Sent)
    a2 = answer(conversation, q2.path, "deep")
    other = conversation.regenerate(a1, PARAMS)
    assert isinstance(other, AnswerPlan)
    conversation.switch_alternative(other.answer, -1)
    assert conversation.path()[-1].id == a2.id  # back on a1's branch, at its end


def test_regenerate_without_a_user_turn_is_refused(conversation: Conversation, store: Store) -> None:
    lone = store.add_message(ChatMessage(role="assistant", content="hi", session_id=conversation.session.id))
    refused = conversation.regenerate(lone, PARAMS)
    assert isinstance(refused, Refusal) and "user message" in refused.reason


def test_continue_only_the_last_answer(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    a1 = answer(conversation, sent.path, "partial")
    plan = conversation.continue_answer(a1, PARAMS)
    assert isinstance(plan, AnswerPlan) and plan.continue_final
    assert plan.answer.id == a1.id and plan.answer.state == "streaming" and plan.answer.content == "partial"
    assert [m.content for m in plan.path] == ["q", "partial"]
    conversation.send("next")
    assert isinstance(conversation.continue_answer(a1, PARAMS), Refusal)
    assert isinstance(conversation.continue_answer(sent.user, PARAMS), Refusal)


def test_regenerate_from_token_keeps_the_prefix_and_appends_the_token_id(conversation: Conversation) -> None:
    sent = conversation.send("q")
    assert isinstance(sent, Sent)
    a1 = answer(conversation, sent.path, "Hello world")
    plan = conversation.regenerate_from_token(a1, "Hello", " there", 1234, PARAMS)
    assert isinstance(plan, AnswerPlan)
    assert plan.answer.content == "Hello there" and plan.answer.parent_id == a1.parent_id
    assert plan.suffix == ("Hello", 1234) and plan.path == sent.path
    assert conversation.alternatives(plan.answer.id) == (2, 2)


def test_fork_copies_the_path_up_to_the_message(conversation: Conversation, store: Store) -> None:
    conversation.session.title = "Talk"
    q1 = conversation.send("q1")
    assert isinstance(q1, Sent)
    a1 = answer(conversation, q1.path)
    conversation.send("q2")
    fork = conversation.fork(a1)
    assert fork is not None and fork.id != conversation.session.id
    assert fork.title == "Talk (fork)" and fork.template == "chatml" and fork.settings.to_dict() == {"seed": 1}
    assert [m.content for m in store.active_path(fork.id)] == ["q1", a1.content]


def test_a_refused_write_is_reported_and_nothing_is_claimed(
    conversation: Conversation, store: Store, failures: list[StoreError], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(message: ChatMessage) -> ChatMessage:
        raise StoreError("the disk is full")

    monkeypatch.setattr(store, "add_message", full)
    refused = conversation.send("lost?")
    assert isinstance(refused, Refusal) and "still in the composer" in refused.reason
    assert conversation.session.head_id is None
    assert [str(e) for e in failures] == ["the disk is full"]
    assert conversation.new_answer([], PARAMS) is None


def test_a_session_that_was_never_saved_cannot_send(store: Store) -> None:
    conversation = Conversation(store, Session(), WriteGuard(store, lambda e, first: None))
    refused = conversation.send("hi")
    assert isinstance(refused, Refusal) and refused.severity == "error"
