"""Issue 14, item 1, the screen's side: another instance changes, deletes or still writes the session
this one shows. The other instance is a second connection to the same store file (what SQLite
sees of another process); tests/faults/test_fault_two_instances.py runs two real app processes.

Each test: what the other instance does -> what this screen shows and says -> what is sent (the
fault server records every request) and stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_tui.domain import ChatMessage
from llama_tui.screens import store_sync
from llama_tui.screens.compare import CompareScreen
from llama_tui.screens.store_sync import CHANGED, LEFT_UNFINISHED, PURGED, STILL_WRITING
from llama_tui.screens.trash import TrashScreen
from llama_tui.store import Store
from llama_tui.widgets.composer import Composer
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.faults import Notes, ready, screen_text, settled, type_and_send, views

FAST = {"health_interval": 0.25, "default_template": "chatml"}


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions.sqlite3"


@pytest.fixture
def other(store_path: Path) -> Iterator[Store]:
    """The other instance: its own connection to the same file."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(store_path) as store:
        yield store


def _messages(notes: Notes) -> list[str]:
    return [message for _, _, message in notes.items]


def _prompts(fs: FaultServer) -> list[str]:
    return [str(body.get("prompt")) for body in fs.bodies if isinstance(body, dict) and "prompt" in body]


async def _first_exchange(pilot: Any) -> Any:
    screen = await ready(pilot)
    await type_and_send(pilot, "first question")
    await wait_for(pilot, settled(screen, 2))
    return screen


async def _said(pilot: Any, notes: Notes, text: str, times: int = 1) -> None:
    """Until the app has said `text` (exactly) `times` times."""
    await wait_for(pilot, lambda: _messages(notes).count(text) >= times)


def _composer(screen: Any) -> str:
    return str(screen.query_one(Composer).text)


async def test_a_session_changed_elsewhere_is_shown_before_anything_is_sent(make_app, other: Store) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid, head = screen.session.id, app.store.active_path(screen.session.id)[-1]
            # The other instance goes on in the same session.
            theirs = other.add_message(
                ChatMessage(role="user", content="their question", session_id=sid, parent_id=head.id)
            )
            other.add_message(
                ChatMessage(role="assistant", content="their answer", session_id=sid, parent_id=theirs.id)
            )
            await type_and_send(pilot, "my question")
            await _said(pilot, notes, CHANGED)
            # Not sent: shown first, the text kept, and said.
            assert len(_prompts(fs)) == 1
            assert [v.message.content for v in views(screen)][-2:] == ["their question", "their answer"]
            assert _composer(screen) == "my question"
            assert CHANGED in _messages(notes)
            # Enter again: sent after what the other instance wrote.
            await pilot.press("enter")
            await wait_for(pilot, settled(screen, 6))
            prompt = _prompts(fs)[-1]
            assert prompt.index("their answer") < prompt.index("my question")
            assert [m.content for m in app.store.active_path(sid)][2:5] == [
                "their question",
                "their answer",
                "my question",
            ]


async def test_a_compare_in_a_session_changed_elsewhere_shows_it_first(make_app, other: Store) -> None:
    """ctrl+o asks the next answer too (issue 17): like a send, it first shows what another
    window wrote, so the compared answers never follow a stale conversation."""
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid, head = screen.session.id, app.store.active_path(screen.session.id)[-1]
            theirs = other.add_message(
                ChatMessage(role="user", content="their question", session_id=sid, parent_id=head.id)
            )
            other.add_message(
                ChatMessage(role="assistant", content="their answer", session_id=sid, parent_id=theirs.id)
            )
            screen.query_one(Composer).insert("my question")
            await pilot.press("ctrl+o")
            await _said(pilot, notes, CHANGED)
            assert not isinstance(app.screen, CompareScreen)
            assert [v.message.content for v in views(screen)][-2:] == ["their question", "their answer"]
            assert _composer(screen) == "my question"
            # ctrl+o again: the compare opens on the conversation as it is now.
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            assert [m.content for m in app.screen.conversation.path()][-2:] == ["their question", "their answer"]


