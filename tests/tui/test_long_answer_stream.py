"""A long answer streams into one MessageBody section by section (so each token's cost stays flat)
and ends up shown exactly as the same text is shown when the session is opened again. The scripted
fault server plays a model that writes well-formed markdown (a random-weight model cannot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from llama_tui.widgets.chat_pane import ChatPane
from llama_tui.widgets.message_body import MessageBody
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.fault_server import FaultServer, final, token
from tests.harness.faults import screen_text
from tests.harness.samples import sample_markdown


@asynccontextmanager
async def scripted_server(answer: str) -> AsyncIterator[FaultServer]:
    """A server that streams `answer` in 7-character tokens."""
    pieces = [answer[i : i + 7] for i in range(0, len(answer), 7)]
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.0005)
        yield fs


def painted(body: MessageBody) -> list[str]:
    return [body.render_line(y).text.rstrip() for y in range(body.size.height)]


async def test_long_answer_streams_by_sections_and_settles_like_the_reopened_session(make_app) -> None:
    answer = sample_markdown(sections=8)
    async with scripted_server(answer) as fs:
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            view = await ask_and_wait(pilot, "a long answer, please", timeout=60)
            screen = app.main
            assert view.shown_markdown == answer
            assert app.store.get_message(view.message.id).content == answer
            body = view.markdown
            assert len(body.document.sections()) >= 8  # streamed a section at a time
            streamed = painted(body)
            assert streamed[0] == "Section 0" and streamed[-1] != ""  # no gap above or below

            # The session opened again (from the store): the same lines, line for line.
            session = screen.session
            await screen.new_session()
            await screen.open_session(session.id)
            await wait_for(pilot, lambda: screen.query(MessageView).last().message.id == view.message.id)
            reopened = screen.query(MessageView).last().markdown
            await wait_for(pilot, lambda: reopened.size.height == len(streamed))
            assert painted(reopened) == streamed


async def test_a_long_answer_is_one_widget_and_scrolls_back_to_its_start(make_app) -> None:
    """Layout passes visit every widget: however long the answer, its text is one widget, and
    scrolling to the top shows its first lines (painted on demand)."""
    answer = sample_markdown(sections=12)
    async with scripted_server(answer) as fs:
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(100, 30)) as pilot:
            view = await ask_and_wait(pilot, "a long answer, please", timeout=60)
            await pilot.pause()
            chat = app.main.query_one(ChatPane)
            assert len(view.query(MessageBody)) == 1 and not view.markdown.children
            assert view.markdown.size.height > 3 * chat.size.height
            assert view.markdown.size.height == len(painted(view.markdown))  # no growth reserve left

            chat.scroll_home(animate=False)
            await pilot.pause()
            await pilot.pause()
            assert "a long answer, please" in screen_text(app)
            assert "Section 0" in screen_text(app)

            # A narrower terminal: the answer is laid out again at the new width (taller).
            height = view.markdown.size.height
            await pilot.resize_terminal(70, 30)
            await wait_for(pilot, lambda: view.markdown.size.height > height)
            assert all(len(line) <= view.markdown.size.width for line in painted(view.markdown))
