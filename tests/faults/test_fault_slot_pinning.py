"""Issue 14, item 11 ("slot pinning blocks"): each session asks for its own slot (`id % slots`) so
its KV cache stays warm, but when that slot is busy with someone else's long answer while another
slot is idle, the answer must not queue behind it.

Real llama-server with two slots; another client (a script, a second terminal) holds the session's
slot with an endless generation.
"""

from __future__ import annotations

from pathlib import Path

from llama_tui.client import LlamaCppClient
from tests.harness.app import wait_for, wait_for_answer
from tests.harness.faults import footer, ready, type_and_send
from tests.harness.other_client import another_client_generating


async def test_an_answer_whose_slot_is_busy_runs_in_the_idle_slot_instead_of_waiting(
    fresh_llama_server, slow_model: Path, make_app
) -> None:
    server = fresh_llama_server(slow_model, ctx_size=8192, parallel=2)
    app = make_app(server.url, default_template="chatml", default_settings={"n_predict": 16})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        assert screen.session is not None and screen.session.id is not None
        pinned = screen.session.id % 2
        async with another_client_generating(server.url, id_slot=pinned) as other:
            # The app learns from /slots that the session's own slot is taken.
            await wait_for(pilot, lambda: pinned in screen.server_watch.busy_slots, timeout=15)
            await type_and_send(pilot, "hello")
            view = await wait_for_answer(pilot, timeout=30)
            assert view.message.state == "complete", view.message.error
            assert "waiting for a free slot" not in footer(view)
            # It did not wait for the other client: that one is still generating in the pinned slot.
            assert not other.done()
            async with LlamaCppClient(server.url) as probe:
                slots = {s.id: s.is_processing for s in await probe.slots()}
            assert slots == {pinned: True, 1 - pinned: False}
