"""Reasoning (<think>...</think>) shows collapsed apart from the answer, is stored apart, and is
not sent back in the next turn. A random-weight model cannot be made to think, so the scripted
fault server plays the model here."""

from __future__ import annotations

from textual.widgets import Collapsible

from llama_tui.widgets.composer import Composer
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.fault_server import FaultServer, final, token


async def test_reasoning_is_collapsed_stored_apart_and_not_resent(make_app) -> None:
    async with FaultServer() as fs:
        pieces = ["<thi", "nk>\nFirst, ", "2+2 is 4.", "</th", "ink>\n\n", "The answer ", "is **4**."]
        fs.completion = lambda r: fs.stream(r, [token(p) for p in pieces] + [final(len(pieces))], delay=0.01)
        app = make_app(fs.url, default_template="chatml")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main
            view = await ask_and_wait(pilot, "what is 2+2?")
            box = view.query_one(Collapsible)
            assert box.display and box.collapsed
            assert str(view.query_one(".reasoning").render()) == "First, 2+2 is 4."
            assert view.markdown.source == "The answer is **4**."
            stored = app.store.get_message(view.message.id)
            assert (stored.reasoning, stored.content) == ("First, 2+2 is 4.", "The answer is **4**.")

            screen.query_one(Composer).insert("and 3+3?")
            await pilot.press("enter")
            await wait_for(pilot, lambda: fs.hits.get("/completion") == 2)
            prompt = [b for b in fs.bodies if isinstance(b, dict) and "prompt" in b][-1]["prompt"]
            assert "The answer is **4**." in prompt and "2+2 is 4." not in prompt and "<think>" not in prompt
