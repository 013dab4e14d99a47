"""The main screen and its store: saving that fails (the unsaved marker), a read-only store at
start-up, and other llama-tui instances on the same store (issue 14, item 1).

Two instances: the session on screen is watched (`Store.watch`) each time it is shown. Before a
send (and a regenerate or continue), `ready_to_send` asks the store, with one indexed read,
whether another instance changed the session since. If it did, the screen shows the session as
it is now and the send waits for another Enter (the text stays in the composer): nothing is ever
sent on top of a conversation the user has not seen. While another window is still writing the
last answer, sending waits for it: a partial answer is never sent as a finished turn. A session
deleted elsewhere is said so, and sending anyway brings it back; a write of this instance that
takes a session out of the trash (an answer still streaming into it) is said as well.
"""

from __future__ import annotations

import time
from contextlib import suppress

from textual.app import App

from ..domain import ChatMessage, Session
from ..sanitize import one_line
from ..store import Store, StoreError, StoreNotFound
from .host import ScreenHost
from .trash import TrashScreen

CHANGED = (
    "This session was changed in another window: it now shows the latest. Your message is still in "
    "the composer: press Enter to send it."
)
STILL_WRITING = (
    "Another window is still writing the last answer of this session: send when it has finished "
    "(your message stays in the composer). If that window was closed or crashed, press Enter again "
    "once nothing has come for a few seconds to send anyway: that answer then counts as interrupted."
)
# A window writing an answer saves it at least once a second while tokens come: an answer that
# has not moved for this long is taken as left behind (the user is asked first, as above).
QUIET_S = 5.0
LEFT_UNFINISHED = "left unfinished by another window"
PURGED = (
    "This session was deleted for good in another window (its trash was emptied). Your message is "
    "in the composer of a new session: press Enter to send it there."
)


def _key(messages: list[ChatMessage]) -> list[tuple[int | None, str, str]]:
    """What must match for two views of a conversation to be the same."""
    return [(m.id, m.state, m.content) for m in messages]


