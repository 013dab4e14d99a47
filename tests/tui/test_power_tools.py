"""Conversation power tools against the real tiny-model server: edit, regenerate, alternatives,
continue, prefill, prompt preview, copy, fork, pin."""

from __future__ import annotations

from typing import Any

import pytest

from llama_tui.chat.request import BASE_PARAMS
from llama_tui.screens.answering import code_blocks
from llama_tui.screens.main import MainScreen
from llama_tui.screens.prompt_preview import PromptPreviewScreen
from llama_tui.screens.token_probs import TokenProbsScreen
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


class PromptSpy:
    """Records the raw prompt of every /completion request, then lets the real call go through."""

    def __init__(self, client: Any) -> None:
        self.prompts: list[str] = []
        real = client.stream_completion

        def spy(prompt: Any, **params: Any) -> Any:
            self.prompts.append(prompt)
            return real(prompt, **params)

        client.stream_completion = spy


async def ready(pilot) -> MainScreen:
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.server_state is ServerState.OK)
    return screen


def settled(screen: MainScreen, count: int):
    def check() -> bool:
        views = screen.query(MessageView)
        return len(views) == count and not screen.is_generating and all(v.message.state != "streaming" for v in views)

    return check


async def send(pilot, screen: MainScreen, text: str, count: int) -> None:
    composer = screen.query_one(Composer)
    composer.focus()
    composer.insert(text)
    await pilot.press("enter")
    await wait_for(pilot, settled(screen, count))


@pytest.fixture
def endless(monkeypatch):
    # The random tiny model may stop at once on EOS; these tests need answers of a known length.
    monkeypatch.setitem(BASE_PARAMS, "ignore_eos", True)


async def test_regenerate_keeps_alternatives_and_arrows_switch_them(llama_server, make_app, endless) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 6})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "hi", 2)
        first = screen.query(MessageView)[-1].message
        screen.session.settings.set("seed", 99)  # a different answer
        await pilot.press("alt+up", "r")
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.id != first.id)
        await wait_for(pilot, settled(screen, 2))
        second = screen.query(MessageView)[-1]
        assert second.alternatives == (2, 2)
        assert "‹ 2/2 ›" in str(second.query_one(".role").render())
        assert [m.id for m in app.store.siblings(first.id)] == [first.id, second.message.id]
        # Left shows the first answer again, and the choice is persisted.
        await pilot.press("alt+up", "left")
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.id == first.id)
        assert screen.query(MessageView)[-1].alternatives == (1, 2)
        assert app.store.get_session(screen.session.id).head_id == first.id
        assert screen.query(MessageView)[-1].message.timings is not None


async def test_continue_sends_the_partial_answer_without_end_of_turn(llama_server, make_app, endless) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 8})
    spy = PromptSpy(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "tell me", 2)
        partial = screen.query(MessageView)[-1].message
        assert partial.stop_type == "limit"
        await pilot.press("alt+up", "c")
        await wait_for(pilot, lambda: len(spy.prompts) == 2)
        await wait_for(pilot, settled(screen, 2))
        assert spy.prompts[-1].endswith("<|im_start|>assistant\n" + partial.content)
        assert not spy.prompts[-1].endswith("<|im_end|>\n")
        continued = app.store.get_message(partial.id)
        assert continued.content.startswith(partial.content) and len(continued.content) > len(partial.content)
        assert continued.state == "complete"


async def test_prefill_starts_the_answer_with_the_users_text(llama_server, make_app, endless) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 6})
    spy = PromptSpy(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        screen.query_one(Composer).insert("a question")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"Sure! Here is", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        screen.query_one(Composer).focus()
        await pilot.press("enter")
        await wait_for(pilot, settled(screen, 2))
        assert spy.prompts[-1].endswith("<|im_start|>assistant\nSure! Here is")
        answer = screen.query(MessageView)[-1].message
        assert answer.content.startswith("Sure! Here is") and len(answer.content) > len("Sure! Here is")


async def test_edit_user_message_resends_as_a_branch(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "first wording", 2)
        original = screen.query(MessageView)[0].message
        await pilot.press("alt+up", "up", "e")
        composer = screen.query_one(Composer)
        assert composer.text == "first wording" and composer.has_focus
        composer.set_text("second wording")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query(MessageView)[0].message.content == "second wording")
        await wait_for(pilot, settled(screen, 2))
        assert screen.query(MessageView)[0].alternatives == (2, 2)
        path = app.store.active_path(screen.session.id)
        assert path[0].content == "second wording"
        assert [m.content for m in app.store.siblings(original.id)] == ["first wording", "second wording"]
        # The old branch, with its answer, is still there.
        assert app.store.latest_leaf(original.id) != original.id