async def test_an_answer_another_window_still_writes_is_never_sent_as_a_finished_turn(make_app, other: Store) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid, head = screen.session.id, app.store.active_path(screen.session.id)[-1]
            theirs = other.add_message(
                ChatMessage(role="user", content="their question", session_id=sid, parent_id=head.id)
            )
            partial = other.add_message(
                ChatMessage(role="assistant", content="half of", session_id=sid, parent_id=theirs.id, state="streaming")
            )
            await type_and_send(pilot, "my question")
            await _said(pilot, notes, STILL_WRITING)
            # Not sent: the answer so far is shown, and why the send waits.
            assert views(screen)[-1].message.content == "half of"
            assert _messages(notes).count(STILL_WRITING) == 1 and _composer(screen) == "my question"
            await pilot.press("enter")  # at once: still waits
            await _said(pilot, notes, STILL_WRITING, 2)
            # It goes on: Enter again still waits (it moved, so that window is alive).
            other.update_message(partial.replace(content="half of it"))
            await pilot.press("enter")
            await _said(pilot, notes, STILL_WRITING, 3)
            assert views(screen)[-1].message.content == "half of it"
            # It ends: shown, then sent on top of the finished answer.
            other.update_message(partial.replace(content="half of it, and done", state="complete"))
            await pilot.press("enter")
            await _said(pilot, notes, CHANGED)
            assert views(screen)[-1].message.content == "half of it, and done"
            assert len(_prompts(fs)) == 1 and _composer(screen) == "my question"
            await pilot.press("enter")
            await wait_for(pilot, settled(screen, 6))
            # Every prompt sent: never the partial answer as a finished turn.
            assert len(_prompts(fs)) == 2
            assert "half of it, and done" in _prompts(fs)[-1]
            for prompt in _prompts(fs):
                assert "half of<" not in prompt and "half of it<" not in prompt


async def test_an_answer_left_streaming_by_a_dead_window_can_be_sent_over_when_it_does_not_move(
    make_app, other: Store, monkeypatch
) -> None:
    monkeypatch.setattr(store_sync, "QUIET_S", 1.0)  # the wait (5 s) is not what is tested
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid, head = screen.session.id, app.store.active_path(screen.session.id)[-1]
            theirs = other.add_message(
                ChatMessage(role="user", content="their question", session_id=sid, parent_id=head.id)
            )
            left = other.add_message(
                ChatMessage(role="assistant", content="cut sho", session_id=sid, parent_id=theirs.id, state="streaming")
            )
            await type_and_send(pilot, "my question")  # shown, and told it is still being written
            await _said(pilot, notes, STILL_WRITING)
            await pilot.press("enter")  # at once: still waits
            await _said(pilot, notes, STILL_WRITING, 2)
            assert len(_prompts(fs)) == 1
            await pilot.pause(store_sync.QUIET_S + 0.2)
            await pilot.press("enter")  # nothing moved for QUIET_S: sent; that answer counts as interrupted
            await wait_for(pilot, settled(screen, 6))
            stored = app.store.get_message(left.id)
            assert stored.state == "interrupted" and stored.error == LEFT_UNFINISHED
            assert len(_prompts(fs)) == 2 and "cut sho" in _prompts(fs)[-1]


async def test_a_session_deleted_elsewhere_is_said_and_sending_brings_it_back(make_app, other: Store) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid = screen.session.id
            other.delete_session(sid)
            await type_and_send(pilot, "still here?")
            await wait_for(pilot, lambda: any("deleted in another window" in m for m in _messages(notes)))
            assert len(_prompts(fs)) == 1 and _composer(screen) == "still here?"
            told = [m for m in _messages(notes) if "deleted in another window" in m]
            assert told and "press Enter to bring the session back" in told[0]
            assert sid in [t.id for t in other.list_trash()]
            await pilot.press("enter")
            await wait_for(pilot, settled(screen, 4))
            # Back in every list, with everything; said.
            assert sid in [s.id for s in other.list_sessions()] and sid not in [t.id for t in other.list_trash()]
            assert [m.content for m in other.active_path(sid)][:3] == ["first question", "Hello world", "still here?"]
            assert any(m.endswith("is back.") for m in _messages(notes))


