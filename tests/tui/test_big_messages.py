"""Big messages (issue 14, item 8): what is laid out is capped (DISPLAY_LIMIT), the copy is whole,
and laying a message out happens in a worker thread, so the app answers keys meanwhile. (How fast
a session opens is a benchmark figure, not a test.)"""

from __future__ import annotations

import threading

import llama_tui.client.api as client_api
import llama_tui.widgets.markdown_document as markdown_document
import llama_tui.widgets.message_body as message_body
from llama_tui.domain import ChatMessage, Session
from llama_tui.screens.server_panel import ServerPanel
from llama_tui.store import Store
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import DISPLAY_LIMIT, MessageView
from tests.harness.app import ask_and_wait, wait_for, wait_for_answer
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.samples import sample_markdown

BIG = 2_800_000


def big_markdown(size: int) -> str:
    text = sample_markdown(sections=12)
    return (text * (size // len(text) + 1))[:size]


def store_with_big_answer(tmp_path, size: int) -> tuple[Store, str]:
    store = Store.open(tmp_path / "big.sqlite3")
    answer = big_markdown(size)
    store.import_session(
        Session(title="big", head_id=2, created_at=1_700_000_000, updated_at=1_700_000_000),
        [
            ChatMessage(id=1, role="user", content="everything, please", created_at=1_700_000_000),
            ChatMessage(id=2, parent_id=1, role="assistant", content=answer, created_at=1_700_000_001),
        ],
    )
    return store, answer


def opened(screen) -> bool:
    """The big session is shown: its last message, the big answer, is mounted."""
    views = screen.query(MessageView)
    return screen.session is not None and bool(views) and views.last().message.id == 2


async def test_a_2_8_mb_answer_is_shown_capped_and_copied_whole(llama_server, make_app, tmp_path) -> None:
    store, answer = store_with_big_answer(tmp_path, BIG)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: opened(screen))
        view = screen.query(MessageView).last()
        shown = view.markdown.source
        assert len(shown) < DISPLAY_LIMIT + 200
        assert f"{BIG - DISPLAY_LIMIT:,} more characters not shown (y copies the whole message)" in shown
        await wait_for(pilot, lambda: view.markdown.size.height > 100, timeout=30)  # laid out (in a thread)
        await pilot.press("alt+up")
        await wait_for(pilot, lambda: app.focused is view)
        await pilot.press("y")
        assert app.clipboard == answer
    store.close()


async def test_laying_out_a_big_message_never_holds_up_a_key(llama_server, make_app, tmp_path, monkeypatch) -> None:
    """The layout of a long message is held in its worker thread: the composer still echoes keys,
    the message says it is being laid out, and it shows once the thread is done."""
    store, _ = store_with_big_answer(tmp_path, 61_000)
    release = threading.Event()
    started = threading.Event()
    real = message_body.layout_sections

    def held(sections, width, *rest):
        started.set()
        release.wait(30)
        return real(sections, width, *rest)

    monkeypatch.setattr(message_body, "layout_sections", held)
    app = make_app(llama_server.url, store=store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: opened(screen))
            await wait_for(pilot, started.is_set)
            body = screen.query(MessageView).last().markdown
            composer = screen.query_one(Composer)
            composer.focus()
            await pilot.press(*"still here")
            await wait_for(pilot, lambda: composer.text == "still here")
            assert not release.is_set()  # typed and echoed while the layout was still running
            assert body.render_line(0).text.startswith("laying out…")
            release.set()
            await wait_for(pilot, lambda: "Section 0" in body.render_line(0).text, timeout=30)
            assert body.size.height > 1000
    finally:
        release.set()
    store.close()


async def test_a_layout_for_a_width_that_is_gone_stops(llama_server, make_app, tmp_path, monkeypatch) -> None:
    """The width changes while a long message is laid out in its thread (the terminal resized;
    or, on opening a session, the chat's scrollbar appearing takes two columns): the thread for the
    old width stops at its next section instead of laying out the whole message for nothing, which
    held the GIL against the new width's thread and the event loop."""
    store, _ = store_with_big_answer(tmp_path, 61_000)
    release = threading.Event()
    held_width: list[int] = []
    in_threads: dict[int, int] = {}  # width -> sections laid out in worker threads
    finished: list[int] = []  # widths whose thread returned
    real_section, real_sections = markdown_document.layout_markdown, message_body.layout_sections

    def layout_markdown(text, width, number):
        if threading.current_thread() is not threading.main_thread():
            in_threads[width] = in_threads.get(width, 0) + 1
            if not held_width or held_width[0] == width:
                held_width[:] = [width]
                release.wait(30)  # the first thread waits on its first section until the resize
        return real_section(text, width, number)

    def layout_sections(sections, width, *rest):
        try:
            return real_sections(sections, width, *rest)
        finally:
            finished.append(width)

    monkeypatch.setattr(markdown_document, "layout_markdown", layout_markdown)
    monkeypatch.setattr(message_body, "layout_sections", layout_sections)
    app = make_app(llama_server.url, store=store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: opened(screen) and bool(held_width))
            old = held_width[0]
            await pilot.resize_terminal(100, 40)
            body = screen.query(MessageView).last().markdown
            await wait_for(pilot, lambda: body._threaded is None and body._shown_width not in (0, old), timeout=30)
            new = body._shown_width
            assert old not in finished  # still held
            release.set()
            await wait_for(pilot, lambda: old in finished, timeout=30)
            assert body.size.height > 1000 and body._shown_width == new
            assert in_threads[new] == len(body.document.sections())
            assert in_threads[old] == 1  # the section it was on when the width changed, no more
    finally:
        release.set()
    store.close()


async def test_a_layout_for_a_message_no_longer_shown_stops(llama_server, make_app, tmp_path, monkeypatch) -> None:
    """Another session is opened while a long message is laid out in its thread: the thread stops
    at its next section (the view is gone; the work would only slow the session now shown)."""
    store, _ = store_with_big_answer(tmp_path, 61_000)
    when = 1_600_000_000  # older than the big session: the app opens the big one first
    other = store.import_session(
        Session(title="other", head_id=1, created_at=when, updated_at=when),
        [ChatMessage(id=1, role="user", content="hello", created_at=when)],
    )
    release = threading.Event()
    in_threads: list[int] = []  # sections laid out in worker threads
    started: list[int] = []  # layout threads
    finished: list[int] = []
    real_section, real_sections = markdown_document.layout_markdown, message_body.layout_sections

    def layout_markdown(text, width, number):
        if threading.current_thread() is not threading.main_thread():
            in_threads.append(width)
            release.wait(30)
        return real_section(text, width, number)

    def layout_sections(sections, width, *rest):
        started.append(width)
        try:
            return real_sections(sections, width, *rest)
        finally:
            finished.append(width)

    monkeypatch.setattr(markdown_document, "layout_markdown", layout_markdown)
    monkeypatch.setattr(message_body, "layout_sections", layout_sections)
    app = make_app(llama_server.url, store=store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: opened(screen) and bool(in_threads))
            big = screen.query(MessageView).last()
            await screen.open_session(other.id)
            await wait_for(pilot, lambda: not big.is_attached)
            release.set()
            await wait_for(pilot, lambda: len(finished) == len(started), timeout=30)
            assert len(in_threads) == len(started)  # each thread laid out the section it was on, no more
    finally:
        release.set()
    store.close()


async def test_the_context_meter_counts_a_big_session_without_an_object_per_token(
    llama_server, make_app, tmp_path, monkeypatch
) -> None:
    """Opening a session counts its prompt for the context meter (/tokenize). The meter needs a
    number: the server's list is counted, never turned into a Token per token (a 5 MB message is
    3.6 million tokens: seconds of the event loop held, every key waiting, and hundreds of MB)."""
    store, _ = store_with_big_answer(tmp_path, 400_000)
    made: list[object] = []
    real = client_api.Token

    def counted(*args, **kwargs):
        made.append(None)
        return real(*args, **kwargs)

    monkeypatch.setattr(client_api, "Token", counted)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(pilot, lambda: opened(screen))
        await wait_for(pilot, lambda: screen.server.context is not None, timeout=60)
        assert screen.server.context.used > 100_000  # the whole prompt was counted
    assert len(made) == 0
    store.close()


async def test_opening_a_session_counts_its_context_once(llama_server, make_app, tmp_path, monkeypatch) -> None:
    """Each count renders the whole prompt and has the server tokenize it (for a 5 MB message,
    seconds of server work and ~200 ms of JSON on the event loop). Opening a session counts it
    once: not also the session left (with its draft, as if the new session's), nor again when the
    composer gets the new session's draft."""
    store, _ = store_with_big_answer(tmp_path, 61_000)
    when = 1_600_000_000  # older than the big session: the app opens the big one first
    other = store.import_session(
        Session(title="other", head_id=1, created_at=when, updated_at=when),
        [ChatMessage(id=1, role="user", content="hello", created_at=when)],
    )
    counted: list[str] = []  # the unsent text of each count
    real = ServerPanel.count_context

    async def count_context(panel, pending):
        counted.append(pending)
        return await real(panel, pending)

    monkeypatch.setattr(ServerPanel, "count_context", count_context)
    app = make_app(llama_server.url, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main

        def counted_for(session_id: int | None) -> bool:
            return screen.server.context is not None and screen.server.context.session_id == session_id

        await wait_for(pilot, lambda: opened(screen) and counted_for(screen.session.id))
        screen.query_one(Composer).insert("a draft")
        await wait_for(pilot, lambda: screen.server.context.pending == "a draft")
        counted.clear()
        await screen.open_session(other.id)
        await wait_for(pilot, lambda: counted_for(other.id))
        await pilot.pause(1.5)  # past the composer's 0.5 s debounce
        assert counted == [""]
        assert store.get_session(1).draft == "a draft"  # the draft of the session left is kept
    store.close()


async def test_an_answer_streamed_past_the_cap_is_shown_capped_and_stored_whole(make_app) -> None:
    answer = big_markdown(DISPLAY_LIMIT + 20_000)
    pieces = [answer[i : i + 40] for i in range(0, len(answer), 40)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))])
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            view = await ask_and_wait(pilot, "a lot", timeout=60)
            shown = view.markdown.source
            assert shown.startswith(answer[:1000]) and len(shown) < DISPLAY_LIMIT + 200
            assert "20,000 more characters not shown" in shown
            assert app.store.get_message(view.message.id).content == answer


async def test_a_long_code_block_shows_while_it_streams(make_app) -> None:
    """A code block longer than what is laid out in a thread (THREAD_CHARS) is one section that
    changes with every update: it is laid out at once each time, so it shows as it grows."""
    code = "\n".join(f"def step_{i}(x):\n    return x * {i}  # line {i}" for i in range(300))
    answer = f"Here:\n\n```python\n{code}\n```\n"
    assert len(answer) > 2 * message_body.THREAD_CHARS
    pieces = [answer[i : i + 40] for i in range(0, len(answer), 40)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.005)
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: screen.session is not None)
            screen.query_one(Composer).insert("code please")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
            body = screen.query(MessageView).last().markdown
            # Seen while streaming: past the size a thread would take, the lines keep coming.
            await wait_for(pilot, lambda: len(body.source) > message_body.THREAD_CHARS + 2000 and screen.is_generating)
            shown_lines = body.size.height
            await wait_for(pilot, lambda: body.size.height > shown_lines + 20 and screen.is_generating)
            view = await wait_for_answer(pilot, timeout=60)
            assert view.markdown.source == answer
            assert view.markdown._threaded is None
