"""The tree rules of one session: send, edit, regenerate, continue, alternatives, fork, prefill,
regenerate-from-token and compare (several answers at once, one picked). No Textual.

Messages form a tree (`parent_id`); the session shows the path from the root to its head. Edits
and regenerations add siblings, so the old branch stays as an alternative. `Conversation` owns
the session's `head_id` and makes every store write of these operations (through `WriteGuard`, so
a refused write is reported and nothing is lost); each operation returns a typed result saying
what the screen should show next, or a `Refusal` saying, in words for the user, why not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain import ChatMessage, Session, default_title
from ..store import Store
from .writes import FAILED, WriteGuard


@dataclass(frozen=True)
class Refusal:
    """Why an operation was not done, in words for the user."""

    reason: str
    severity: str = "warning"


@dataclass(frozen=True)
class Sent:
    """The user's turn is saved: `user` is the new message (None when an answer was edited, which
    asks for no new answer); `path` is the active path now, ending in it."""

    user: ChatMessage | None
    path: list[ChatMessage]
    branched: bool = False  # an edit made a new branch: show the whole path again


@dataclass(frozen=True)
class AnswerPlan:
    """What to generate: the answer row (already in the store, state "streaming"), the path the
    prompt is rendered from, the request parameters, and how."""

    answer: ChatMessage
    path: list[ChatMessage]
    params: dict[str, Any]
    continue_final: bool = False  # the last message of `path` is the unfinished answer itself
    suffix: tuple[int | str, ...] = field(default_factory=tuple)  # appended to the rendered prompt


@dataclass(frozen=True)
class CompareAnswers:
    """The answer rows of a compare run (already in the store, state "streaming"), one per column
    in column order, and the path their prompts are rendered from (it ends with the user turn)."""

    answers: list[ChatMessage]
    path: list[ChatMessage]


NOT_SAVED = Refusal("Could not save your message, so it was not sent; it is still in the composer.", "error")


class Conversation:
    """One session's message tree, as the user sees and changes it."""

    def __init__(self, store: Store, session: Session, writes: WriteGuard) -> None:
        self.store = store
        self.session = session
        self.writes = writes

    @property
    def session_id(self) -> int | None:
        return self.session.id

    def path(self) -> list[ChatMessage]:
        """The active path: root to head."""
        return self.store.active_path(self.session.id) if self.session.id is not None else []

    def path_until(self, message_id: int | None, *, inclusive: bool) -> list[ChatMessage]:
        """The active path up to `message_id` (with it, or without); the whole path if absent."""
        path = self.path()
        for i, m in enumerate(path):
            if m.id == message_id:
                return path[: i + 1] if inclusive else path[:i]
        return path

    def alternatives(self, message_id: int) -> tuple[int, int]:
        """(position, count) of a message among its siblings: edits and regenerations."""
        siblings = self.store.siblings(message_id)
        ids = [m.id for m in siblings]
        return ids.index(message_id) + 1, len(siblings)

    # -- the user's turn --------------------------------------------------------------------------

    def send(self, text: str, *, editing: ChatMessage | None = None) -> Sent | Refusal:
        """Save the user's text as the next turn, or, when `editing`, as a new version of that
        message beside the old one. The turn is committed before anything is sent."""
        session = self.session
        if session.id is None:
            return Refusal(
                "This session could not be saved, so it cannot be sent from; your text stays in the composer. "
                "Free some space or fix the data folder's permissions, then start a new session.",
                "error",
            )
        path = self.path()
        if editing is not None and editing.id is not None:
            path = path[: next((i for i, m in enumerate(path) if m.id == editing.id), len(path))]
            if editing.role == "assistant":
                # The text is no longer the model's: what the server measured of the original (its
                # speed, why it stopped, token probabilities) stays with the original, beside it.
                edited = self.writes.run(
                    self.store.add_message,
                    ChatMessage(
                        role="assistant",
                        content=text,
                        session_id=session.id,
                        parent_id=editing.parent_id,
                        settings=editing.settings,
                        reasoning=editing.reasoning,
                        meta={"edited": True},
                    ),
                )
                if edited is FAILED:
                    return NOT_SAVED
                session.head_id = edited.id
                return Sent(None, [*path, edited], branched=True)
        parent_id = path[-1].id if path else None
        user = self.writes.run(
            self.store.add_message,
            ChatMessage(role="user", content=text, session_id=session.id, parent_id=parent_id),
        )
        if user is FAILED:
            return NOT_SAVED
        session.head_id = user.id
        if not session.title:
            session.title = default_title(text)
            self.writes.run(self.store.rename_session, session.id, session.title)
        return Sent(user, [*path, user], branched=editing is not None)

    # -- answers ---------------------------------------------------------------------------------

    def new_answer(
        self, path: Sequence[ChatMessage], params: dict[str, Any], *, prefill: str = ""
    ) -> AnswerPlan | None:
        """Add the streaming answer row under the end of `path` (the one place answers are made).
        With a prefill the answer starts with that text and the model continues it. None if the
        store refused it (reported)."""
        return self._add_answer(list(path), prefill, params, continue_final=bool(prefill))

    def regenerate(self, message: ChatMessage, params: dict[str, Any]) -> AnswerPlan | Refusal | None:
        """A new answer beside `message` (an answer), or beside the answer of `message` (a user
        turn); the earlier answers stay as alternatives."""
        parent_path = self.path_until(message.id, inclusive=message.role == "user")
        if not parent_path or parent_path[-1].role != "user":
            return Refusal("Regenerate needs a user message before the answer.")
        self.session.head_id = parent_path[-1].id
        return self._add_answer(parent_path, "", params)

    def continue_answer(self, message: ChatMessage, params: dict[str, Any]) -> AnswerPlan | Refusal | None:
        """Continue an answer where it stopped: the prompt ends with the partial answer."""
        if message.role != "assistant" or message.id != self.session.head_id:
            return Refusal("Continue works on the last answer of the conversation.")
        answer = message.replace(state="streaming", error=None)
        if self.writes.run(self.store.update_message, answer) is FAILED:
            return None
        path = self.path_until(message.id, inclusive=False)
        return AnswerPlan(answer, [*path, answer], params, continue_final=True)

    def regenerate_from_token(
        self, message: ChatMessage, prefix: str, token_text: str, token_id: int, params: dict[str, Any]
    ) -> AnswerPlan | None:
        """A new answer beside `message` that keeps its text up to a token (`prefix`), puts the
        chosen alternative token in its place (by id, in the prompt) and lets the model go on."""
        parent_path = self.path_until(message.id, inclusive=False)
        self.session.head_id = parent_path[-1].id if parent_path else None
        plan = self._add_answer(parent_path, prefix + token_text, params)
        if plan is None:
            return None
        return AnswerPlan(plan.answer, parent_path, plan.params, suffix=(prefix, token_id))

    def _add_answer(
        self, path: list[ChatMessage], content: str, params: dict[str, Any], *, continue_final: bool = False
    ) -> AnswerPlan | None:
        parent = path[-1] if path else None
        answer = self.writes.run(
            self.store.add_message,
            ChatMessage(
                role="assistant",
                content=content,
                session_id=self.session.id,
                parent_id=parent.id if parent else None,
                state="streaming",
                settings=params,  # what was asked; the server's full report replaces it at the end
            ),
        )
        if answer is FAILED:
            return None
        self.session.head_id = answer.id
        return AnswerPlan(answer, [*path, answer] if continue_final else path, params, continue_final=continue_final)

    # -- compare ---------------------------------------------------------------------------------

    def compare_path(self) -> list[ChatMessage] | Refusal:
        """The path a compare run answers when no new message is written: up to the last user turn
        (an answer after it gets the compared answers as siblings)."""
        path = self.path()
        while path and path[-1].role != "user":
            path.pop()
        if not path:
            return Refusal("Compare answers a message: write a prompt first.")
        return path

    def compare_answers(
        self, path: Sequence[ChatMessage], columns: Sequence[tuple[dict[str, Any], dict[str, Any]]]
    ) -> CompareAnswers | Refusal | None:
        """One answer row per compared target, all siblings under the user turn ending `path`, each
        with its own parameters (`settings`: what was asked, replaced by the server's report) and
        `meta` (which run, which column, which target). The first is the head until one is picked,
        so a crash mid-run leaves a conversation that reads on. None if the store refused (reported)."""
        if not path or path[-1].role != "user" or self.session.id is None:
            return Refusal("Compare answers a message: write a prompt first.")
        parent = path[-1]
        answers: list[ChatMessage] = []
        for params, meta in columns:
            answer = self.writes.run(
                self.store.add_message,
                ChatMessage(
                    role="assistant",
                    content="",
                    session_id=self.session.id,
                    parent_id=parent.id,
                    state="streaming",
                    settings=params,
                    meta=meta,
                ),
            )
            if answer is FAILED:
                for made in answers:  # never left "streaming": they will not run
                    self.writes.run(self.store.update_message, made.replace(state="error", error="not run"))
                return None
            answers.append(answer)
        if self.writes.run(self.store.set_head, self.session.id, answers[0].id) is not FAILED:
            self.session.head_id = answers[0].id
        return CompareAnswers(answers, list(path))

    def pick(self, answer: ChatMessage) -> bool:
        """Make a compared answer the next message of the session (the head); the others stay as
        its alternatives. Its meta records the pick. False if the store refused (reported)."""
        assert answer.id is not None and self.session.id is not None
        current = self.writes.run(self.store.get_message, answer.id)  # the text and figures, as stored
        if current is FAILED:
            return False
        meta = dict(current.meta or {})
        meta["compare"] = {**meta.get("compare", {}), "picked": True}
        if self.writes.run(self.store.update_message, current.replace(meta=meta)) is FAILED:
            return False
        if self.writes.run(self.store.set_head, self.session.id, answer.id) is FAILED:
            return False
        self.session.head_id = answer.id
        return True

    # -- branches and forks ----------------------------------------------------------------------

    def switch_alternative(self, message: ChatMessage, step: int) -> int | None:
        """Show the previous (-1) or next (+1) alternative of `message`, with that branch's latest
        continuation. Returns the alternative's id, or None if there is none that way."""
        assert message.id is not None and self.session.id is not None
        siblings = self.store.siblings(message.id)
        index = [m.id for m in siblings].index(message.id) + step
        if not 0 <= index < len(siblings):
            return None
        target = siblings[index].id
        assert target is not None
        head = self.store.latest_leaf(target)
        if self.writes.run(self.store.set_head, self.session.id, head) is FAILED:
            return None
        self.session.head_id = head
        return target

    def show_branch_of(self, message_id: int) -> None:
        """Make the branch holding `message_id` (its latest continuation) the one shown."""
        head = self.store.latest_leaf(message_id)
        if self.session.id is not None and self.writes.run(self.store.set_head, self.session.id, head) is not FAILED:
            self.session.head_id = head

    def fork(self, message: ChatMessage) -> Session | None:
        """A new session holding the conversation up to `message` (same template and settings)."""
        source = self.session
        fork = self.writes.run(
            self.store.create_session,
            Session(
                title=f"{source.title or 'New session'} (fork)",
                template=source.template,
                system_prompt=source.system_prompt,
                settings=source.settings.copy(),
                server=source.server,
                model=source.model,
            ),
        )
        if fork is FAILED:
            return None
        parent: int | None = None
        for m in self.path_until(message.id, inclusive=True):
            copy = self.writes.run(self.store.add_message, m.replace(id=None, session_id=fork.id, parent_id=parent))
            if copy is FAILED:
                return None
            parent = copy.id
        assert fork.id is not None
        return self.store.get_session(fork.id)