class StoreSync:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        self._app: App[object] | None = None  # for callbacks from the writing thread
        self._told_deleted: int | None = None  # a session the user was told is in the trash
        # An answer the user was told another window writes, and since when it has not moved.
        self._told_streaming: tuple[int | None, float] | None = None

    @property
    def store(self) -> Store:
        return self.screen.services.store

    # -- start-up, and writes that fail ----------------------------------------------------------

    def start(self) -> None:
        """At mount: say if the store is read-only; hear of sessions taken out of the trash."""
        self._app = self.screen.app
        self.store.on_restored = self._restored_in_thread
        why = self.store.read_only
        if why is not None:
            self.screen.writes.unsaved = True  # said here, once: failed writes are not told again
            self.screen.status_bar().set_unsaved(True)
            self.screen.notify(
                f"The session store cannot be written ({why}): sessions can be read, but nothing will be "
                "saved; changes are kept in memory until you quit.",
                title="Session store",
                severity="warning",
                timeout=30,
                markup=False,
            )

    def stop(self) -> None:
        if self.store.on_restored == self._restored_in_thread:
            self.store.on_restored = None

    def failed(self, error: StoreError, first: bool) -> None:
        """A write failed (WriteGuard): mark unsaved changes; say it the first time."""
        self.screen.status_bar().set_unsaved(True)
        if first:
            self.screen.notify(
                f"{error}. Unsaved changes are kept in memory while the app runs.",
                title="Cannot save",
                severity="error",
                timeout=10,
                markup=False,
            )

    def recovered(self) -> None:
        self.screen.status_bar().set_unsaved(False)
        self.screen.notify("Saving works again.", severity="information")

    # -- sessions taken out of the trash by a write of this instance -----------------------------

    def _restored_in_thread(self, session_id: int) -> None:
        # Called by the store in the thread that wrote, after the commit: over to the UI's loop
        # (call_later posts a message, which is safe from any thread).
        if self._app is not None:
            self._app.call_later(self._restored, session_id)

    def _restored(self, session_id: int) -> None:
        session = self.screen.sessions.get(session_id)
        title = one_line(session.title or "New session", 60) if session is not None else "A session"
        self.screen.notify(
            f"“{title}” had been deleted in another window; it is back, with what was just written into it.",
            title="Session store",
            severity="warning",
            timeout=15,
            markup=False,
        )
        self.screen.refresh_sessions()

    # -- the session on screen, and other instances ------------------------------------------------

    def watch(self, session: Session) -> None:
        """The session is (re)loaded on screen: what it shows is what this instance has seen."""
        self._told_deleted = self._told_streaming = None
        if session.id is not None:
            with suppress(StoreError):
                self.store.watch(session.id)

    async def ready_to_send(self) -> bool:
        """Before a send: True to go on. False when the user must look first (the session was
        changed or deleted elsewhere, or another window still writes its last answer): the
        screen then shows it as it is now and says why; the text stays in the composer."""
        screen, store = self.screen, self.store
        conversation = screen.conversation
        if conversation is None or conversation.session.id is None:
            return True
        session_id = conversation.session.id
        try:
            stamp = store.changed_elsewhere(session_id)
        except StoreNotFound:
            await self._purged()
            return False
        except StoreError:
            return True  # cannot tell: the send says so if it cannot save either
        changed = stamp is not None and await self._reload(session_id)
        if stamp is not None and stamp.deleted_at is not None:
            self._told_deleted = session_id
            self._say_deleted(conversation.session, changed)
            return False
        unfinished = self._written_elsewhere(session_id)
        if unfinished is not None:
            told, now = self._told_streaming, time.monotonic()
            if told is None or told[0] != unfinished.id or stamp is not None:
                told = self._told_streaming = (unfinished.id, now)  # (again) moving, or not said yet
            if now - told[1] < QUIET_S:
                screen.notify(STILL_WRITING, severity="warning", timeout=15)
                return False
            # Said, and nothing has moved for QUIET_S: that window is gone; send anyway.
            self._told_streaming = None
            screen.writes.run(store.update_message, unfinished.replace(state="interrupted", error=LEFT_UNFINISHED))
            await screen.show_path()
        if changed:
            screen.notify(CHANGED, severity="warning", timeout=15)
            return False
        if self._told_deleted == session_id:
            self._told_deleted = None
            self._bring_back(session_id, conversation.session)
        return True

    async def _reload(self, session_id: int) -> bool:
        """Show the session as the store has it now (watched again); True if the conversation
        on screen changed. Its title and settings are taken quietly."""
        screen = self.screen
        conversation = screen.conversation
        assert conversation is not None
        with suppress(StoreError):
            self.store.watch(session_id)
        try:
            path = self.store.active_path(session_id)
        except StoreError:
            return False
        fresh = screen.sessions.get(session_id)  # None: in the trash
        if fresh is not None:
            fresh.draft = conversation.session.draft
        changed = _key(path) != _key(screen.chat_pane().messages)
        if changed:
            text = screen.composer().text
            if fresh is not None:
                await screen.show_session(fresh)
            else:
                await screen.show_path()  # the path (and head) come from the store
            screen.composer().set_text(text)
        elif fresh is not None:
            conversation.session = fresh
            screen.fill_settings()
        screen.refresh_sessions()
        return changed

    def _written_elsewhere(self, session_id: int) -> ChatMessage | None:
        """The last answer of the path if it is still streaming (this screen's own answers are
        not: the screen refuses to send while one streams)."""
        try:
            path = self.store.active_path(session_id)
        except StoreError:
            return None
        last = path[-1] if path else None
        return last if last is not None and last.role == "assistant" and last.state == "streaming" else None

    def _say_deleted(self, session: Session, changed: bool) -> None:
        title = one_line(session.title or "New session", 60)
        latest = ", and this shows it as it was left" if changed else ""
        self.screen.notify(
            f"“{title}” was deleted in another window (it is in the trash{latest}). Your message is still in "
            "the composer: press Enter to bring the session back and send it.",
            title="Session store",
            severity="warning",
            timeout=20,
            markup=False,
        )

    def _bring_back(self, session_id: int, session: Session) -> None:
        """The user sends into a session deleted elsewhere, having been told: restore it first."""
        with suppress(StoreError):
            if self.store.stamp(session_id).deleted_at is None:
                return  # restored meanwhile
        if self.screen.sessions.restore(session_id):
            with suppress(StoreError):
                self.store.watch(session_id)
            self.screen.notify(f"“{one_line(session.title or 'New session', 60)}” is back.", markup=False)
            self.screen.refresh_sessions()

    async def _purged(self) -> None:
        """The session on screen was deleted for good elsewhere: the text goes to a new session."""
        screen = self.screen
        text = screen.composer().text
        screen.conversation = None  # nothing to save the draft into
        await screen.new_session()
        screen.composer().set_text(text)
        screen.notify(PURGED, title="Session store", severity="error", timeout=20)

    # -- the trash ---------------------------------------------------------------------------------

    def open_trash(self) -> None:
        self.screen.start_worker(self._trash(), "trash")

    async def _trash(self) -> None:
        screen = self.screen
        restored = await screen.app.push_screen_wait(TrashScreen(screen.sessions, screen.services.clock))
        screen.refresh_sessions()
        if restored is not None:
            await screen.open_session(restored)
            screen.composer().focus()
