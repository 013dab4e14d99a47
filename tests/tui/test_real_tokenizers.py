"""Special tokens and token boundaries on real tokenizers, in the prompt preview (F6) and the token
probabilities (p): tiny random models built on the real vocabularies of Llama 3 (llama-bpe) and Qwen2,
so the server tokenizes exactly as for the real models. A template's control tokens are one token each;
a character the byte-level tokenizer splits across tokens shows as its bytes (<0xF0>...), not as "�"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import OptionList, Static

from llama_tui.screens.prompt_preview import PromptPreviewScreen
from llama_tui.screens.token_probs import TokenProbsScreen
from llama_tui.widgets.composer import Composer
from tests.harness.app import ask_and_wait, wait_for
from tests.harness.forced_output import ForcedOutput
from tests.harness.server import LlamaServer

RARE = "𓀀"  # U+13000: four bytes, no token of its own in either vocabulary


async def _preview(pilot: Any, text: str) -> PromptPreviewScreen:
    screen = pilot.app.main
    await wait_for(pilot, lambda: screen.session is not None and screen.props is not None)
    screen.query_one(Composer).insert(text)
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PromptPreviewScreen))
    preview = pilot.app.screen
    await wait_for(pilot, lambda: preview.tokens is not None)
    return preview


def _special_tokens_whole(preview: PromptPreviewScreen, specials: tuple[str, ...]) -> None:
    assert preview.prompt is not None and preview.tokens is not None
    pieces = [t.piece for t in preview.tokens]
    for special in specials:
        assert preview.prompt.count(special) >= 1
        assert pieces.count(special) == preview.prompt.count(special), special  # each one token, never spelled


async def test_llama3_special_tokens_and_split_characters_in_the_preview(
    real_vocab_server: Callable[[str], LlamaServer], make_app: Callable[..., Any]
) -> None:
    server = real_vocab_server("llama-bpe")
    app = make_app(server.url, default_template="llama3.1")
    async with app.run_test(size=(140, 45)) as pilot:
        preview = await _preview(pilot, f"Draw {RARE} please")
        _special_tokens_whole(preview, ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"))
        assert preview.tokens is not None
        split = [t.piece for t in preview.tokens if isinstance(t.piece, bytes)]
        assert b"".join(split) == f" {RARE}".encode() or b"".join(split) == RARE.encode()
        assert len(split) >= 2  # the character really is split across tokens
        shown = str(preview.query_one("#tokens", Static).render())
        assert "<0xF0><0x93><0x80><0x80>" in shown.replace("·", "")
        assert "�" not in shown
        assert RARE in str(preview.query_one("#prompt", Static).render())  # the text itself is whole


async def test_qwen2_probabilities_show_split_characters_as_bytes(
    real_vocab_server: Callable[[str], LlamaServer], make_app: Callable[..., Any]
) -> None:
    server = real_vocab_server("qwen2")
    app = make_app(server.url, default_template="qwen2.5", default_settings={"n_probs": 5, "temperature": 0.0})
    forced = ForcedOutput(app.client).then(f'root ::= "a {RARE} b"')
    async with app.run_test(size=(140, 45)) as pilot:
        preview = await _preview(pilot, "")
        _special_tokens_whole(preview, ("<|im_start|>", "<|im_end|>"))
        await pilot.press("escape")
        view = await ask_and_wait(pilot, "Say it.")
        assert view.message.content == f"a {RARE} b"
        assert forced.prompts[-1].endswith("<|im_start|>user\nSay it.<|im_end|>\n<|im_start|>assistant\n")
        view.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TokenProbsScreen))
        probs = pilot.app.screen
        tokens = probs.query_one("#tokens", OptionList)
        labels = [str(tokens.get_option_at_index(i).prompt) for i in range(tokens.option_count)]
        assert any(RARE in label for label in labels)  # the server joins the pieces of one character
        partial = 0
        for index in range(tokens.option_count):
            tokens.highlighted = index
            await pilot.pause()
            alternatives = probs.query_one("#alternatives", OptionList)
            for i in range(alternatives.option_count):
                label = str(alternatives.get_option_at_index(i).prompt)
                assert "�" not in label, label
                partial += "<0x" in label
        assert partial > 0  # alternatives that are part of a character, shown as bytes
