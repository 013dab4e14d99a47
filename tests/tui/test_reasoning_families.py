"""Reasoning in the app for each family that reasons in its own way: Qwen3.5 (the prompt opens
`<think>`, the output only closes it), gpt-oss (harmony's analysis and final channels) and Gemma 4 (its
thought channel). Through the real llama-server: a tiny model with the markers' tokens typed as in the
real GGUFs writes, forced by a grammar (tests/harness/forced_output.py), what a reasoning model writes.

For each: the reasoning is shown apart (collapsed, also while it streams), stored apart, counted apart
in the footer, and not sent back; "stop thinking now" (ctrl+g) closes the reasoning where it is, the
same answer goes on from the prompt, the output and the closing marker, and the next prompt holds no
open reasoning block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from textual.widgets import Collapsible, Static

from llama_tui.reasoning import Start, format_for, start_for
from llama_tui.screens.prompt_preview import PromptPreviewScreen
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.forced_output import ForcedOutput
from tests.harness.server import LlamaServer


@dataclass(frozen=True)
class Family:
    template: str
    opening: str  # what the output writes to open its reasoning (grammar), "" when the prompt opened it
    closing: str  # what ends the reasoning and starts the answer (grammar)

    def output(self, reasoning: str, answer: str) -> str:
        """A grammar forcing `reasoning` then `answer`."""
        return f'root ::= {self.opening} "{reasoning}" {self.closing} "{answer}"'

    def thinking(self) -> str:
        """A grammar forcing a long reasoning that does not end by itself."""
        return f'root ::= {self.opening} ("think "){{1000}}'


FAMILIES = [
    Family("qwen3.5", "", '</think> "\\n\\n"'),
    Family(
        "gpt-oss",
        '<|channel|> "analysis" <|message|>',
        '<|end|> <|start|> "assistant" <|channel|> "final" <|message|>',
    ),
    Family("gemma4", '<|channel> "thought\\n"', "<channel|>"),
]


def _box(view: MessageView) -> Collapsible | None:
    boxes = view.query(Collapsible)
    return boxes.first() if boxes else None


def _reasoning_shown(view: MessageView) -> str:
    return str(view.query_one(".reasoning", Static).render())


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.template)
async def test_reasoning_apart_not_resent_and_stopped_on_demand(
    family: Family, reasoning_server: LlamaServer, make_app: Callable[..., Any]
) -> None:
    app = make_app(
        reasoning_server.url, default_template=family.template, default_settings={"temperature": 0.0, "n_predict": 3000}
    )
    forced = ForcedOutput(app.client, pace=0.003).then(family.output("Two and two make four.", "It is 4."))
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.main
        view = await ask_and_wait(pilot, "What is 2+2?")
        first_prompt = forced.prompts[-1]
        # Shown apart, collapsed.
        box = _box(view)
        assert box is not None and box.display and box.collapsed
        assert _reasoning_shown(view) == "Two and two make four."
        assert view.shown_markdown == "It is 4."
        # Stored apart, counted apart.
        stored = app.store.get_message(view.message.id)
        assert (stored.reasoning, stored.content) == ("Two and two make four.", "It is 4.")
        assert stored.meta is not None and stored.meta["reasoning_tokens"] > 0 and stored.meta["answer_tokens"] > 0
        footer = str(view.query_one(".footer", Static).render())
        assert f"reasoning {stored.meta['reasoning_tokens']:,} tok in" in footer, footer
        assert f"answer {stored.meta['answer_tokens']:,} tok in" in footer

        # Not resent: the next turn's prompt has the answer, not its reasoning.
        forced.then(family.output("Three and three.", "It is 6."))
        second = await _send(pilot, "And 3+3?")
        second_prompt = forced.prompts[-1]
        assert "It is 4." in second_prompt and "Two and two" not in second_prompt
        assert second.message.content == "It is 6."

        # Stop thinking now: while the model thinks (shown collapsed as it streams), ctrl+g.
        forced.then(family.thinking(), 'root ::= "Four, again."')
        screen.query_one(Composer).insert("And 2+2 again?")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.query(MessageView)) == 6)
        third = screen.query(MessageView)[-1]
        await wait_for(pilot, lambda: _box(third) is not None and _reasoning_shown(third).count("think") >= 5)
        box = _box(third)
        assert box is not None and box.collapsed and third.shown_markdown == ""  # thinking: no answer yet
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: not screen.is_generating)
        answer = app.store.get_message(third.message.id)
        assert answer.state == "complete" and answer.content == "Four, again."
        assert answer.reasoning is not None and answer.reasoning.startswith("think think think")
        assert answer.meta is not None and answer.meta["reasoning_stopped"] is True
        assert "reasoning ended early (ctrl+g)" in str(third.query_one(".footer", Static).render())
        # The same answer went on from the prompt, the output so far and the closing marker.
        restarted = forced.prompts[-1]
        assert restarted.startswith(forced.prompts[-2]) and answer.reasoning.split()[-1] in restarted
        fmt = format_for(family.template, forced.prompts[-2])
        assert start_for(fmt, restarted) is Start.ANSWER
        assert len(forced.prompts) == 4

        # The next prompt: the stopped answer is there, closed, without its reasoning.
        screen.query_one(Composer).insert("Thanks.")
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptPreviewScreen))
        preview = pilot.app.screen
        await wait_for(pilot, lambda: preview.prompt is not None)
        following = preview.prompt
        assert "Four, again." in following and "think think" not in following
        assert start_for(format_for(family.template, following), following) is start_for(fmt, first_prompt)


async def _send(pilot: Any, text: str) -> MessageView:
    screen = pilot.app.main
    before = len(screen.query(MessageView))
    screen.query_one(Composer).insert(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(screen.query(MessageView)) == before + 2 and not screen.is_generating)
    view = screen.query(MessageView)[-1]
    assert view.message.state == "complete", view.message.error
    return view
