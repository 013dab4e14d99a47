"""The main screen: sidebar | chat + composer | settings, with the status bar.

It lays the widgets out, binds the keys and routes widget messages to the chat services
(chat/: conversation, sessions, request, server watch). Helpers keep it small:
`Answering` (generation and actions on messages), `SessionDialogs` (rename, delete, search,
export, ...), `ServerPanel` (status bar, models, servers), `SessionCaches` (saved KV caches),
`SessionSettings` and `KnobActions` (the settings pane: every message it posts is a `PaneEdit`,
handled in one place).
"""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker

from ..chat.conversation import Conversation, Refusal
from ..chat.request import RequestBuilder
from ..chat.server_watch import ServerWatch
from ..chat.sessions import Sessions
from ..chat.writes import WriteGuard
from ..client import LlamaError, Props
from ..domain import ChatMessage, Session, SessionSummary
from ..server_state import ServerState
from ..services import AppServices
from ..templates.model import ModelTemplate
from ..widgets.chat_pane import ChatPane
from ..widgets.composer import Composer
from ..widgets.knob_fields import PaneEdit
from ..widgets.message_view import MessageView
from ..widgets.settings_pane import SettingsPane
from ..widgets.sidebar import SIDEBAR_LIMIT, Sidebar
from ..widgets.status_bar import StatusBar
from ..widgets.template_options import TemplateOptionsBox
from .answering import Answering
from .compare import open_compare
from .finder import ServerFinder
from .help import HelpScreen
from .host import Work
from .keys import MAIN_KEYS
from .knob_actions import KnobActions
from .main_actions import HelperActions
from .model_template import TemplateDetection
from .panes import Panes
from .server_panel import ServerPanel
from .session_caches import SessionCaches
from .session_dialogs import SessionDialogs
from .session_settings import SessionSettings
from .store_sync import StoreSync


