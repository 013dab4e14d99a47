"""The main screen's dialogs about sessions: switcher, rename, duplicate, delete and undo, pin,
search, export and import, prefill, prompt preview and presets. Each dialog runs in a worker
(Textual's push_screen_wait needs one); the work itself is done by the chat services.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ..chat.request import CompletionRequest
from ..chat.writes import FAILED
from ..domain import ChatMessage
from ..sanitize import one_line
from ..store import StoreError
from ..templates.model import describe_options, template_options
from .confirm import ConfirmScreen
from .host import ScreenHost
from .prompt_preview import PromptPreviewScreen
from .search import SearchScreen
from .session_switcher import SessionSwitcher
from .text_prompt import TextPromptScreen


def slug(title: str) -> str:
    """A file-name-safe version of a session title."""
    return re.sub(r"[^\w.-]+", "-", title).strip("-")[:60] or "session"


class SessionDialogs:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen

    def _run(self, work: Coroutine[Any, Any, None], group: str) -> None:
        self.screen.start_worker(work, group)

    def switcher(self) -> None:
        self._run(self._switcher(), "switcher")

    async def _switcher(self) -> None:
        screen = self.screen
        sessions = screen.sessions.list()
        chosen = await screen.app.push_screen_wait(SessionSwitcher(sessions, now=screen.services.clock()))
        if chosen is not None:
            await screen.open_session(chosen)
            screen.composer().focus()

    def rename(self) -> None:
        self._run(self._rename(), "rename")

    async def _rename(self) -> None:
        session = self.screen.session
        if session is None or session.id is None:
            return
        title = await self.screen.app.push_screen_wait(TextPromptScreen("Rename session", session.title))
        if title is not None and title.strip():
            self.screen.sessions.rename(session, title.strip())
            self.screen.refresh_sessions()

    async def duplicate(self) -> None:
        screen, session = self.screen, self.screen.session
        if session is None or session.id is None:
            return
        screen.save_draft_now()
        copy = screen.sessions.duplicate(session.id)
        if copy is not None:
            await screen.show_session(copy)
            screen.refresh_sessions()
            screen.notify(f"Duplicated as “{one_line(copy.title)}”", markup=False)

    def delete(self) -> None:
        self._run(self._delete(), "delete")

    async def _delete(self) -> None:
        screen, session = self.screen, self.screen.session
        if session is None or session.id is None:
            return
        title = session.title or "New session"
        if not await screen.app.push_screen_wait(ConfirmScreen(f"Delete “{title}”?")):
            return
        await screen.stop_answer()  # saved before the delete: a later save would undo it
        if not screen.sessions.delete(session.id):
            return
        await screen.caches.forget(session.id)
        screen.conversation = None
        sessions = screen.refresh_sessions()
        if sessions:
            await screen.open_session(sessions[0].id)
        else:
            await screen.new_session()
        screen.notify(f"Deleted “{one_line(title)}”. Press alt+u to undo.", markup=False)

    async def undo_delete(self) -> None:
        restored = self.screen.sessions.undo_delete()
        if restored is None:
            self.screen.notify("Nothing to undo.")
        elif restored is not FAILED:
            self.screen.refresh_sessions()
            await self.screen.open_session(restored)

    def toggle_pin(self) -> None:
        session = self.screen.session
        if session is None or session.id is None:
            return
        self.screen.sessions.set_pinned(session, not session.pinned)
        self.screen.refresh_sessions()
        self.screen.notify("Pinned to the top." if session.pinned else "Unpinned.")

    def search(self) -> None:
        self._run(self._search(), "search")

    async def _search(self) -> None:
        """Search every session (FTS5); Enter opens the session at that message."""
        screen = self.screen
        found = await screen.app.push_screen_wait(SearchScreen(screen.services.store))
        if found is None:
            return
        session_id, message_id = found
        session = screen.sessions.get(session_id)
        if session is None:
            return
        # The hit may sit on a branch that is not shown: make its latest continuation the head.
        screen.sessions.open(session).show_branch_of(message_id)
        screen.conversation = None  # show it afresh: the head changed
        await screen.show_session(session, focus_message=message_id)
        await screen.chat_pane().reveal(message_id)

    def export(self, fmt: str, *, everything: bool = False) -> None:
        self._run(self._export(fmt, everything), "export")

    async def _export(self, fmt: str, everything: bool) -> None:
        """Write the session (or all sessions) to a file the user names."""
        from ..transfer import export_sessions_json, session_to_markdown, write_export

        screen, session = self.screen, self.screen.session
        if session is None or session.id is None:
            return
        stem = "llama-tui-sessions" if everything else slug(session.title or "session")
        default = str(Path.cwd() / f"{stem}.{'md' if fmt == 'md' else 'json'}")
        target = await screen.app.push_screen_wait(TextPromptScreen("Export to file", default))
        if not target:
            return
        store = screen.services.store
        try:
            if fmt == "md":
                data: Any = session_to_markdown(store, session.id)
            else:
                data = export_sessions_json(store, None if everything else [session.id])
            path = write_export(Path(target).expanduser(), data)
        except (OSError, StoreError) as e:
            screen.notify(f"Export failed: {e}", severity="error", markup=False)
            return
        screen.notify(f"Exported to {path}", markup=False)

    def import_sessions(self) -> None:
        self._run(self._import(), "import")

    async def _import(self) -> None:
        """Import a llama-tui JSON export or a llama.cpp web UI conversation export."""
        from ..transfer import ImportFormatError, import_any, read_import_file

        screen = self.screen
        source = await screen.app.push_screen_wait(
            TextPromptScreen("Import sessions from file", "", "path/to/export.json")
        )
        if not source:
            return
        try:
            ids = import_any(
                screen.services.store,
                read_import_file(Path(source).expanduser()),
                default_template=screen.services.config.default_template,
            )
        except (ImportFormatError, OSError, StoreError) as e:
            screen.notify(f"Import failed: {e}", severity="error", markup=False)
            return
        screen.refresh_sessions()
        if ids:
            await screen.open_session(ids[-1])
        screen.notify(f"Imported {len(ids)} session{'s' if len(ids) != 1 else ''}.")

    def prefill(self) -> None:
        self._run(self._prefill(), "prefill")

    async def _prefill(self) -> None:
        """Start the next answer with text of your own; the model continues from there."""
        screen, conversation = self.screen, self.screen.conversation
        if conversation is None or conversation.session_id is None:
            return
        text = await screen.app.push_screen_wait(
            TextPromptScreen("Start the answer with…", screen.prefill, "e.g. Sure! Here is", multiline=True)
        )
        if text is None:
            return
        composer = screen.composer()
        path = conversation.path()
        if composer.text.strip() or not path or path[-1].role != "user":
            screen.prefill = text
            composer.show_prefill(text)  # seen until the answer takes it
            if composer.text.strip():
                screen.notify("The next answer will start with your text. Press Enter to send.")
            else:
                screen.notify("Type your message: its answer will start with your text.")
            composer.focus()
            return
        await screen.answer_with_prefill(path, text)

    def prompt_preview(self) -> None:
        screen, conversation = self.screen, self.screen.conversation
        if conversation is None or conversation.session_id is None:
            return
        path = conversation.path()
        pending = screen.composer().text
        if pending.strip() and screen.editing is None:
            path = [*path, ChatMessage(role="user", content=pending)]
        session = conversation.session
        params = screen.request_params()
        # The next answer starts with the prefill (F5), continued by the model: shown as it will be sent.
        prefill = screen.prefill if path and path[-1].role == "user" else ""
        if prefill:
            path = [*path, ChatMessage(role="assistant", content=prefill)]

        async def request() -> CompletionRequest:
            return await screen.builder.build(session, path, params, continue_final=bool(prefill))

        options = template_options(session.template, screen.model_template, screen.services.custom_templates)
        described = describe_options(options, session.template_options)
        title = f"{session.template} · {described}" if described else session.template
        screen.app.push_screen(PromptPreviewScreen(screen.services.connection.client, title, request))
