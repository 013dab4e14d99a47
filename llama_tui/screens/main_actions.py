"""The main screen's key actions that only hand over to one of its helpers (dialogs, server panel,
panes, answering). Apart so that main.py stays about layout and routing; MainScreen inherits
them, so the key bindings, the palette and help find them as its own."""

from __future__ import annotations

from .answering import Answering
from .panes import Panes
from .server_panel import ServerPanel
from .session_dialogs import SessionDialogs
from .store_sync import StoreSync


class HelperActions:
    dialogs: SessionDialogs
    server: ServerPanel
    panes: Panes
    answering: Answering
    store_sync: StoreSync

    def action_switcher(self) -> None:
        self.dialogs.switcher()

    def action_rename_session(self) -> None:
        self.dialogs.rename()

    async def action_duplicate_session(self) -> None:
        await self.dialogs.duplicate()

    def action_delete_session(self) -> None:
        self.dialogs.delete()

    async def action_undo_delete(self) -> None:
        await self.dialogs.undo_delete()

    def action_trash(self) -> None:
        self.store_sync.open_trash()

    def action_toggle_pin(self) -> None:
        self.dialogs.toggle_pin()

    def action_search(self) -> None:
        self.dialogs.search()

    def action_prefill(self) -> None:
        self.dialogs.prefill()

    def action_prompt_preview(self) -> None:
        self.dialogs.prompt_preview()

    def action_pick_model(self) -> None:
        self.server.pick_model()

    def action_server_monitor(self) -> None:
        self.server.open_monitor()

    def action_toggle_sidebar(self) -> None:
        self.panes.toggle_sidebar()

    def action_focus_filter(self) -> None:
        self.panes.focus_filter()

    def action_resize_sidebar(self, step: int) -> None:
        self.panes.resize_sidebar(step)

    def action_stop_thinking(self) -> None:
        self.answering.stop_thinking()
