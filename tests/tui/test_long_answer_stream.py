"""A long answer streams into several Markdown chunks (so each token's cost stays flat) and ends
up shown exactly as one Markdown widget would show it. The scripted fault server plays a model
that writes well-formed markdown (a random-weight model cannot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import chain, pairwise

from textual.widgets import Markdown

from llama_tui.widgets.chat_pane import ChatPane
from llama_tui.widgets.message_view import CHUNK_CHARS
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.samples import sample_markdown


@asynccontextmanager
async def scripted_server(answer: str) -> AsyncIterator[FaultServer]:
    """A server that streams `answer` in 7-character tokens."""
    pieces = [answer[i : i + 7] for i in range(0, len(answer), 7)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.0005)
        yield fs


def block_names(markdown: Markdown) -> list[str]:
    return [type(block).__name__ for block in markdown.children]


async def test_long_answer_streams_in_chunks_and_settles_like_one_document(make_app) -> None:
    answer = sample_markdown(sections=8)
    assert len(answer) > 3 * CHUNK_CHARS
    async with scripted_server(answer) as fs:
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            view = await ask_and_wait(pilot, "a long answer, please", timeout=60)
            screen = app.main
            chunks = view.chunks()
            assert len(chunks) >= 3
            assert view.shown_markdown == answer
            assert app.store.get_message(view.message.id).content == answer

            # The same blocks, in the same order, as the answer shown in one Markdown widget
            # (what a reload from the store shows).
            whole = Markdown(answer)
            await screen.mount(whole)
            await pilot.pause()
            assert list(chain.from_iterable(block_names(c) for c in chunks)) == block_names(whole)

            # No gap above the first block or below the last; chunks join without a double gap.
            assert chunks[0].children[0].styles.margin.top == 0
            assert chunks[-1].children[-1].styles.margin.bottom == 0
            for above, below in pairwise(chunks):
                last, first = above.children[-1], below.children[0]
                gap = last.styles.margin.bottom + first.styles.margin.top
                assert gap == max(last.styles.base.margin.bottom, first.styles.base.margin.top)


async def test_chunks_far_off_screen_are_parked_and_come_back_when_scrolled_to(make_app) -> None:
    """Layout passes touch every displayed widget: the blocks of chunks a screen or more above
    the viewport are hidden (the chunk keeps its height) and shown again as the user scrolls up."""
    answer = sample_markdown(sections=12)
    async with scripted_server(answer) as fs:
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(100, 30)) as pilot:
            view = await ask_and_wait(pilot, "a long answer, please", timeout=60)
            await pilot.pause()
            screen = app.main
            chat = screen.query_one(ChatPane)
            chunks = view.chunks()
            parked = [c for c in chunks if c.parked]
            assert parked and chunks[0].parked and not chunks[-1].parked
            for chunk in parked:
                assert chunk.styles.height is not None and chunk.outer_size.height > 0
                assert not any(block.display for block in chunk.children)
            height = chat.virtual_size.height

            chat.scroll_home(animate=False)
            await wait_for(pilot, lambda: not chunks[0].parked)
            await pilot.pause()
            assert all(block.display for block in chunks[0].children)
            assert chat.virtual_size.height == height  # a parked chunk kept its exact height
            first_line = answer.splitlines()[0].lstrip("# ")
            assert first_line in "".join(str(b.render()) for b in chunks[0].children[:1])

            # A narrower terminal: every chunk's height changes, so they come back and are parked
            # again at their new (taller) heights.
            far = chunks[-3]
            assert far.parked
            parked_before = far.outer_size.height
            await pilot.resize_terminal(80, 30)
            await wait_for(pilot, lambda: far.parked and far.outer_size.height > parked_before)
            await pilot.pause()
            parked_height = chat.virtual_size.height
            for chunk in chunks:
                chunk.unpark()
            await pilot.pause()
            await pilot.pause()
            assert chat.virtual_size.height == parked_height
