"""The main screen's side of the server: the status bar (state, model, context, slots) fed by the
ServerWatch service, the context meter, router-mode models, several servers and the monitor."""

from __future__ import annotations

from dataclasses import dataclass

from textual.worker import Worker

from ..chat.server_watch import ServerWatch
from ..client import AuthenticationError, LlamaError, Props, Slot
from ..context_shift import session_fill_note
from ..domain import CONTEXT_OVERFLOW_ADVICE, ChatMessage, Session
from ..server_state import ServerState
from ..widgets.status_bar import WARN_FRACTION, StatusBar
from .host import ScreenHost
from .model_picker import ModelPickerScreen


class ServerPanel:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        services = screen.services
        self.watch = ServerWatch(
            services.connection,
            on_state=self._state_changed,
            on_props=self._props_changed,
            on_slots=self._slots_changed,
            model=lambda: screen.session.model if screen.session else None,
            health_interval=services.config.health_interval,
        )
        self._watcher: Worker[None] | None = None
        self.context: ContextCount | None = None  # the context meter's last count

    @property
    def _status(self) -> StatusBar:
        return self.screen.status_bar()

    def start(self) -> None:
        """Watch the current server (again, after a switch) until the app ends."""
        if self._watcher is not None:
            self._watcher.cancel()
        self._watcher = self.screen.start_worker(self.watch.run(), "server-watch", exit_on_error=False)

    def _state_changed(self, state: ServerState, detail: str) -> None:
        self._status.set_server(self.screen.services.connection.display_url, state, detail)
        if state in (ServerState.UNREACHABLE, ServerState.LOADING):
            self.screen.caches.server_lost()  # it may come back restarted: its slots are empty
        if state is ServerState.OK and self.context is None:
            self.update_context_meter()  # e.g. the server woke up: the meter can count again

    def _props_changed(self, props: Props | None) -> None:
        self.screen.caches.props_changed(props)
        self.screen.detect_template(props)
        if props is None:
            self._status.set_model("", 0)
            return
        if self.watch.router_mode and self.screen.services.connection.client.model is None:
            self._status.set_model("router: pick a model (F7)", 0)
            return
        # A model file without a chat template: the status bar's template segment says so
        # (screens/model_template.py), with the family it looks like.
        self._status.set_model(props.model_name, props.n_ctx)
        self.screen.fill_settings()
        self.update_context_meter()

    def _slots_changed(self, slots: list[Slot]) -> None:
        self._status.set_slots(sum(s.is_processing for s in slots), len(slots))

    def answer_failed(self, error: LlamaError) -> None:
        """An answer ended in an error: look at the server again now."""
        self.watch.poke()
        if isinstance(error, AuthenticationError):
            self.watch.state = ServerState.AUTH_ERROR
            self._state_changed(ServerState.AUTH_ERROR, error.message)

    # -- sessions, servers and models ------------------------------------------------------------

    async def session_opened(self, session: Session) -> None:
        """Each session remembers its server and (router mode) its model."""
        services, client = self.screen.services, self.screen.services.connection.client
        if session.server and session.server != services.connection.name and session.server in services.config.servers:
            await self.use_server(session.server)
        elif self.watch.router_mode and client.model != session.model:
            client.model = session.model
            self.refresh_model()

    async def use_server(self, name: str) -> None:
        """Switch to the [servers.NAME] profile: a new client, and the watch starts over. Answers
        being generated end first (on the old server; what arrived is kept)."""
        await self._stop_answers()
        await self.screen.services.connection.use(name, self.screen.services.config)
        self._restart_watch()

    async def use_url(self, url: str, api_key: str | None, name: str | None = None) -> None:
        """Switch to the server at `url` (found, entered, or started by llama-tui)."""
        services = self.screen.services
        await self._stop_answers()
        await services.connection.use_url(url, api_key, services.config, name=name)
        self._restart_watch()

    async def _stop_answers(self) -> None:
        """The client is about to be replaced (and closed): answers on it end first, saved."""
        if await self.screen.stop_all_answers():
            self.screen.notify(
                "The answers being generated were stopped to change servers; what arrived is kept (c continues them).",
                severity="warning",
            )

    def _restart_watch(self) -> None:
        self.watch.reset()
        self._state_changed(ServerState.UNKNOWN, "")
        self.start()

    async def switch_server(self, name: str) -> None:
        """The user picked a server (palette): this session remembers it."""
        screen = self.screen
        await self.use_server(name)
        session = screen.session
        if session is not None and session.id is not None and session.server != name:
            session.server = name
            screen.sessions.save(session)
        screen.notify(f"Using server “{name}” ({screen.services.connection.display_url}).", markup=False)

    def refresh_model(self) -> None:
        self.screen.start_worker(self._refresh_model(), "model", exclusive=True, exit_on_error=False)

    async def _refresh_model(self) -> None:
        try:
            await self.watch.refresh_props()
        except LlamaError as e:
            self.screen.notify(e.message, title="llama-server", severity="error", markup=False)

    def pick_model(self) -> None:
        self.screen.start_worker(self._pick_model(), "model-picker")

    async def _pick_model(self) -> None:
        """Router mode: choose the model this session talks to."""
        screen, session = self.screen, self.screen.session
        if session is None or session.id is None:
            return
        if not self.watch.router_mode:
            screen.notify("This server serves one model; the model picker is for router mode (--models-dir).")
            return
        client = screen.services.connection.client
        chosen = await screen.app.push_screen_wait(ModelPickerScreen(client, session.model))
        if chosen is None or chosen == session.model:
            return
        session.model = chosen
        screen.sessions.save(session)
        client.model = chosen
        screen.notify(f"This session now uses “{chosen}”.", markup=False)
        self.refresh_model()

    def open_monitor(self) -> None:
        from .monitor import ServerMonitorScreen

        app = self.screen.app
        if not isinstance(app.screen, ServerMonitorScreen):
            services, caches = self.screen.services, self.screen.caches
            monitor = ServerMonitorScreen(services.connection.client, server=services.managed_server)
            monitor.show_caches(services.slot_cache, caches.session_title, caches.gain)
            app.push_screen(monitor)

    # -- the context meter -----------------------------------------------------------------------

    def update_context_meter(self) -> None:
        # The coroutine function, not a coroutine: a count replaced before it starts is never made.
        self.screen.start_worker(self._update_context_meter, "context", exclusive=True, exit_on_error=False)

    def _pending_text(self) -> str:
        """The composer's unsent text, counted as the next user turn (not while editing: the
        edit replaces a message already counted)."""
        if self.screen.editing is not None:
            return ""
        return self.screen.composer().text

    async def count_context(self, pending: str) -> ContextCount | None:
        """Tokens the next request would hold: the session's prompt with `pending` as the next
        user turn (/tokenize of the rendered prompt). None when it cannot be counted now (no
        server facts, the server asleep: counting would wake it, or the server failed)."""
        screen, watch = self.screen, self.watch
        conversation, props = screen.conversation, watch.props
        if conversation is None or conversation.session_id is None or props is None or watch.asleep:
            return None
        path = conversation.path()
        if pending.strip():
            path = [*path, ChatMessage(role="user", content=pending)]
        try:
            rendered = await screen.builder.prompt(conversation.session, path)
            used = await screen.services.connection.client.count_tokens(rendered.text)
        except LlamaError:
            return None
        return ContextCount(conversation.session_id, conversation.session.head_id, pending, used, props.n_ctx)

    async def _update_context_meter(self) -> None:
        """Context used by this session and the unsent message, against n_ctx."""
        screen, props = self.screen, self.watch.props
        session = screen.session
        if session is None or props is None:
            return
        pending = self._pending_text()
        count = await self.count_context(pending)
        if screen.session is not session:
            return  # switched meanwhile: the new session's count follows
        last = self.context
        if (
            count is None
            and last is not None
            and (last.session_id, last.head_id, last.pending)
            == (
                session.id,
                session.head_id,
                pending,
            )
        ):
            return  # e.g. the server fell asleep: what was counted still holds
        self.context = count
        if count is not None:
            # The tooltip (and the settings pane) say what happens when the context fills.
            note = session_fill_note(session.settings.values, props.default_params, count.used, count.n_ctx)
            self._status.set_context(count.used, count.n_ctx, note=note)
            self.screen.settings_pane().set_context_note(note)
        elif self.watch.asleep:
            self._status.set_context(None, props.n_ctx, note="counted once the server is awake")

    async def refuse_overflow(self, text: str) -> str | None:
        """Why `text` must not be sent (the conversation with it does not fit the context), or
        None. Counted exactly only when the last count came near the limit: most sends cost no
        extra request."""
        last = self.context
        if last is None or last.used < WARN_FRACTION * last.n_ctx:
            return None
        count = last if last.pending == text else await self.count_context(text)
        if count is None or count.used < count.n_ctx:
            return None
        self.context = count
        self._status.set_context(count.used, count.n_ctx)
        return (
            f"Not sent: with this message the conversation is {count.used:,} tokens and the context holds "
            f"{count.n_ctx:,}. {CONTEXT_OVERFLOW_ADVICE}"
        )


@dataclass(frozen=True)
class ContextCount:
    """One count of the context meter: what was counted, and the result."""

    session_id: int
    head_id: int | None
    pending: str  # the unsent text counted as the next user turn ("" for none)
    used: int
    n_ctx: int