async def test_edit_answer_by_hand_is_what_the_next_turn_sees(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 4})
    spy = PromptSpy(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "hi", 2)
        await pilot.press("alt+up", "e")
        screen.query_one(Composer).set_text("fixed by hand")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query(MessageView)[-1].message.content == "fixed by hand")
        assert screen.query(MessageView)[-1].alternatives == (2, 2)
        await send(pilot, screen, "next", 4)
        assert "<|im_start|>assistant\nfixed by hand<|im_end|>" in spy.prompts[-1]


async def test_prompt_preview_shows_the_exact_prompt_and_token_count(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "hello", 2)
        screen.query_one(Composer).insert("pending question")
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptPreviewScreen) and app.screen.tokens is not None)
        preview = app.screen
        answer = screen.query(MessageView)[-1].message.content
        assert preview.prompt == (
            f"<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
            "<|im_start|>user\npending question<|im_end|>\n<|im_start|>assistant\n"
        )
        expected = await app.client.tokenize(preview.prompt, add_special=True)
        assert len(preview.tokens) == len(expected)
        assert f"{len(expected):,} tokens" in str(preview.query_one("#summary").render())
        await pilot.press("escape")
        assert app.screen is screen


async def test_copy_message_and_code_block_fork_and_pin(llama_server, make_app) -> None:
    app = make_app(llama_server.url, default_settings={"n_predict": 4})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "look:\n```python\nprint('hi')\n```\nand\n~~~\nsecond\n~~~", 2)
        await pilot.press("alt+up", "up", "y")
        assert app.clipboard == screen.query(MessageView)[0].message.content
        await pilot.press("b")
        assert app.clipboard == "print('hi')\n"
        await pilot.press("b")
        assert app.clipboard == "second\n"
        original = screen.session.id
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.session.id != original)
        assert screen.session.title.endswith("(fork)")
        assert [m.role for m in app.store.active_path(screen.session.id)] == ["user"]
        await pilot.press("f4")
        assert app.store.get_session(screen.session.id).pinned
        assert app.store.list_sessions()[0].id == screen.session.id


def test_code_blocks_finds_both_fence_kinds() -> None:
    assert code_blocks("a\n```py\nx = 1\n```\nb\n~~~\ny\n~~~\n") == ["x = 1\n", "y\n"]
    assert code_blocks("no code") == []


async def test_token_probabilities_and_regenerate_from_an_alternative(llama_server, make_app, endless) -> None:
    app = make_app(llama_server.url, default_template="chatml", default_settings={"n_predict": 12, "n_probs": 3})
    spy = PromptSpy(app.client)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await send(pilot, screen, "hi", 2)
        original = screen.query(MessageView)[-1].message
        assert original.probs and len(original.probs) >= 3
        assert all(len(entry["top_logprobs"]) == 3 for entry in original.probs)
        await pilot.press("alt+up", "p")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenProbsScreen))
        await pilot.press("down", "down", "tab", "down", "enter")  # token 3, its second alternative
        await wait_for(pilot, lambda: len(spy.prompts) == 2)
        await wait_for(pilot, settled(screen, 2))
        chosen = original.probs[2]["top_logprobs"][1]
        prompt = spy.prompts[-1]
        assert isinstance(prompt, list) and prompt[-1] == chosen["id"]
        prefix = original.content[: original.probs[1]["text_end"]]
        assert prompt[0].endswith("<|im_start|>assistant\n" + prefix)
        new = screen.query(MessageView)[-1].message
        assert new.content.startswith(prefix + chosen["token"])
        assert [m.id for m in app.store.siblings(original.id)] == [original.id, new.id]
        assert screen.query(MessageView)[-1].alternatives == (2, 2)
