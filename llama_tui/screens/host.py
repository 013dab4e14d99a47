"""What the main screen's helpers (Answering, SessionDialogs, ServerPanel) may use of the screen.

The helpers depend on this Protocol, not on MainScreen, so that nothing imports in a circle and
the helpers' reach into the screen is written down in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from textual.app import App
from textual.geometry import Size
from textual.notifications import SeverityLevel
from textual.worker import Worker

from ..chat.conversation import Conversation, Refusal
from ..chat.request import RequestBuilder
from ..chat.server_watch import ServerWatch
from ..chat.sessions import Sessions
from ..chat.writes import WriteGuard
from ..client import LlamaError
from ..domain import ChatMessage, Session, SessionSummary
from ..services import AppServices
from ..widgets.chat_pane import ChatPane
from ..widgets.composer import Composer
from ..widgets.message_view import MessageView
from ..widgets.settings_pane import SettingsPane
from ..widgets.sidebar import Sidebar
from ..widgets.status_bar import StatusBar
from .session_caches import SessionCaches

# What a helper runs in a worker: a coroutine, or a coroutine function (made only if it starts).
Work = Coroutine[Any, Any, None] | Callable[[], Coroutine[Any, Any, None]]


class ScreenHost(Protocol):
    services: AppServices
    writes: WriteGuard
    sessions: Sessions
    builder: RequestBuilder
    conversation: Conversation | None
    editing: ChatMessage | None  # a message being edited in the composer
    prefill: str  # text the next answer starts with (F5)
    caches: SessionCaches  # saved session caches (screens/session_caches.py)

    @property
    def app(self) -> App[object]: ...
    @property
    def session(self) -> Session | None: ...
    @property
    def server_watch(self) -> ServerWatch: ...
    @property
    def is_generating(self) -> bool: ...

    # The widgets, by role.
    def chat_pane(self) -> ChatPane: ...
    def composer(self) -> Composer: ...
    def status_bar(self) -> StatusBar: ...
    def settings_pane(self) -> SettingsPane: ...
    def sidebar(self) -> Sidebar: ...
    @property
    def size(self) -> Size: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...
    def start_worker(
        self, work: Work, group: str, *, exclusive: bool = False, exit_on_error: bool = True
    ) -> Worker[None]: ...
    def refuse(self, refusal: Refusal) -> None: ...

    # Showing sessions.
    def refresh_sessions(self) -> list[SessionSummary]: ...
    async def open_session(self, session_id: int) -> None: ...
    async def new_session(self) -> None: ...
    async def show_session(self, session: Session, *, focus_message: int | None = None) -> None: ...
    async def show_path(self, *, focus_message: int | None = None) -> None: ...
    def annotate_alternatives(self, views: list[MessageView]) -> None: ...
    def fill_settings(self) -> None: ...
    def save_draft_now(self) -> None: ...

    # Between the helpers.
    def stop_answer(self) -> bool: ...
    def request_params(self) -> dict[str, Any]: ...
    async def answer_with_prefill(self, path: list[ChatMessage], prefill: str) -> None: ...
    def update_context_meter(self) -> None: ...
    async def refuse_overflow(self, text: str) -> str | None: ...
    def answer_failed(self, error: LlamaError) -> None: ...