class MainScreen(HelperActions, Screen[None]):
    BINDINGS = MAIN_KEYS
    HELP_ALSO = (MessageView,)  # the help lists a message's keys wherever the focus is

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.store_sync = StoreSync(self)
        self.writes = WriteGuard(services.store, self.store_sync.failed, self.store_sync.recovered)
        self.sessions = Sessions(services.store, self.writes, services.clock)
        self.builder = RequestBuilder(services.connection, services.custom_templates)
        self.conversation: Conversation | None = None
        self.editing: ChatMessage | None = None  # a message being edited in the composer
        self.prefill = ""  # text the next answer starts with (F5)
        self.model_template: ModelTemplate | None = None  # what the model's own template is
        self.answering = Answering(self)
        self.dialogs = SessionDialogs(self)
        self.server = ServerPanel(self)
        self.finder = ServerFinder(self, self.server)
        self.caches = SessionCaches(self)
        self.settings = SessionSettings(self)
        self.knobs = KnobActions(self, self.settings)
        self.panes = Panes(self)
        self.detection = TemplateDetection(self, self.settings)
        self._filter = ""
        self._draft_timer: Timer | None = None
        self._switch_asked: tuple[str, float] | None = None  # the composer's text when a switch key came

    # -- what tests and the other helpers read ---------------------------------------------------

    @property
    def session(self) -> Session | None:
        return self.conversation.session if self.conversation is not None else None

    @property
    def server_watch(self) -> ServerWatch:
        return self.server.watch

    @property
    def props(self) -> Props | None:
        return self.server.watch.props

    @property
    def server_state(self) -> ServerState:
        return self.server.watch.state

    @property
    def router_mode(self) -> bool:
        return self.server.watch.router_mode

    @property
    def is_generating(self) -> bool:
        return self.answering.is_generating

    def chat_pane(self) -> ChatPane:
        return self.query_one(ChatPane)

    def composer(self) -> Composer:
        return self.query_one(Composer)

    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def settings_pane(self) -> SettingsPane:
        return self.query_one(SettingsPane)

    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    def start_worker(
        self, work: Work, group: str, *, exclusive: bool = False, exit_on_error: bool = True
    ) -> Worker[None]:
        return self.run_worker(work, group=group, exclusive=exclusive, exit_on_error=exit_on_error)

    # What the helpers ask of each other (see host.ScreenHost).
    async def stop_answer(self) -> bool:
        return await self.answering.stop_and_wait()

    async def stop_all_answers(self) -> int:
        return await self.answering.stop_all()

    async def ready_to_send(self) -> bool:
        # The store first: a session changed elsewhere is shown before its constraints are checked.
        return await self.store_sync.ready_to_send() and await self.knobs.ready_to_send()

    def request_params(self) -> dict[str, Any]:
        return self.answering.request_params()

    async def answer_with_prefill(self, path: list[ChatMessage], prefill: str) -> None:
        await self.answering.answer_with_prefill(path, prefill)

    def update_context_meter(self) -> None:
        self.server.update_context_meter()

    async def refuse_overflow(self, text: str) -> str | None:
        return await self.server.refuse_overflow(text)

    def answer_failed(self, error: LlamaError) -> None:
        self.server.answer_failed(error)

    def detect_template(self, props: Props | None) -> None:
        self.detection.props_changed(props)

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
        self.query_one(SettingsPane).display = False
        self.panes.fit()
        self.query_one(StatusBar).set_server(self.services.connection.display_url, ServerState.UNKNOWN)
        self.query_one(SettingsPane).set_presets(sorted(self.services.config.presets))
        self.store_sync.start()
        self.refresh_sessions()
        self.call_after_refresh(self._open_initial)
        # After the first frame: the first request imports aiohttp (~0.1 s).
        self.call_after_refresh(self.server.start)
        self.call_after_refresh(self.finder.start)  # no URL given: look for one, or offer the first run

    def on_unmount(self) -> None:
        self.store_sync.stop()

    async def _open_initial(self) -> None:
        services = self.services
        target = services.initial_session
        if target is None and not services.new_session:
            target = self.sessions.last_used()
        if target is None:
            await self.new_session()
        else:
            await self.open_session(target)
        self.query_one(Composer).focus()

    # -- sessions ------------------------------------------------------------------------------

    def refresh_sessions(self) -> list[SessionSummary]:
        sessions = self.sessions.list(self._filter, limit=SIDEBAR_LIMIT + 1)
        more = len(sessions) > SIDEBAR_LIMIT
        sessions = sessions[:SIDEBAR_LIMIT]
        selected = self.session.id if self.session else None
        self.query_one(Sidebar).set_sessions(sessions, now=self.services.clock(), selected_id=selected, more=more)
        return sessions

    async def new_session(self) -> None:
        await self.show_session(self.settings.new_session())
        self.refresh_sessions()

    async def open_session(self, session_id: int) -> None:
        if self.session is not None and self.session.id == session_id:
            return
        session = self.sessions.get(session_id)
        if session is None:
            self.notify("That session no longer exists.", severity="warning")
            self.refresh_sessions()
            return
        await self.show_session(session)

    async def show_session(self, session: Session, *, focus_message: int | None = None) -> None:
        """Show `session` (after a switch, a new session, a fork...)."""
        # Keys typed after a switch key (its message round trip takes a moment) are for the session
        # coming, after its draft: the one left keeps its text as it was when the key came.
        composer, asked, self._switch_asked = self.query_one(Composer), self._switch_asked, None
        saved = composer.text
        if asked is not None and time.monotonic() - asked[1] < 1.0 and saved.startswith(asked[0]):
            saved = asked[0]
        self.save_draft_now(recount=False, text=saved)  # the meter counts the new session at the end
        self.answering.cancel_edit()  # an answer being generated goes on (its session shows it again)
        left = self.session
        self.conversation = self.sessions.open(session)
        self.caches.left(left, session)
        if left is not None and left.id != session.id and self.sessions.drop_if_blank(left):
            self.refresh_sessions()  # no pile of empty "New session" entries
        await self.server.session_opened(session)
        await self.show_path(focus_message=focus_message)
        # Keys typed while the session was being shown are for it: after its draft, not lost.
        typed = composer.text[len(saved) :] if composer.text.startswith(saved) else ""
        composer.set_text(session.draft + typed)
        self.fill_settings()
        if session.id is not None:
            self.query_one(Sidebar).highlight_session(session.id)
        self.store_sync.watch(session)  # what is shown now is what this instance has seen
        self.update_context_meter()

    async def show_path(self, *, focus_message: int | None = None) -> None:
        """Show the session's active path (after a switch, an edit, or a change of branch)."""
        assert self.conversation is not None
        chat = self.query_one(ChatPane)
        await self.answering.detach()
        await chat.show(self.answering.live_path(self.conversation.path()))
        self.annotate_alternatives(chat.views())
        await self.answering.attach(chat.views())
        for view in chat.views():
            if view.message.id == focus_message:
                view.focus()
                view.scroll_visible(animate=False)

    @on(ChatPane.Paged)
    def _paged(self, event: ChatPane.Paged) -> None:
        if self.conversation is not None:
            self.annotate_alternatives(event.views)

    def annotate_alternatives(self, views: list[MessageView]) -> None:
        """Mark messages that have siblings (edits, regenerations) with '‹ i/n ›'."""
        assert self.conversation is not None
        for view in views:
            if view.message.id is not None:
                index, total = self.conversation.alternatives(view.message.id)
                if total > 1:
                    view.set_alternatives(index, total)

    def fill_settings(self) -> None:
        self.settings.fill()
        self.knobs.refresh_adapters()

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
        self._switch_asked = (self.query_one(Composer).text, time.monotonic())
        self.query_one(Sidebar).select_next()

    def action_previous_session(self) -> None:
        self._switch_asked = (self.query_one(Composer).text, time.monotonic())
        self.query_one(Sidebar).select_previous()

    def action_nth_session(self, index: int) -> None:
        self._switch_asked = (self.query_one(Composer).text, time.monotonic())
        self.query_one(Sidebar).select_index(index)

    def action_compare(self) -> None:
        self.start_worker(open_compare(self), "compare", exclusive=True)

    async def action_toggle_settings(self) -> None:
        await self.panes.toggle_settings()
        self.knobs.refresh_adapters()

    def on_resize(self) -> None:
        self.panes.fit()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_focus_messages(self) -> None:
        views = self.query_one(ChatPane).views()
        if views:
            views[-1].focus()
            views[-1].scroll_visible(animate=False)

    def action_stop(self) -> None:
        """Esc: stop the answer being generated, wherever the focus is (what arrived is kept,
        marked interrupted); otherwise leave an edit. Then back to the composer."""
        if self.answering.stop():
            self.notify("Answer stopped; what arrived is kept (c on it continues, r retries).")
        elif self.answering.cancel_edit():
            self.notify("Edit cancelled.")
        self.query_one(Composer).focus()

    # -- composing and sending ----------------------------------------------------------------

    @on(Composer.Changed)
    def _draft_changed(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(0.5, self._typed)

    def _typed(self) -> None:
        # Not when the composer only got the draft of the session opened: that count is made.
        self.save_draft_now(recount=self.session is not None and self.query_one(Composer).text != self.session.draft)

    def save_draft_now(self, *, recount: bool = True, text: str | None = None) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.session is not None and self.is_mounted:
            self.sessions.save_draft(self.session, self.query_one(Composer).text if text is None else text)
            if recount:
                self.update_context_meter()  # the meter counts the unsent text too

    @on(Composer.RecallLast)
    def _recall_last(self) -> None:
        for view in reversed(self.query_one(ChatPane).views()):
            if view.message.role == "user":
                self.query_one(Composer).set_text(view.message.content)
                return

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        if not await self.answering.send(event.text):
            self.query_one(Composer).give_back(event.text)

    @on(MessageView.ActionRequested)
    async def _message_action(self, event: MessageView.ActionRequested) -> None:
        await self.answering.act(event.view, event.action)

    def refuse(self, refusal: Refusal) -> None:
        self.notify(refusal.reason, severity="error" if refusal.severity == "error" else "warning", markup=False)

    # -- settings (SessionSettings and KnobActions do the work) ---------------------------------

    @on(PaneEdit)
    def _pane_edit(self, event: PaneEdit) -> None:
        self.knobs.handle(event)

    async def open_settings(self) -> None:
        if not self.query_one(SettingsPane).display:
            await self.panes.toggle_settings()

    @on(TemplateOptionsBox.OptionChanged)
    def _template_option_changed(self, event: TemplateOptionsBox.OptionChanged) -> None:
        self.settings.set_option(event.name, event.value)

    @on(TemplateOptionsBox.UseSuggested)
    def action_use_suggested_template(self) -> None:
        self.settings.use_suggested()
