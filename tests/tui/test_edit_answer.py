"""An answer fixed by hand says so (issue 13, item 14): it kept the old footer, e.g. "cut off by
n_predict (continue to resume)", as if the model had written the new text."""

from __future__ import annotations

from textual.widgets import Static

from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import ask_and_wait, wait_for


async def test_an_edited_answer_is_marked_edited_and_drops_the_old_figures(make_app, llama_server) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.main
        answer = await ask_and_wait(pilot, "hello")
        assert "cut off by n_predict" in str(answer.query_one(".footer", Static).visual)
        await pilot.press("alt+up")
        assert screen.focused is answer
        await pilot.press("e")
        composer = screen.query_one(Composer)
        await wait_for(pilot, lambda: composer.has_focus and composer.text == answer.message.content)
        composer.set_text("A better answer, by hand.")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.content == "A better answer, by hand.")
        edited = screen.query(MessageView)[-1]
        footer = str(edited.query_one(".footer", Static).visual)
        assert "edited by hand" in footer
        assert "n_predict" not in footer and "tok" not in footer
        stored = app.store.get_message(edited.message.id)
        assert stored.meta == {"edited": True} and stored.timings is None and stored.probs is None
        # The original stays beside it, with its own figures.
        assert edited.alternatives == (2, 2)
        original = app.store.get_message(answer.message.id)
        assert original.stop_type == "limit" and not (original.meta or {}).get("edited")
