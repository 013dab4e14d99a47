"""The real-model tier in the app: the real Gemma 3 270M chats through the built-in gemma3 family and
through a user's .jinja file named in the config ([templates.NAME] jinja = "path"), with real English
text, stop strings honoured and speeds from the server's timings in the footer.

Gemma 3 270M is a base model: asked a question through the chat format it repeats the question (it
was never trained on turns, and never writes <end_of_turn>: not among its 100 likeliest tokens after a
finished answer). So the answer is started for it with a prefill (F5), which it continues in English,
and a stop string of the session (".") ends it, as a template's stop would; the template's own stops
travel with the request after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Select, Static

from llama_tui.cli.common import custom_templates
from llama_tui.config import load_config
from llama_tui.screens.prompt_preview import PromptPreviewScreen
from llama_tui.screens.text_prompt import TextPromptScreen
from llama_tui.templates import get_template
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from llama_tui.widgets.settings_pane import SettingsPane
from tests.harness.app import wait_for, wait_for_answer
from tests.harness.assets import official_template
from tests.harness.server import LlamaServer

QUESTION = "Tell me about Paris."
PREFILL = "Paris is"
SETTINGS = {"n_predict": 24, "temperature": 0.0, "stop": ["."]}
GEMMA_STOPS = ["<end_of_turn>", "<start_of_turn>"]


async def _ask_with_prefill(pilot: Any) -> tuple[MessageView, str]:
    """Send QUESTION with the answer started by PREFILL; returns the answer's view and the prompt shown
    by the preview (F6) just before sending."""
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.props is not None)
    screen.query_one(Composer).insert(QUESTION)
    await pilot.press("f5")
    # The prefill dialog (multi-line: a composer of its own) has the focus.
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, TextPromptScreen) and pilot.app.screen.focused is not None
    )
    await pilot.press(*PREFILL, "enter")
    await wait_for(pilot, lambda: screen.prefill == PREFILL)
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptPreviewScreen))
    preview = pilot.app.screen
    summary = preview.query_one("#summary", Static)
    await wait_for(pilot, lambda: preview.tokens is not None or "Could not" in str(summary.render()), timeout=30)
    assert preview.tokens is not None, summary.render()
    prompt = preview.prompt
    await pilot.press("escape")
    screen.query_one(Composer).focus()
    await pilot.press("enter")
    view = await wait_for_answer(pilot, timeout=120)  # about 10 tokens/s on two busy cores
    assert view.message.state == "complete", view.message.error
    return view, prompt


def _check_answer(view: MessageView) -> str:
    """Real English, ended by the session's stop, the template's stops sent after it; returns the text
    the model wrote."""
    message = view.message
    assert message.content.startswith(PREFILL)
    written = message.content[len(PREFILL) :]
    words = re.findall(r"[A-Za-z]+", written)
    assert len(words) >= 4, written  # " a city in the French province of Île-de-France"
    assert all(ch.isalpha() or ch in " -,'" for ch in written), written  # words, not stray tokens
    assert (message.stop_type, message.stopping_word) == ("word", ".")  # ended at the stop, which is not shown
    assert "." not in written and not any(stop in message.content for stop in GEMMA_STOPS)
    assert message.settings is not None and message.settings["stop"] == [".", *GEMMA_STOPS]
    timings = message.timings
    assert timings is not None and timings["predicted_n"] > 0 and timings["predicted_per_second"] > 0
    footer = str(view.query_one(".footer", Static).render())
    assert f"gen {timings['predicted_per_second']:,.1f} t/s" in footer, footer
    assert f"prompt {timings['prompt_n']:,} tok" in footer and "stop: stop word" in footer
    return written


async def test_real_gemma_through_the_gemma3_family(gemma_server: LlamaServer, make_app: Callable[..., Any]) -> None:
    app = make_app(gemma_server.url, default_template="gemma3", default_settings=SETTINGS)
    async with app.run_test(size=(140, 45)) as pilot:
        view, prompt = await _ask_with_prefill(pilot)
        assert prompt == f"<start_of_turn>user\n{QUESTION}<end_of_turn>\n<start_of_turn>model\n{PREFILL}"
        _check_answer(view)


async def test_real_gemma_through_a_jinja_file_in_the_config(
    gemma_server: LlamaServer, make_app: Callable[..., Any], tmp_path: Path
) -> None:
    """Gemma 2's official template (Gemma 3 writes the same turns) from a user's config: rendered
    locally, it gives the gemma3 family's prompt exactly, so the real model answers the same."""
    jinja = tmp_path / "gemma.jinja"
    jinja.write_text(official_template("google-gemma-2-2b-it.jinja").read_text())
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[templates.gemma-file]\njinja = "gemma.jinja"\nbos_token = "<bos>"\neos_token = "<eos>"\n'
        'stops = ["<end_of_turn>", "<start_of_turn>"]\n'
    )
    config = load_config(config_file)
    custom = custom_templates(config, config_file.parent)
    app = make_app(
        gemma_server.url,
        default_template="gemma-file",
        default_settings=SETTINGS,
        templates=config.templates,
        custom_templates=custom,
    )
    async with app.run_test(size=(140, 45)) as pilot:
        view, prompt = await _ask_with_prefill(pilot)
        family = get_template("gemma3").render(
            [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}], continue_final=True
        )
        assert prompt == family
        written = _check_answer(view)

        # A new session through the family: the same prompt, so the same (greedy) answer.
        screen, first = app.main, app.main.session.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.session.id != first)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.query_one(SettingsPane).built)
        screen.query_one("#template", Select).value = "gemma3"
        await wait_for(pilot, lambda: screen.session.template == "gemma3")
        await pilot.press("ctrl+t")
        view, prompt = await _ask_with_prefill(pilot)
        assert prompt == family
        assert _check_answer(view) == written
