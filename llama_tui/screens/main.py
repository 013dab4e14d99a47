"""The main screen: sidebar | chat + composer | settings, with the status bar.

It routes widget messages to the store and the client. Network work runs in workers so the UI
never waits on the server.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ..chat.generation import Generation, build_history, describe_error
from ..chat.server_watch import HealthPoller
from ..client import AuthenticationError, LlamaError, NotSupported, ProgressEvent, Props
from ..domain import ChatMessage, Session, SessionSummary, default_title
from ..markdown_code import code_blocks
from ..sanitize import one_line
from ..server_state import ServerState
from ..store import StoreError
from ..templates import template_names
from ..widgets.chat_pane import ChatPane
from ..widgets.composer import Composer
from ..widgets.message_view import MessageAction, MessageView
from ..widgets.settings_pane import SettingsPane
from ..widgets.sidebar import SIDEBAR_LIMIT, Sidebar
from ..widgets.status_bar import StatusBar
from .confirm import ConfirmScreen
from .help import HelpScreen
from .model_picker import ModelPickerScreen
from .prompt_preview import PromptPreviewScreen
from .search import SearchScreen
from .session_switcher import SessionSwitcher
from .text_prompt import TextPromptScreen
from .token_probs import TokenChoice, TokenProbsScreen

if TYPE_CHECKING:
    from ..app import LlamaTui


def slug(title: str) -> str:
    """A file-name-safe version of a session title."""
    return re.sub(r"[^\w.-]+", "-", title).strip("-")[:60] or "session"


# Always on: the prompt-progress bar needs return_progress; cache_prompt keeps the KV cache warm.
BASE_PARAMS: dict[str, Any] = {"return_progress": True, "cache_prompt": True}


class ViewSink:
    """Puts a generation on screen: text into the message view, progress into its bar."""

    def __init__(self, screen: MainScreen, view: MessageView) -> None:
        self.screen = screen
        self.view = view

    async def on_text(self, text: str) -> None:
        await self.view.write(text)

    def on_progress(self, event: ProgressEvent) -> None:
        self.view.show_progress(event.fraction)

    def on_store_error(self, error: StoreError) -> None:
        self.screen.store_failed(error)


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+n", "new_session", "New"),
        Binding("escape", "stop", "Stop", show=False),
        Binding("ctrl+k", "switcher", "Switch", priority=True),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar"),
        Binding("ctrl+t", "toggle_settings", "Settings"),
        Binding("ctrl+up", "previous_session", "Previous session", show=False, priority=True),
        Binding("ctrl+down", "next_session", "Next session", show=False, priority=True),
        Binding("f1", "help", "Help"),
        Binding("f2", "rename_session", "Rename", show=False),
        Binding("f3", "duplicate_session", "Duplicate", show=False),
        Binding("f8", "delete_session", "Delete", show=False),
        # alt+letter arrives as ESC + letter, which the composer would type: these need priority.
        Binding("alt+u", "undo_delete", "Undo delete", show=False, priority=True),
        Binding("f4", "toggle_pin", "Pin", show=False, priority=True),
        Binding("f5", "prefill", "Prefill answer", show=False, priority=True),
        Binding("f6", "prompt_preview", "Prompt", priority=True),
        Binding("alt+up", "focus_messages", "Messages", show=False, priority=True),
        Binding("ctrl+f", "search", "Search", priority=True),
        Binding("f9", "server_monitor", "Monitor", priority=True),
        Binding("f7", "pick_model", "Model", show=False, priority=True),
        *(
            Binding(f"alt+{n}", f"nth_session({n - 1})", f"Session {n}", show=False, priority=True)
            for n in range(1, 10)
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.props: Props | None = None
        self.server_state = ServerState.UNKNOWN
        self._deleted: list[int] = []
        self._filter = ""
        self._draft_timer: Any = None
        self._unsaved = False
        self._unsaved_answers: dict[int, ChatMessage] = {}  # answers the store refused; saved when it works again
        self._generating_view: MessageView | None = None
        self.router_mode = False  # llama-server --models-dir: each session names its model
        self._editing: ChatMessage | None = None  # a message being edited in the composer
        self._draft_before_edit: str | None = None
        self._prefill = ""  # text the next answer starts with (F5)

    @property
    def tui(self) -> LlamaTui:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="center"):
                yield ChatPane(id="chat")
                yield Composer(id="composer")
            yield SettingsPane(id="settings")
        yield StatusBar(id="status")
        yield Footer()

    # -- start-up ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        tui = self.tui
        self.query_one(SettingsPane).display = False
        self.query_one(StatusBar).set_server(tui.client.base_url, ServerState.UNKNOWN)
        self.query_one(SettingsPane).set_presets(sorted(tui.config.presets))
        self.refresh_sessions()
        self.call_after_refresh(self._open_initial)
        # After the first frame: the first request imports aiohttp (~0.1 s).
        self.call_after_refresh(self._poll_health)

    async def _open_initial(self) -> None:
        tui = self.tui
        target = tui.initial_session
        if target is None and not tui.new_session:
            # The session used last, pinned or not (the list puts pinned ones first).
            sessions = tui.store.list_sessions(limit=SIDEBAR_LIMIT)
            target = max(sessions, key=lambda x: x.updated_at).id if sessions else None
        if target is None:
            await self.new_session()
        else:
            await self.open_session(target)
        self.query_one(Composer).focus()

    # -- sessions ------------------------------------------------------------------------------

    def refresh_sessions(self) -> list[SessionSummary]:
        sessions = self.tui.store.list_sessions(self._filter, limit=SIDEBAR_LIMIT + 1)
        more = len(sessions) > SIDEBAR_LIMIT
        sessions = sessions[:SIDEBAR_LIMIT]
        selected = self.session.id if self.session else None
        self.query_one(Sidebar).set_sessions(sessions, now=self.tui.clock(), selected_id=selected, more=more)
        return sessions

    async def new_session(self) -> None:
        cfg = self.tui.config
        from ..domain import SamplingSettings

        profile = cfg.servers.get(self.tui.server_name or "")
        template = (profile.default_template if profile else None) or cfg.default_template
        session = Session(
            template=template, settings=SamplingSettings.from_dict(cfg.default_settings), server=self.tui.server_name
        )
        session = self._write(self.tui.store.create_session, session) or session
        await self._show_session(session)
        self.refresh_sessions()

    async def open_session(self, session_id: int) -> None:
        if self.session is not None and self.session.id == session_id:
            return
        try:
            session = self.tui.store.get_session(session_id)
        except KeyError:
            self.notify("That session no longer exists.", severity="warning")
            self.refresh_sessions()
            return
        await self._show_session(session)

    async def _show_session(self, session: Session) -> None:
        self._save_draft_now()
        if self.is_generating:
            self.action_stop()
        self.session = session
        self._editing = None
        if session.server and session.server != self.tui.server_name and session.server in self.tui.config.servers:
            await self.tui.use_server(session.server)  # each session remembers its server
        elif self.router_mode and self.tui.client.model != session.model:
            self.tui.client.model = session.model  # each session remembers its model
            self._refresh_model()
        await self._show_session_path()
        composer = self.query_one(Composer)
        composer.set_text(session.draft)
        self._fill_settings()
        if session.id is not None:
            self.query_one(Sidebar).highlight_session(session.id)
        self._update_context_meter()

    async def _show_session_path(self, focus_message: int | None = None) -> None:
        """Show the session's active path (after a switch, an edit, or a change of branch)."""
        assert self.session is not None
        path = self.tui.store.active_path(self.session.id) if self.session.id is not None else []
        chat = self.query_one(ChatPane)
        await chat.show(path)
        views = chat.views()
        self._annotate_alternatives(views)
        for view in views:
            if view.message.id == focus_message:
                view.focus()
                view.scroll_visible(animate=False)

    @on(ChatPane.Paged)
    def _paged(self, event: ChatPane.Paged) -> None:
        self._annotate_alternatives(event.views)

    def _annotate_alternatives(self, views: list[MessageView]) -> None:
        """Mark messages that have siblings (edits, regenerations) with '‹ i/n ›'."""
        for view in views:
            if view.message.id is None:
                continue
            siblings = self.tui.store.siblings(view.message.id)
            if len(siblings) > 1:
                ids = [m.id for m in siblings]
                view.set_alternatives(ids.index(view.message.id) + 1, len(siblings))

    def _fill_settings(self) -> None:
        if self.session is None:
            return
        names = template_names() + [n for n in self.tui.custom_templates if n not in template_names()]
        self.query_one(SettingsPane).set_values(
            template=self.session.template,
            template_names=names,
            system_prompt=self.session.system_prompt,
            settings=self.session.settings,
            server_defaults=self.props.default_params if self.props else {},
        )

    @on(Sidebar.SessionSelected)
    async def _session_selected(self, event: Sidebar.SessionSelected) -> None:
        await self.open_session(event.session_id)

    @on(Sidebar.FilterChanged)
    def _filter_changed(self, event: Sidebar.FilterChanged) -> None:
        self._filter = event.text
        self.refresh_sessions()

    async def action_new_session(self) -> None:
        await self.new_session()
        self.query_one(Composer).focus()

    def action_next_session(self) -> None:
        self.query_one(Sidebar).select_next()

    def action_previous_session(self) -> None:
        self.query_one(Sidebar).select_previous()

    def action_nth_session(self, index: int) -> None:
        self.query_one(Sidebar).select_index(index)

    @work(group="switcher")
    async def action_switcher(self) -> None:
        chosen = await self.app.push_screen_wait(SessionSwitcher(self.tui.store.list_sessions(), now=self.tui.clock()))
        if chosen is not None:
            await self.open_session(chosen)
            self.query_one(Composer).focus()

    @work(group="rename")
    async def action_rename_session(self) -> None:
        if self.session is None or self.session.id is None:
            return
        title = await self.app.push_screen_wait(TextPromptScreen("Rename session", self.session.title))
        if title is not None and title.strip():
            self.session.title = title.strip()
            self._write(self.tui.store.rename_session, self.session.id, self.session.title)
            self.refresh_sessions()

    async def action_duplicate_session(self) -> None:
        if self.session is None or self.session.id is None:
            return
        self._save_draft_now()
        copy = self._write(self.tui.store.duplicate_session, self.session.id)
        if copy is not None:
            await self._show_session(copy)
            self.refresh_sessions()
            self.notify(f"Duplicated as “{one_line(copy.title)}”", markup=False)

    @work(group="delete")
    async def action_delete_session(self) -> None:
        if self.session is None or self.session.id is None:
            return
        title = self.session.title or "New session"
        if not await self.app.push_screen_wait(ConfirmScreen(f"Delete “{title}”?")):
            return
        session_id = self.session.id
        if self.is_generating:
            self.action_stop()
        if self._write(self.tui.store.delete_session, session_id) is False:
            return
        self._deleted.append(session_id)
        self.session = None
        sessions = self.refresh_sessions()
        if sessions:
            await self.open_session(sessions[0].id)
        else:
            await self.new_session()
        self.notify(f"Deleted “{one_line(title)}”. Press alt+u to undo.", markup=False)

    async def action_undo_delete(self) -> None:
        if not self._deleted:
            self.notify("Nothing to undo.")
            return
        session_id = self._deleted.pop()
        self._write(self.tui.store.restore_session, session_id)
        self.refresh_sessions()
        await self.open_session(session_id)

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.display = not sidebar.display

    async def action_toggle_settings(self) -> None:
        pane = self.query_one(SettingsPane)
        await pane.build()
        pane.display = not pane.display
        if pane.display:
            pane.focus()
        else:
            self.query_one(Composer).focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    # -- composing and sending ----------------------------------------------------------------

    @on(Composer.Changed)
    def _draft_changed(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.5, self._save_draft_now)

    def _save_draft_now(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.session is None or self.session.id is None or not self.is_mounted:
            return
        text = self.query_one(Composer).text
        # Remember the draft as saved only once it is: a failed write is tried again next time.
        if text != self.session.draft and self._write(self.tui.store.save_draft, self.session.id, text) is not False:
            self.session.draft = text

    @on(Composer.RecallLast)
    def _recall_last(self) -> None:
        for view in reversed(self.query_one(ChatPane).views()):
            if view.message.role == "user":
                self.query_one(Composer).set_text(view.message.content)
                return

    def _generation_workers(self) -> list[Any]:
        return [w for w in self.app.workers if w.node is self and w.group == "generation" and w.is_running]

    @property
    def is_generating(self) -> bool:
        return bool(self._generation_workers())

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        await self.send(event.text)

    async def send(self, text: str) -> None:
        if self.session is None:
            return
        if self.session.id is None:  # made while the store refused writes
            self.notify(
                "This session could not be saved, so it cannot be sent from; your text stays in the "
                "composer. Free some space or fix the data folder's permissions, then start a new session.",
                severity="error",
            )
            return
        if self.is_generating:
            self.notify("Still answering: press Esc to stop it first.", severity="warning")
            return
        if self.server_state is ServerState.AUTH_ERROR:
            self.notify("The server refused the API key: set api_key in the config or LLAMA_API_KEY.", severity="error")
            return
        if self.router_mode and not self.session.model:
            self.notify(
                "This server runs in router mode: pick a model for this session first (F7).", severity="warning"
            )
            return
        store = self.tui.store
        session = self.session
        assert session.id is not None  # checked above
        editing, self._editing = self._editing, None
        path = store.active_path(session.id)
        if editing is not None and editing.id is not None:
            # An edit becomes a sibling of the edited message: the old branch stays as an alternative.
            path = path[: next((i for i, m in enumerate(path) if m.id == editing.id), len(path))]
            if editing.role == "assistant":
                edited = self._write(
                    store.add_message,
                    editing.replace(id=None, content=text, state="complete", parent_id=editing.parent_id, error=None),
                )
                if edited is not None:
                    session.head_id = edited.id
                    self._clear_composer()
                    await self._show_session_path()
                return
        parent_id = path[-1].id if path else None
        # The user's turn is committed before anything is sent.
        user = self._write(
            store.add_message, ChatMessage(role="user", content=text, session_id=session.id, parent_id=parent_id)
        )
        if user is None:
            self.notify(
                "Could not save your message, so it was not sent; it is still in the composer.", severity="error"
            )
            return
        session.head_id = user.id
        if not session.title:
            session.title = default_title(text)
            self._write(store.rename_session, session.id, session.title)
        self._clear_composer()
        if editing is not None:
            await self._show_session_path()
        else:
            await self.query_one(ChatPane).add(user)
        await self._start_answer(user, [*path, user], prefill=self._take_prefill())
        self.refresh_sessions()

    def _clear_composer(self) -> None:
        self.query_one(Composer).set_text(self._draft_before_edit or "")
        self._draft_before_edit = None
        self._save_draft_now()

    def _take_prefill(self) -> str:
        prefill, self._prefill = self._prefill, ""
        return prefill

    def _request_params(self) -> dict[str, Any]:
        """The /completion parameters of the next request in this session."""
        assert self.session is not None and self.session.id is not None
        params = {**BASE_PARAMS, **self.session.settings.to_params()}
        if self.props is not None and self.props.total_slots > 1:
            # One slot per session: switching sessions keeps each one's KV cache warm.
            params.setdefault("id_slot", self.session.id % self.props.total_slots)
        return params

    async def _start_answer(self, parent: ChatMessage, path: list[ChatMessage], *, prefill: str = "") -> None:
        """Add an assistant answer under `parent` (the end of `path`) and stream it. With a prefill
        the answer starts with that text and the model continues it."""
        session = self.session
        assert session is not None and session.id is not None
        params = self._request_params()
        answer = self._write(
            self.tui.store.add_message,
            ChatMessage(
                role="assistant",
                content=prefill,
                session_id=session.id,
                parent_id=parent.id,
                state="streaming",
                settings=params,
            ),
        )
        if answer is None:
            return
        session.head_id = answer.id
        view = await self.query_one(ChatPane).add(answer)
        self._annotate_alternatives([view])
        history = build_history(session, [*path, answer] if prefill else path)
        self._generate(view, answer, history, session.template, params, continue_final=bool(prefill))

    @work(exclusive=True, group="generation", exit_on_error=False)
    async def _generate(
        self,
        view: MessageView,
        answer: ChatMessage,
        history: list[ChatMessage],
        template: str,
        params: dict[str, Any],
        *,
        continue_final: bool = False,
        raw_prompt: list[int | str] | None = None,
    ) -> None:
        generation = Generation(self.tui.client, self.tui.store, custom_templates=self.tui.custom_templates)
        self._generating_view = view
        if self.server_state is ServerState.SLEEPING:
            self.notify("Waking the model: the first answer takes a moment.", title="llama-server")
            view.show_status("waking model…")
        view.start_stream()
        started = time.perf_counter()
        try:
            result = await generation.run(
                answer,
                history,
                template,
                params,
                ViewSink(self, view),
                continue_final=continue_final,
                raw_prompt=raw_prompt,
            )
        except asyncio.CancelledError:
            try:
                stopped = self.tui.store.get_message(answer.id) if answer.id is not None else None
            except (KeyError, StoreError):
                stopped = None
            if stopped is None:
                stopped = answer.replace(content=view.text, state="interrupted")
            await view.finish(stopped)
            raise
        finally:
            self._generating_view = None
        await view.finish(result.message)
        if not result.saved and result.message.id is not None:
            self._unsaved_answers[result.message.id] = result.message
        if result.error is not None:
            self.notify(describe_error(result.error), title="llama-server", severity="error", markup=False)
            self.poke_health()
            if isinstance(result.error, AuthenticationError):
                self._set_state(ServerState.AUTH_ERROR, result.error.message)
        elapsed = time.perf_counter() - started
        self.log(f"generation finished in {elapsed:.2f}s")
        self._update_context_meter()

    def action_stop(self) -> None:
        """Esc: stop the answer being generated (what arrived is kept, marked interrupted);
        otherwise leave an edit, or go back to the composer."""
        workers = self._generation_workers()
        for worker in workers:
            worker.cancel()
        if workers:
            return
        if self._editing is not None:
            self._editing = None
            self._clear_composer()
            self.notify("Edit cancelled.")
        self.query_one(Composer).focus()

    # -- acting on one message ----------------------------------------------------------------

    @on(MessageView.ActionRequested)
    async def _message_action(self, event: MessageView.ActionRequested) -> None:
        if self.session is None or event.view.message.id is None:
            return
        if self.is_generating and event.action.changes_conversation:
            self.notify("Still answering: press Esc to stop it first.", severity="warning")
            return
        handlers = {
            MessageAction.EDIT: self._message_edit,
            MessageAction.REGENERATE: self._message_regenerate,
            MessageAction.CONTINUE: self._message_continue,
            MessageAction.PREVIOUS_ALTERNATIVE: self._message_previous_alternative,
            MessageAction.NEXT_ALTERNATIVE: self._message_next_alternative,
            MessageAction.COPY: self._message_copy,
            MessageAction.COPY_CODE: self._message_copy_code,
            MessageAction.FORK: self._message_fork,
            MessageAction.PROBABILITIES: self._message_probabilities,
        }
        await handlers[event.action](event.view, event.view.message)

    def _path_until(self, message: ChatMessage, *, inclusive: bool) -> list[ChatMessage]:
        assert self.session is not None
        session_id = self.session.id
        path = self.tui.store.active_path(session_id) if session_id is not None else []
        for i, m in enumerate(path):
            if m.id == message.id:
                return path[: i + 1] if inclusive else path[:i]
        return path

    async def _message_edit(self, view: MessageView, message: ChatMessage) -> None:
        composer = self.query_one(Composer)
        if self._editing is None:
            self._draft_before_edit = composer.text
        self._editing = message
        composer.set_text(message.content)
        composer.focus()
        what = "resends it" if message.role == "user" else "saves it"
        self.notify(
            f"Editing the {'message' if message.role == 'user' else 'answer'}: Enter {what} as a new "
            "branch (the old one stays as an alternative); Esc cancels."
        )

    async def _message_regenerate(self, view: MessageView, message: ChatMessage) -> None:
        """A new answer beside this one (or, on a user message, beside its answer)."""
        assert self.session is not None
        parent_path = self._path_until(message, inclusive=message.role == "user")
        if not parent_path or parent_path[-1].role != "user":
            self.notify("Regenerate needs a user message before the answer.", severity="warning")
            return
        self.session.head_id = parent_path[-1].id
        await self.query_one(ChatPane).show(parent_path)
        self._annotate_alternatives(self.query_one(ChatPane).views())
        await self._start_answer(parent_path[-1], parent_path)
        self.query_one(Composer).focus()

    async def _message_continue(self, view: MessageView, message: ChatMessage) -> None:
        """Continue an answer: the raw prompt ends with the partial answer, no new turn."""
        assert self.session is not None
        if message.role != "assistant" or message.id != self.session.head_id:
            self.notify("Continue works on the last answer of the conversation.", severity="warning")
            return
        path = self._path_until(message, inclusive=True)
        params = self._request_params()
        answer = message.replace(state="streaming", error=None)
        self._write(self.tui.store.update_message, answer)
        view.message = answer
        view.update_footer()
        view.start_stream()
        self._generate(
            view, answer, build_history(self.session, path), self.session.template, params, continue_final=True
        )

    async def _message_previous_alternative(self, view: MessageView, message: ChatMessage) -> None:
        await self._switch_alternative(message, -1)

    async def _message_next_alternative(self, view: MessageView, message: ChatMessage) -> None:
        await self._switch_alternative(message, 1)

    async def _switch_alternative(self, message: ChatMessage, step: int) -> None:
        assert self.session is not None and self.session.id is not None and message.id is not None
        store = self.tui.store
        siblings = store.siblings(message.id)
        ids = [m.id for m in siblings]
        index = ids.index(message.id) + step
        if not 0 <= index < len(siblings):
            return
        target = siblings[index].id
        assert target is not None
        head = store.latest_leaf(target)  # show that branch's latest continuation
        if self._write(store.set_head, self.session.id, head) is False:
            return
        self.session.head_id = head
        await self._show_session_path(focus_message=target)
        self._update_context_meter()

    async def _message_copy(self, view: MessageView, message: ChatMessage) -> None:
        self.app.copy_to_clipboard(message.content)
        self.notify(f"Copied the message ({len(message.content):,} characters).")

    async def _message_copy_code(self, view: MessageView, message: ChatMessage) -> None:
        blocks = code_blocks(message.content)
        if not blocks:
            self.notify("This message has no code block.", severity="warning")
            return
        # Pressing the key again copies the next block.
        index = getattr(view, "_code_index", -1) + 1
        index = index if index < len(blocks) else 0
        view._code_index = index  # type: ignore[attr-defined]
        self.app.copy_to_clipboard(blocks[index])
        self.notify(f"Copied code block {index + 1} of {len(blocks)}.")

    async def _message_fork(self, view: MessageView, message: ChatMessage) -> None:
        """A new session holding the conversation up to this message."""
        assert self.session is not None
        store = self.tui.store
        source = self.session
        fork = self._write(
            store.create_session,
            Session(
                title=f"{source.title or 'New session'} (fork)",
                template=source.template,
                system_prompt=source.system_prompt,
                settings=source.settings.copy(),
                server=source.server,
                model=source.model,
            ),
        )
        if fork is None:
            return
        parent: int | None = None
        for m in self._path_until(message, inclusive=True):
            copy = self._write(store.add_message, m.replace(id=None, session_id=fork.id, parent_id=parent))
            if copy is None:
                return
            parent = copy.id
        await self._show_session(store.get_session(fork.id))
        self.refresh_sessions()
        self.notify(f"Forked into “{one_line(fork.title)}”.", markup=False)

    async def _message_probabilities(self, view: MessageView, message: ChatMessage) -> None:
        if not message.probs:
            self.notify(
                "No probabilities were recorded for this answer: set n_probs (e.g. 5) in the settings "
                "pane (ctrl+t), then regenerate.",
                severity="warning",
            )
            return
        self._pick_token_alternative(message)

    @work(group="probs")
    async def _pick_token_alternative(self, message: ChatMessage) -> None:
        choice = await self.app.push_screen_wait(TokenProbsScreen(message.probs or []))
        if choice is not None:
            await self.regenerate_from_token(message, choice)

    async def regenerate_from_token(self, message: ChatMessage, choice: TokenChoice) -> None:
        """A new answer beside `message` that keeps its text up to the chosen token, puts the chosen
        alternative in its place (by token id, in the prompt) and lets the model go on from there."""
        session = self.session
        assert session is not None and session.id is not None and message.probs is not None
        start = int(message.probs[choice.index - 1].get("text_end", 0)) if choice.index > 0 else 0
        prefix = message.content[:start]
        parent_path = self._path_until(message, inclusive=False)
        history = build_history(session, parent_path)
        try:
            prompt, stops = await self.tui.client.render_chat(
                history, session.template, custom_templates=self.tui.custom_templates
            )
        except LlamaError as e:
            self.notify(describe_error(e), severity="error", markup=False)
            return
        params = self._request_params()
        if stops:
            params["stop"] = [*params.get("stop", []), *stops]
        session.head_id = parent_path[-1].id if parent_path else None
        await self.query_one(ChatPane).show(parent_path)
        answer = self._write(
            self.tui.store.add_message,
            ChatMessage(
                role="assistant",
                content=prefix + choice.text,
                session_id=session.id,
                parent_id=message.parent_id,
                state="streaming",
                settings=params,
            ),
        )
        if answer is None:
            return
        session.head_id = answer.id
        chat = self.query_one(ChatPane)
        self._annotate_alternatives(chat.views())
        view = await chat.add(answer)
        self._annotate_alternatives([view])
        self._generate(view, answer, history, session.template, params, raw_prompt=[prompt + prefix, choice.token_id])

    @work(group="search")
    async def action_search(self) -> None:
        """Search every session (FTS5); Enter opens the session at that message."""
        found = await self.app.push_screen_wait(SearchScreen(self.tui.store))
        if found is None:
            return
        session_id, message_id = found
        store = self.tui.store
        # The hit may sit on a branch that is not shown: make its latest continuation the head.
        if self._write(store.set_head, session_id, store.latest_leaf(message_id)) is False:
            return
        self.session = None  # re-read: the head changed
        await self._show_session(store.get_session(session_id))
        await self._show_session_path(focus_message=message_id)
        await self.query_one(ChatPane).reveal(message_id)

    @work(group="export")
    async def export_session(self, fmt: str, *, everything: bool = False) -> None:
        """Write the session (or all sessions) to a file the user names."""
        from ..transfer import export_sessions_json, session_to_markdown, write_export

        if self.session is None or self.session.id is None:
            return
        stem = "llama-tui-sessions" if everything else slug(self.session.title or "session")
        default = str(Path.cwd() / f"{stem}.{'md' if fmt == 'md' else 'json'}")
        target = await self.app.push_screen_wait(TextPromptScreen("Export to file", default))
        if not target:
            return
        store = self.tui.store
        try:
            if fmt == "md":
                data: Any = session_to_markdown(store, self.session.id)
            else:
                data = export_sessions_json(store, None if everything else [self.session.id])
            path = write_export(Path(target).expanduser(), data)
        except (OSError, StoreError) as e:
            self.notify(f"Export failed: {e}", severity="error", markup=False)
            return
        self.notify(f"Exported to {path}", markup=False)

    @work(group="import")
    async def import_sessions(self) -> None:
        """Import a llama-tui JSON export or a llama.cpp web UI conversation export."""
        from ..transfer import ImportFormatError, import_any, read_import_file

        source = await self.app.push_screen_wait(
            TextPromptScreen("Import sessions from file", "", "path/to/export.json")
        )
        if not source:
            return
        try:
            ids = import_any(self.tui.store, read_import_file(Path(source).expanduser()))
        except (ImportFormatError, OSError, StoreError) as e:
            self.notify(f"Import failed: {e}", severity="error", markup=False)
            return
        self.refresh_sessions()
        if ids:
            await self.open_session(ids[-1])
        self.notify(f"Imported {len(ids)} session{'s' if len(ids) != 1 else ''}.")

    def action_focus_messages(self) -> None:
        views = self.query_one(ChatPane).views()
        if views:
            views[-1].focus()
            views[-1].scroll_visible(animate=False)

    def action_toggle_pin(self) -> None:
        if self.session is None or self.session.id is None:
            return
        self.session.pinned = not self.session.pinned
        self._write(self.tui.store.set_pinned, self.session.id, self.session.pinned)
        self.refresh_sessions()
        self.notify("Pinned to the top." if self.session.pinned else "Unpinned.")

    @work(group="prefill")
    async def action_prefill(self) -> None:
        """Start the next answer with text of your own; the model continues from there."""
        if self.session is None or self.session.id is None:
            return
        text = await self.app.push_screen_wait(
            TextPromptScreen("Start the answer with…", self._prefill, "e.g. Sure! Here is")
        )
        if text is None:
            return
        composer = self.query_one(Composer)
        if composer.text.strip():
            self._prefill = text
            self.notify("The next answer will start with your text. Press Enter to send.")
            composer.focus()
            return
        path = self.tui.store.active_path(self.session.id)
        if not path or path[-1].role != "user":
            self._prefill = text
            self.notify("Type your message: its answer will start with your text.")
            composer.focus()
            return
        await self._start_answer(path[-1], path, prefill=text)

    def action_prompt_preview(self) -> None:
        if self.session is None or self.session.id is None:
            return
        path = self.tui.store.active_path(self.session.id)
        pending = self.query_one(Composer).text
        if pending.strip() and self._editing is None:
            path = [*path, ChatMessage(role="user", content=pending)]
        history = build_history(self.session, path)
        self.app.push_screen(
            PromptPreviewScreen(self.tui.client, history, self.session.template, self.tui.custom_templates)
        )

    # -- settings ------------------------------------------------------------------------------

    @on(SettingsPane.SettingChanged)
    def _setting_changed(self, event: SettingsPane.SettingChanged) -> None:
        if self.session is None:
            return
        self.session.settings.set(event.name, event.value)
        self._write(self.tui.store.update_session, self.session)

    @on(SettingsPane.ResetAll)
    def _reset_all(self) -> None:
        if self.session is None:
            return
        from ..domain import SamplingSettings

        self.session.settings = SamplingSettings()
        self._write(self.tui.store.update_session, self.session)
        self._fill_settings()

    @on(SettingsPane.TemplateChanged)
    def _template_changed(self, event: SettingsPane.TemplateChanged) -> None:
        if self.session is None:
            return
        self.session.template = event.name
        self._write(self.tui.store.update_session, self.session)
        self._update_context_meter()

    @on(SettingsPane.SystemPromptChanged)
    def _system_prompt_changed(self, event: SettingsPane.SystemPromptChanged) -> None:
        if self.session is None:
            return
        self.session.system_prompt = event.text
        self._write(self.tui.store.update_session, self.session)

    @on(SettingsPane.PresetApplied)
    def _preset_applied(self, event: SettingsPane.PresetApplied) -> None:
        if self.session is None:
            return
        from ..domain import SamplingSettings

        values = self.tui.config.presets.get(event.name)
        if values is None:
            return
        self.session.settings = SamplingSettings.from_dict(values)
        self._write(self.tui.store.update_session, self.session)
        self._fill_settings()
        self.notify(f"Preset “{event.name}” applied.", markup=False)

    @on(SettingsPane.SavePresetRequested)
    @work(group="preset")
    async def _save_preset(self) -> None:
        if self.session is None:
            return
        name = await self.app.push_screen_wait(TextPromptScreen("Save settings as preset", "", "preset name"))
        if not name or not name.strip():
            return
        from ..config import ConfigError, save_preset

        try:
            save_preset(self.tui.config_path, name.strip(), self.session.settings.to_dict())
        except (ConfigError, OSError) as e:
            self.notify(f"Preset not saved: {e}", severity="error", markup=False)
            return
        self.tui.config.presets[name.strip()] = self.session.settings.to_dict()
        self.query_one(SettingsPane).set_presets(sorted(self.tui.config.presets))
        self.notify(f"Preset “{name.strip()}” saved to {self.tui.config_path}.", markup=False)

    # -- server --------------------------------------------------------------------------------

    @work(group="health", exit_on_error=False)
    async def _poll_health(self) -> None:
        tui = self.tui

        async def check() -> Props:
            return await self._fetch_props()  # the poller reads is_sleeping from it

        self._poller = HealthPoller(tui.client.health, self._on_health, base=tui.config.health_interval, check=check)
        await self._poller.run()

    @work(group="model-picker")
    async def action_pick_model(self) -> None:
        """Router mode: choose the model this session talks to."""
        if self.session is None or self.session.id is None:
            return
        if not self.router_mode:
            self.notify("This server serves one model; the model picker is for router mode (--models-dir).")
            return
        chosen = await self.app.push_screen_wait(ModelPickerScreen(self.tui.client, self.session.model))
        if chosen is None or chosen == self.session.model:
            return
        self.session.model = chosen
        self._write(self.tui.store.update_session, self.session)
        self.tui.client.model = chosen
        self.notify(f"This session now uses “{chosen}”.", markup=False)
        self._refresh_model()

    @work(exclusive=True, group="model", exit_on_error=False)
    async def _refresh_model(self) -> None:
        try:
            await self._fetch_props()
        except LlamaError as e:
            self.notify(describe_error(e), title="llama-server", severity="error", markup=False)

    def action_server_monitor(self) -> None:
        from .monitor import ServerMonitorScreen

        if not isinstance(self.app.screen, ServerMonitorScreen):
            self.app.push_screen(ServerMonitorScreen(self.tui.client, server=self.tui.managed_server))

    async def switch_server(self, name: str) -> None:
        """Use the [servers.NAME] profile; this session remembers it."""
        if self.is_generating:
            self.action_stop()
        await self.tui.use_server(name)
        if self.session is not None and self.session.id is not None and self.session.server != name:
            self.session.server = name
            self._write(self.tui.store.update_session, self.session)
        self.notify(f"Using server “{name}” ({self.tui.client.base_url}).", markup=False)

    def server_changed(self) -> None:
        """The app switched to another server: forget this one's facts and start polling anew."""
        self.props = None
        self.router_mode = False
        self._set_state(ServerState.UNKNOWN)
        self.query_one(StatusBar).set_model("", 0)
        for worker in self.app.workers:
            if worker.node is self and worker.group in ("health", "slots", "context"):
                worker.cancel()
        self._poll_health()

    def poke_health(self) -> None:
        poller = getattr(self, "_poller", None)
        if poller is not None:
            poller.poke()

    def _on_health(self, state: ServerState, detail: str) -> None:
        self._set_state(state, detail)

    def _set_state(self, state: ServerState, detail: str = "") -> None:
        self.server_state = state
        self.query_one(StatusBar).set_server(self.tui.client.base_url, state, detail)

    async def _fetch_props(self) -> Props:
        client = self.tui.client
        props = await client.props()  # AuthenticationError here means a bad key
        if props.is_router:
            self.router_mode = True
        if self.router_mode:
            # Router mode: requests name the session's model; /props?model= gives its facts.
            client.model = self.session.model if self.session else None
            if client.model is None:
                self.props = props
                self.query_one(StatusBar).set_model("router: pick a model (F7)", 0)
                return props
            if props.is_router:
                props = await client.props()
        self.props = props
        self.query_one(StatusBar).set_model(props.model_name, props.n_ctx)
        self._fill_settings()
        self._update_context_meter()
        self._poll_slots()
        return props

    @work(exclusive=True, group="slots", exit_on_error=False)
    async def _poll_slots(self) -> None:
        try:
            slots = await self.tui.client.slots()
        except (NotSupported, LlamaError):
            return
        self.query_one(StatusBar).set_slots(sum(s.is_processing for s in slots), len(slots))

    @work(exclusive=True, group="context", exit_on_error=False)
    async def _update_context_meter(self) -> None:
        """Context used by this session: /tokenize of the rendered prompt, against n_ctx."""
        if self.session is None or self.session.id is None or self.props is None:
            return
        session, session_id = self.session, self.session.id
        history = build_history(session, self.tui.store.active_path(session_id))
        try:
            prompt, _ = await self.tui.client.render_chat(
                history, session.template, custom_templates=self.tui.custom_templates
            )
            tokens = await self.tui.client.tokenize(prompt)
        except LlamaError:
            return
        if self.session is session:
            self.query_one(StatusBar).set_context(len(tokens), self.props.n_ctx)

    # -- store failures ------------------------------------------------------------------------

    def _write(self, fn: Any, *args: Any) -> Any:
        """Run a store write; on failure say so once and keep working in memory. Returns the
        write's result (None for writes that return nothing), or False/None when it failed."""
        try:
            result = fn(*args)
        except StoreError as e:
            self.store_failed(e)
            return None if fn.__name__ in ("add_message", "create_session", "duplicate_session") else False
        if self._unsaved:
            self._unsaved = False
            if self._save_unsaved_answers():
                self.query_one(StatusBar).set_unsaved(False)
                self.notify("Saving works again.", severity="information")
        return result

    def _save_unsaved_answers(self) -> bool:
        """Save the answers kept only in memory while the store refused writes; False if it
        refuses again (store_failed has said so)."""
        for message_id, message in list(self._unsaved_answers.items()):
            try:
                self.tui.store.update_message(message)
            except StoreError as e:
                self.store_failed(e)
                return False
            del self._unsaved_answers[message_id]
        return True

    def store_failed(self, error: StoreError) -> None:
        self.query_one(StatusBar).set_unsaved(True)
        if not self._unsaved:
            self._unsaved = True
            self.notify(
                f"{error}. Unsaved changes are kept in memory while the app runs.",
                title="Cannot save",
                severity="error",
                timeout=10,
                markup=False,
            )
