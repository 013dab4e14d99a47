"""Answers on the main screen: sending the composer's text, streaming answers into the chat, Esc,
and the actions on one message (edit, regenerate, continue, alternatives, copy, fork, token
probabilities). The tree rules are in chat/conversation.py, the request in chat/request.py; this
puts them on screen and runs the generation in a worker held by reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual.worker import Worker

from ..chat.conversation import AnswerPlan, Conversation, Refusal
from ..chat.generation import Generation, describe_error
from ..chat.request import CompletionRequest, queue_note
from ..chat.slot_cache_turn import CachedTurn
from ..client import ProgressEvent
from ..domain import ChatMessage
from ..markdown_code import code_blocks
from ..server_state import ServerState
from ..store import StoreError
from ..widgets.message_view import MessageAction, MessageView
from .host import ScreenHost
from .token_probs import TokenChoice, TokenProbsScreen


class ViewSink:
    """Puts a generation on screen: text into the message view, progress into its bar. The first
    sign of life (progress or text) clears a passing status such as "waiting for a free slot"."""

    def __init__(self, answering: Answering, view: MessageView) -> None:
        self.answering = answering
        self.view = view
        self.started = False  # the server has begun on this answer
        self.status_shown = False

    def show_status(self, text: str) -> None:
        if not self.started:
            self.view.show_status(text)
            self.status_shown = True

    def _start(self) -> None:
        self.started = True
        if self.status_shown:
            self.status_shown = False
            self.view.update_footer()

    async def on_text(self, text: str) -> None:
        if not self.started:
            self._start()
        await self.view.write(text)

    def on_reasoning(self, text: str) -> None:
        if not self.started:
            self._start()
        self.view.write_reasoning(text)

    def on_tokens(self, count: int, thinking: bool) -> None:
        if not self.started:
            self._start()
        self.view.show_live(count, thinking)

    def on_progress(self, event: ProgressEvent) -> None:
        if not self.started:
            self._start()
        self.view.show_progress(event.fraction)

    def on_store_error(self, error: StoreError) -> None:
        self.answering.screen.writes.failed(error)


# How often an answer that has not started looks whether it waits behind another request.
QUEUE_CHECK_INTERVAL = 1.0


class Answering:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        self._worker: Worker[None] | None = None  # the generation running, if any
        self._generation: Generation | None = None
        self._draft_before_edit: str | None = None
        self._code_index: dict[int, int] = {}  # message id -> code block copied last (b)

    @property
    def is_generating(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def stop(self) -> bool:
        """Stop the answer being generated, if any (what arrived is kept, marked interrupted)."""
        if not self.is_generating:
            return False
        assert self._worker is not None
        self._worker.cancel()
        return True

    def stop_thinking(self) -> None:
        """ctrl+g: end the model's reasoning where it is; the same answer goes on with the answer."""
        if not self.is_generating or self._generation is None:
            self.screen.notify("No answer is being generated.", severity="warning")
            return
        self._generation.end_reasoning()
        self.screen.notify("Ending the reasoning here: the model answers now (if it was still thinking).")

    def cancel_edit(self) -> bool:
        """Leave an edit in progress (the composer gets back what it held before)."""
        if self.screen.editing is None:
            return False
        self.screen.editing = None
        self._clear_composer()
        return True

    def _busy(self) -> bool:
        if self.is_generating:
            self.screen.notify("Still answering: press Esc to stop it first.", severity="warning")
        return self.is_generating

    # -- sending ---------------------------------------------------------------------------------

    async def send(self, text: str) -> bool:
        """Send the composer's text (the composer already gave it up). False when it was not
        sent: the caller gives it back to the composer."""
        screen = self.screen
        conversation = screen.conversation
        if conversation is None or self._busy():
            return False
        if screen.server_watch.state is ServerState.AUTH_ERROR:
            screen.notify(
                "The server refused the API key: set api_key in the config or LLAMA_API_KEY.", severity="error"
            )
            return False
        if screen.server_watch.router_mode and not conversation.session.model:
            screen.notify("This server runs in router mode: pick a model for this session first (F7).")
            return False
        if screen.editing is None:
            overflow = await screen.refuse_overflow(text)
            if overflow is not None:
                screen.notify(overflow, title="Context full", severity="error", timeout=12, markup=False)
                return False
        editing, screen.editing = screen.editing, None
        sent = conversation.send(text, editing=editing)
        if isinstance(sent, Refusal):
            screen.editing = editing
            screen.refuse(sent)
            return False
        self._after_send()
        if sent.branched:
            await screen.show_path()
        elif sent.user is not None:
            await screen.chat_pane().add(sent.user)
        if sent.user is not None:
            prefill, screen.prefill = screen.prefill, ""
            screen.composer().show_prefill("")
            await self._start(conversation.new_answer(sent.path, self.request_params(), prefill=prefill))
        screen.refresh_sessions()
        return True

    async def answer_with_prefill(self, path: list[ChatMessage], prefill: str) -> None:
        """Answer the last user turn of `path` with an answer that starts with `prefill`."""
        conversation = self.screen.conversation
        if conversation is not None and not self._busy():
            await self._start(conversation.new_answer(path, self.request_params(), prefill=prefill))

    def _clear_composer(self) -> None:
        """Leaving an edit: the composer gets back what it held before."""
        self.screen.composer().set_text(self._draft_before_edit or "")
        self._draft_before_edit = None
        self.screen.save_draft_now()

    def _after_send(self) -> None:
        """The composer emptied itself on Enter; after an edit, the draft it held before comes
        back, ahead of anything typed since."""
        if self._draft_before_edit:
            self.screen.composer().give_back(self._draft_before_edit)
        self._draft_before_edit = None
        self.screen.save_draft_now()

    def request_params(self) -> dict[str, Any]:
        session, watch = self.screen.session, self.screen.server_watch
        assert session is not None
        return self.screen.builder.params(
            session, total_slots=watch.total_slots, busy_slots=watch.busy_slots, router_mode=watch.router_mode
        )

    async def _start(self, plan: AnswerPlan | Refusal | None, view: MessageView | None = None) -> None:
        """Show the answer of `plan` (in `view`, or a new one) and stream it in a worker."""
        if plan is None:
            return  # the store refused it: reported already
        if isinstance(plan, Refusal):
            self.screen.refuse(plan)
            return
        screen, conversation = self.screen, self.screen.conversation
        assert conversation is not None
        if view is None:
            view = await screen.chat_pane().add(plan.answer)
            screen.annotate_alternatives([view])
        else:
            view.message = plan.answer
            view.update_footer()

        async def request() -> CompletionRequest:
            return await screen.builder.build(
                conversation.session,
                plan.path,
                plan.params,
                continue_final=plan.continue_final,
                suffix=plan.suffix,
            )

        # Through the session's saved cache: restored first if the server no longer holds it.
        turn = screen.caches.turn(conversation.session, request)
        work = self._generate(view, plan.answer, turn.request if turn else request, turn)
        self._worker = screen.start_worker(work, "generation", exclusive=True, exit_on_error=False)

    async def _generate(
        self,
        view: MessageView,
        answer: ChatMessage,
        request: Callable[[], Awaitable[CompletionRequest]],
        turn: CachedTurn | None = None,
    ) -> None:
        screen = self.screen
        generation = self._generation = Generation(screen.services.connection.client, screen.services.store)
        sink = ViewSink(self, view)
        if screen.server_watch.state is ServerState.SLEEPING:
            screen.notify("Waking the model: the first answer takes a moment.", title="llama-server")
            sink.show_status("waking model…")
        view.start_stream()
        screen.server_watch.note_activity()
        queued = asyncio.ensure_future(self._say_if_queued(sink, (answer.settings or {}).get("id_slot")))
        try:
            result = await generation.run(answer, request, sink)
        except asyncio.CancelledError:
            try:
                stopped = screen.services.store.get_message(answer.id) if answer.id is not None else None
            except (KeyError, StoreError):
                stopped = None
            await view.finish(stopped or answer.replace(content=view.text, state="interrupted"))
            raise
        finally:
            queued.cancel()
            screen.server_watch.note_activity()
            screen.update_context_meter()  # stopped, failed or complete: the conversation changed
        await view.finish(result.message)
        if turn is not None:  # where the session now sits; how a restore went (the footer says)
            view.message = await screen.caches.finish(turn, result)
            view.update_footer()
        if not result.saved:
            screen.writes.keep_answer(result.message)
        if result.error is not None:
            screen.notify(describe_error(result.error), title="llama-server", severity="error", markup=False)
            screen.answer_failed(result.error)

    async def _say_if_queued(self, sink: ViewSink, id_slot: object) -> None:
        """While the answer has not started, say so if its slot is busy with another request
        (otherwise "streaming…" with nothing coming looks like a hang)."""
        watch = self.screen.server_watch
        slot = id_slot if isinstance(id_slot, int) else None
        while not sink.started:
            await asyncio.sleep(QUEUE_CHECK_INTERVAL)
            await watch.refresh_slots()
            note = queue_note(slot, watch.slots)
            if note is not None:
                sink.show_status(note)

    # -- actions on one message ------------------------------------------------------------------

    async def act(self, view: MessageView, action: MessageAction) -> None:
        conversation = self.screen.conversation
        if conversation is None or view.message.id is None:
            return
        if action.changes_conversation and self._busy():
            return
        message = view.message
        if action is MessageAction.EDIT:
            self._edit(message)
        elif action is MessageAction.REGENERATE:
            await self._regenerate(conversation, message)
        elif action is MessageAction.CONTINUE:
            await self._start(conversation.continue_answer(message, self.request_params()), view)
        elif action in (MessageAction.PREVIOUS_ALTERNATIVE, MessageAction.NEXT_ALTERNATIVE):
            step = -1 if action is MessageAction.PREVIOUS_ALTERNATIVE else 1
            target = conversation.switch_alternative(message, step)
            if target is not None:
                await self.screen.show_path(focus_message=target)
                self.screen.update_context_meter()
        elif action is MessageAction.COPY:
            self.screen.app.copy_to_clipboard(message.content)
            self.screen.notify(f"Copied the message ({len(message.content):,} characters).")
        elif action is MessageAction.COPY_CODE:
            self._copy_code(message)
        elif action is MessageAction.FORK:
            await self._fork(conversation, message)
        elif action is MessageAction.PROBABILITIES:
            self._probabilities(message)

    def _edit(self, message: ChatMessage) -> None:
        composer = self.screen.composer()
        if self.screen.editing is None:
            self._draft_before_edit = composer.text
        self.screen.editing = message
        composer.set_text(message.content)
        composer.focus()
        what = "resends it" if message.role == "user" else "saves it"
        self.screen.notify(
            f"Editing the {'message' if message.role == 'user' else 'answer'}: Enter {what} as a new "
            "branch (the old one stays as an alternative); Esc cancels."
        )

    async def _regenerate(self, conversation: Conversation, message: ChatMessage) -> None:
        plan = conversation.regenerate(message, self.request_params())
        if isinstance(plan, AnswerPlan):
            await self.screen.chat_pane().show(plan.path)
            self.screen.annotate_alternatives(self.screen.chat_pane().views())
        await self._start(plan)
        self.screen.composer().focus()

    def _copy_code(self, message: ChatMessage) -> None:
        blocks = code_blocks(message.content)
        if not blocks or message.id is None:
            self.screen.notify("This message has no code block.", severity="warning")
            return
        # Pressing the key again copies the next block.
        index = (self._code_index.get(message.id, -1) + 1) % len(blocks)
        self._code_index[message.id] = index
        self.screen.app.copy_to_clipboard(blocks[index])
        self.screen.notify(f"Copied code block {index + 1} of {len(blocks)}.")

    async def _fork(self, conversation: Conversation, message: ChatMessage) -> None:
        fork = conversation.fork(message)
        if fork is not None:
            await self.screen.show_session(fork)
            self.screen.refresh_sessions()
            self.screen.notify(f"Forked into “{fork.title}”.", markup=False)

    def _probabilities(self, message: ChatMessage) -> None:
        if not message.probs:
            self.screen.notify(
                "No probabilities were recorded for this answer: set n_probs (e.g. 5) in the settings "
                "pane (ctrl+t), then regenerate.",
                severity="warning",
            )
            return
        self.screen.start_worker(self._pick_token(message), "probs")

    async def _pick_token(self, message: ChatMessage) -> None:
        choice = await self.screen.app.push_screen_wait(TokenProbsScreen(message.probs or []))
        if choice is not None:
            await self.regenerate_from_token(message, choice)

    async def regenerate_from_token(self, message: ChatMessage, choice: TokenChoice) -> None:
        """A new answer beside `message` that keeps its text up to the chosen token, puts the chosen
        alternative in its place (by token id, in the prompt) and lets the model go on from there."""
        conversation = self.screen.conversation
        assert conversation is not None and message.probs is not None
        start = int(message.probs[choice.index - 1].get("text_end", 0)) if choice.index > 0 else 0
        prefix = message.content[:start]
        plan = conversation.regenerate_from_token(message, prefix, choice.text, choice.token_id, self.request_params())
        if plan is None:
            return
        chat = self.screen.chat_pane()
        await chat.show(plan.path)
        self.screen.annotate_alternatives(chat.views())
        await self._start(plan)
