"""Answers on the main screen: sending the composer's text, streaming answers into the chat, Esc,
and the actions on one message (edit, regenerate, continue, alternatives, copy, fork, token
probabilities). The tree rules are in chat/conversation.py, the request in chat/request.py; this
puts them on screen and runs the generation in a worker held by reference.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from textual.worker import WorkerCancelled, WorkerFailed

from ..chat.conversation import AnswerPlan, Conversation, Refusal
from ..chat.generation import Generation, describe_error
from ..chat.request import CompletionRequest, queue_note
from ..chat.slot_cache_turn import CachedTurn
from ..domain import ChatMessage
from ..markdown_code import code_blocks
from ..sanitize import for_clipboard, one_line
from ..server_state import ServerState
from ..store import StoreError
from ..widgets.message_view import MessageAction, MessageView
from .host import ScreenHost
from .live_answer import LiveAnswer, ViewSink
from .token_probs import TokenChoice, TokenProbsScreen

# How often an answer that has not started looks whether it waits behind another request.
QUEUE_CHECK_INTERVAL = 1.0


class Answering:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        self._live: dict[int, LiveAnswer] = {}  # answers being generated, by session id
        self._draft_before_edit: str | None = None
        self._code_index: dict[int, int] = {}  # message id -> code block copied last (b)

    def _running(self, session_id: int | None) -> LiveAnswer | None:
        live = self._live.get(session_id) if session_id is not None else None
        return live if live is not None and live.running else None

    def _shown(self) -> LiveAnswer | None:
        """The answer being generated in the session on screen, if any."""
        session = self.screen.session
        return self._running(session.id if session is not None else None)

    @property
    def is_generating(self) -> bool:
        """Whether an answer of the session on screen is being generated."""
        return self._shown() is not None

    @property
    def generating_elsewhere(self) -> int:
        """How many answers of other sessions are being generated (off screen)."""
        shown = self._shown()
        return sum(1 for live in self._live.values() if live.running and live is not shown)

    def stop(self) -> bool:
        """Stop the answer being generated on screen, if any (what arrived is kept, marked
        interrupted). Returns at once; `stop_and_wait` waits until it has been saved."""
        live = self._shown()
        if live is None or live.worker is None:
            return False
        live.worker.cancel()
        return True

    async def stop_and_wait(self) -> bool:
        """`stop`, then wait until the answer has been saved (before its session is deleted: a
        save after the delete would take the session out of the trash again)."""
        live = self._shown()
        if not self.stop() or live is None:
            return False
        await _finished(live)
        return True

    async def stop_all(self) -> int:
        """Stop every answer being generated, on screen or not, and wait until each is saved
        (before the server connection changes under them). Returns how many."""
        running = [live for live in self._live.values() if live.running]
        for live in running:
            assert live.worker is not None
            live.worker.cancel()
        for live in running:
            await _finished(live)
        return len(running)

    def stop_thinking(self) -> None:
        """ctrl+g: end the model's reasoning where it is; the same answer goes on with the answer."""
        live = self._shown()
        if live is None:
            self.screen.notify("No answer is being generated.", severity="warning")
            return
        live.generation.end_reasoning()
        self.screen.notify("Ending the reasoning here: the model answers now (if it was still thinking).")

    # -- the chat pane shows a session: answers still streaming in it go on in its views ---------

    def live_path(self, path: list[ChatMessage]) -> list[ChatMessage]:
        """`path` with each answer still being generated here as it stands now (the store has it
        up to its last checkpoint)."""
        lives = {live.answer_id: live for live in self._live.values() if live.running}
        return [lives[m.id].sink.so_far() if m.id in lives else m for m in path]

    async def detach(self) -> None:
        """The chat pane is about to show something else: answers go on without their views."""
        for live in list(self._live.values()):
            await live.sink.detach()

    async def attach(self, views: list[MessageView]) -> None:
        """The chat pane shows `views`: answers still being generated go on in theirs."""
        lives = {live.answer_id: live for live in self._live.values() if live.running}
        for view in views:
            live = lives.get(view.message.id)
            if live is not None:
                await live.sink.attach(view)

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
        if screen.conversation is None or self._busy() or not await screen.ready_to_send():
            return False
        conversation = screen.conversation  # shown afresh if another window had changed it
        if conversation is None:
            return False
        if screen.server_watch.state is ServerState.AUTH_ERROR:
            screen.notify(
                "The server refused the API key: set api_key in the config or LLAMA_API_KEY.", severity="error"
            )
            return False
        if screen.server_watch.router_mode and not conversation.session.model:
            screen.notify("This server runs in router mode: pick a model for this session first (F7).")
            return False
        if not await screen.ready_to_send():  # a constraint the server refuses: the pane says why
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
        if conversation is not None and not self._busy() and await self.screen.ready_to_send():
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
        assert conversation is not None and conversation.session.id is not None
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

        services = screen.services
        sink = ViewSink(plan.answer, screen.writes.failed)
        session_id = conversation.session.id
        live = self._live[session_id] = LiveAnswer(
            session_id, Generation(services.connection.client, services.store), sink
        )
        sink.bind(view)
        if screen.server_watch.state is ServerState.SLEEPING:
            screen.notify("Waking the model: the first answer takes a moment.", title="llama-server")
            sink.show_status("waking model…")
        # Through the session's saved cache: restored first if the server no longer holds it.
        turn = screen.caches.turn(conversation.session, request)
        live.worker = screen.start_worker(
            self._generate(live, plan.answer, turn.request if turn else request, turn),
            f"generation-{session_id}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _generate(
        self,
        live: LiveAnswer,
        answer: ChatMessage,
        request: Callable[[], Awaitable[CompletionRequest]],
        turn: CachedTurn | None = None,
    ) -> None:
        screen, sink = self.screen, live.sink
        screen.server_watch.note_activity()
        queued = asyncio.ensure_future(self._say_if_queued(sink, (answer.settings or {}).get("id_slot")))
        try:
            try:
                result = await live.generation.run(answer, request, sink)
            except asyncio.CancelledError:
                try:
                    stopped = screen.services.store.get_message(answer.id) if answer.id is not None else None
                except (KeyError, StoreError):
                    stopped = None
                stopped = stopped or sink.so_far().replace(state="interrupted")
                if turn is not None:
                    turn.stopped(stopped)  # the slot holds it still: leaving the session saves it
                await sink.finish(stopped)
                raise
            shown = sink.view is not None
            message = result.message
            if turn is not None:  # where the session now sits; how a restore went (the footer says)
                message = await screen.caches.finish(turn, result)
            await sink.finish(message)
        finally:
            queued.cancel()
            screen.server_watch.note_activity()
            if self._live.get(live.session_id) is live:
                del self._live[live.session_id]
            screen.update_context_meter()  # stopped, failed or complete: the conversation changed
        if not result.saved:
            screen.writes.keep_answer(result.message)
        where = "" if shown else self._where(live.session_id)
        if result.error is not None:
            screen.notify(describe_error(result.error) + where, title="llama-server", severity="error", markup=False)
            screen.answer_failed(result.error)
        elif not shown:
            screen.notify(f"The answer{where} is complete.", markup=False)

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

    def _where(self, session_id: int) -> str:
        """' in “title”' for a session not on screen."""
        session = self.screen.sessions.get(session_id)
        return f" in “{one_line(session.title or 'New session', 40)}”" if session is not None else ""

    # -- actions on one message ------------------------------------------------------------------

    async def act(self, view: MessageView, action: MessageAction) -> None:
        conversation = self.screen.conversation
        if conversation is None or view.message.id is None:
            return
        if action.changes_conversation and self._busy():
            return
        if action in (MessageAction.REGENERATE, MessageAction.CONTINUE) and not await self.screen.ready_to_send():
            return
        message = view.message
        if action in (MessageAction.REGENERATE, MessageAction.CONTINUE) and not await self.screen.ready_to_send():
            return  # another window changed the session (shown now) or still writes its answer
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
            # Neutralised: a paste into a terminal must never run anything (README "Reliability").
            self.screen.app.copy_to_clipboard(for_clipboard(message.content))
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
        self.screen.app.copy_to_clipboard(for_clipboard(blocks[index]))
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
        if not await self.screen.ready_to_send():
            return
        start = int(message.probs[choice.index - 1].get("text_end", 0)) if choice.index > 0 else 0
        prefix = message.content[:start]
        plan = conversation.regenerate_from_token(message, prefix, choice.text, choice.token_id, self.request_params())
        if plan is None:
            return
        chat = self.screen.chat_pane()
        await chat.show(plan.path)
        self.screen.annotate_alternatives(chat.views())
        await self._start(plan)


async def _finished(live: LiveAnswer) -> None:
    """Wait until a cancelled answer's worker has ended (and so saved what arrived)."""
    if live.worker is not None:
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await live.worker.wait()
