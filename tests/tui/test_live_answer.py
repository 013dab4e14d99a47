"""screens/live_answer.py: an answer streams on while its view goes away, and a new view takes over
mid-stream with every piece exactly once (pieces keep arriving while it is being made)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from llama_tui.domain import ChatMessage
from llama_tui.screens.live_answer import ViewSink
from llama_tui.widgets.message_view import MessageView, shown_text


class Pane(App[None]):
    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="pane")


ANSWER = ChatMessage(role="assistant", content="start ", id=7, session_id=1, state="streaming")


async def test_a_new_view_takes_over_mid_stream_and_gets_every_piece_once() -> None:
    app = Pane()
    async with app.run_test() as pilot:
        pane = app.query_one("#pane")
        sink = ViewSink(ANSWER, lambda error: None)
        first = MessageView(ANSWER)
        await pane.mount(first)
        sink.bind(first)
        pieces = [f"p{i} " for i in range(400)]
        thoughts = [f"t{i} " for i in range(40)]
        sink.on_reasoning(thoughts[0])
        await sink.on_text(pieces[0])
        assert first.text == "start p0 "

        await sink.detach()  # the user went to another session
        await first.remove()
        for piece in pieces[1:150]:
            await sink.on_text(piece)
        sink.on_reasoning(thoughts[1])
        assert sink.so_far().content == "start " + "".join(pieces[:150])

        async def more() -> None:  # the stream goes on while the user comes back
            for i, piece in enumerate(pieces[150:]):
                await sink.on_text(piece)
                if i % 10 == 0:
                    sink.on_reasoning(thoughts[2 + i // 10])

        second = MessageView(sink.so_far())
        streaming = asyncio.create_task(more())
        await pane.mount(second)
        await sink.attach(second)
        await streaming
        await pilot.pause()
        assert second.text == "start " + "".join(pieces)
        assert second.reasoning_text == "".join(thoughts[:27])
        final = ANSWER.replace(content="start " + "".join(pieces), reasoning="".join(thoughts[:27]), state="complete")
        await sink.finish(final)
        assert second.message == final
        assert second.shown_markdown.strip() == shown_text(final.content).strip()


async def test_a_view_made_just_before_the_end_shows_the_end() -> None:
    app = Pane()
    async with app.run_test():
        pane = app.query_one("#pane")
        sink = ViewSink(ANSWER, lambda error: None)
        await sink.on_text("almost")
        view = MessageView(sink.so_far())  # made while it streams...
        final = ANSWER.replace(content="start almost done", state="complete")
        await sink.finish(final)  # ...and it ends before the view is taken over
        await pane.mount(view)
        await sink.attach(view)
        assert view.message == final and view.text == "start almost done"
        assert "streaming" not in str(view.query_one(".footer").render())
