"""KV-cache friendliness against the real 2-slot server: each session is pinned to a slot, so
switching sessions keeps each one's prompt cache (cache_n rises, also after a switch)."""

from __future__ import annotations

from typing import Any

from llama_tui.client import FinalEvent
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


class FinalSpy:
    """Keeps every final event the real client yields (the stream itself is untouched)."""

    def __init__(self, client: Any) -> None:
        self.finals: list[FinalEvent] = []
        real = client.stream_completion

        async def spy(prompt: Any, **params: Any) -> Any:
            async for event in real(prompt, **params):
                if isinstance(event, FinalEvent):
                    self.finals.append(event)
                yield event

        client.stream_completion = spy


async def test_sessions_are_pinned_to_slots_and_keep_their_cache(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 8})
    spy = FinalSpy(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        await wait_for(
            pilot,
            lambda: screen.session is not None and screen.props is not None and screen.server_state is ServerState.OK,
        )
        assert screen.props.total_slots == 2

        async def say(text: str) -> FinalEvent:
            count = len(spy.finals)
            screen.query_one(Composer).insert(text)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    len(spy.finals) == count + 1
                    and not screen.is_generating
                    and screen.query(MessageView)[-1].message.state != "streaming"
                ),
            )
            return spy.finals[-1]

        first_session = screen.session.id
        await say("a first question about llamas and their wool")
        again = await say("and a second one")
        assert again.id_slot == first_session % 2
        assert again.timings is not None and again.timings.cache_n > 0
        stored = app.store.active_path(first_session)[-1]
        assert stored.timings["cache_n"] == again.timings.cache_n
        assert "cached" in str(screen.query(MessageView)[-1].query_one(".footer").render())

        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first_session)
        if screen.session.id % 2 == first_session % 2:  # make sure the other session uses the other slot
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: screen.session.id % 2 != first_session % 2)
        other = await say("something else entirely")
        assert other.id_slot == screen.session.id % 2 != first_session % 2

        await screen.open_session(first_session)
        back = await say("back to llamas")
        # The first session's slot still holds its conversation: most of the prompt is cached.
        assert back.id_slot == first_session % 2
        assert back.timings.cache_n >= again.timings.cache_n