async def test_an_answer_streaming_into_a_session_deleted_elsewhere_brings_it_back_and_says_so(
    make_app, other: Store
) -> None:
    words = [f"w{i} " for i in range(14)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [*(token(w) for w in words), final(14)], delay=0.25)
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            screen.sessions.rename(screen.session, "bravo")
            sid = screen.session.id
            await type_and_send(pilot, "go")
            await wait_for(pilot, lambda: len(views(screen)) == 2 and len(views(screen)[-1].text) >= 6)
            other.delete_session(sid)  # while the answer streams
            await wait_for(pilot, settled(screen, 2), timeout=15)
            await wait_for(pilot, lambda: any("had been deleted in another window" in m for m in _messages(notes)))
            assert any("“bravo”" in m and "it is back" in m for m in _messages(notes))
            # Stored: out of the trash, the whole answer in it; listed again.
            assert sid in [s.id for s in other.list_sessions()]
            assert other.active_path(sid)[-1].content == "".join(words)
            assert other.active_path(sid)[-1].state == "complete"


async def test_a_session_purged_elsewhere_keeps_the_text_in_a_new_session(make_app, other: Store) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            sid = screen.session.id
            other.delete_session(sid)
            other.purge_session(sid)
            await type_and_send(pilot, "words worth keeping")
            await wait_for(pilot, lambda: PURGED in _messages(notes))
            # A new session (SQLite may give it the purged one's id), empty, the text in its composer.
            assert screen.session is not None and screen.session.head_id is None and views(screen) == []
            assert _composer(screen) == "words worth keeping"
            assert sid not in [t.id for t in other.list_trash()]
            assert notes.errors() == [PURGED]  # and no "cannot save" on top
            assert len(_prompts(fs)) == 1


async def test_the_trash_lists_restores_purges_and_empties(make_app, other: Store) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, store=Store.open(other.path), **FAST)
        make_app.stores.append(app.store)
        notes = Notes(app)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _first_exchange(pilot)
            app.store.rename_session(screen.session.id, "alpha")
            alpha = screen.session.id
            ids = {}
            for title in ("bravo", "charlie", "delta"):
                await pilot.press("ctrl+n")
                await wait_for(pilot, lambda: screen.session.id not in (alpha, *ids.values()))
                app.store.rename_session(screen.session.id, title)
                ids[title] = screen.session.id
            await screen.open_session(alpha)
            # Deleted here (bravo) and in another window (charlie, delta, alpha's neighbour).
            for title in ("charlie", "delta"):
                other.delete_session(ids[title])
            other.delete_session(alpha)
            await screen.open_session(ids["bravo"])
            await pilot.press("f8")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.session is not None and screen.session.id != ids["bravo"])

            await pilot.press("alt+x")
            await wait_for(pilot, lambda: isinstance(app.screen, TrashScreen))
            trash = app.screen
            assert trash.items[0].title == "bravo"  # most recently deleted first
            assert {item.title for item in trash.items} == {"alpha", "bravo", "charlie", "delta"}
            text = screen_text(app)
            assert "alpha" in text and "2 messages" in text and "deleted just now" in text
            # d: delete one for good (asked first).
            listing = trash.query_one("#trash-list")
            listing.highlighted = [item.title for item in trash.items].index("delta")
            await pilot.press("d")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is trash and len(trash.items) == 3)
            with pytest.raises(KeyError):
                other.stamp(ids["delta"])
            # Enter: restore alpha, and it opens with its messages.
            listing.highlighted = [item.title for item in trash.items].index("alpha")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.session is not None and screen.session.id == alpha)
            assert [v.message.content for v in views(screen)] == ["first question", "Hello world"]
            assert alpha in [s.id for s in other.list_sessions()]
            # E: empty the rest (asked first).
            await pilot.press("alt+x")
            await wait_for(pilot, lambda: isinstance(app.screen, TrashScreen))
            await pilot.press("E")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, TrashScreen) and not app.screen.items)
            assert other.list_trash() == []
            assert "The trash is empty." in screen_text(app)
            await pilot.press("escape")
            assert any("Deleted 2 sessions for good." in m for m in _messages(notes))
            assert notes.errors() == []


async def test_the_trash_is_in_the_palette_and_in_help(make_app) -> None:
    async with FaultServer() as fs:
        app = make_app(fs.url, **FAST)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            palette = {c.title: c.help for c in app.get_system_commands(screen)}
            assert "Trash" in palette and "(alt+x)" in palette["Trash"]
            await pilot.press("f1")
            await pilot.pause(0.3)
            assert "Trash" in screen_text(app)
            # Its key, on the trash's line (alt+t is the suggested template's, issue 12).
            assert any("alt+x" in line and "Trash" in line for line in screen_text(app).splitlines())
