"""A server whose /props says is_sleeping: the status bar says so, and the first answer says the
model is waking instead of looking stuck. (A real llama-server sleeps only after an idle timeout,
so the scripted server plays one here.)"""

from __future__ import annotations

from aiohttp import web

from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for
from tests.harness.fault_server import FaultServer, final, token


async def test_sleeping_server_is_shown_and_the_first_answer_says_waking(make_app) -> None:
    async with FaultServer() as fs:
        sleeping = {"value": True}

        async def props(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "default_generation_settings": {"n_ctx": 4096, "params": {}},
                    "total_slots": 1,
                    "model_path": "/m/model.gguf",
                    "is_sleeping": sleeping["value"],
                }
            )

        async def completion(request: web.Request) -> web.StreamResponse:
            sleeping["value"] = False
            return await fs.stream(request, [token("awake"), final(1)], delay=0.3)

        fs.props = props
        fs.completion = completion
        app = make_app(fs.url, default_template="chatml")
        notes: list[str] = []
        original_notify = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), original_notify(message, **kw))[1]
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            await wait_for(pilot, lambda: screen.server_state is ServerState.SLEEPING)
            assert "sleeping" in str(screen.query_one("#status-server").render())
            screen.query_one(Composer).insert("wake up")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)
            footer = screen.query(MessageView)[-1].query_one(".footer")
            await wait_for(pilot, lambda: "waking model" in str(footer.render()), timeout=5)
            assert any("Waking the model" in n for n in notes)
            await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.state == "complete")
            assert screen.query(MessageView)[-1].message.content == "awake"
