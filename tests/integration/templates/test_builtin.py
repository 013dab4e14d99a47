"""Our ChatML and Llama-3 renderings are byte-identical to the model's own Jinja template as the
real llama-server renders it (/apply-template), on tiny models whose GGUF carries that template."""

from __future__ import annotations

import pytest

from llama_tui.client import LlamaCppClient
from llama_tui.templates import get_template

CONVERSATIONS = [
    [{"role": "user", "content": "hi"}],
    [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "  and with spaces, é 世界?  \n"},
    ],
    [
        {"role": "user", "content": "multi\nline\n\nmessage"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "[bold]not markup[/]"},
    ],
]


@pytest.mark.parametrize("messages", CONVERSATIONS)
async def test_chatml_matches_server(llama_server, messages) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        expected = await client.apply_template(messages)
    assert get_template("chatml").render(messages) == expected


@pytest.mark.parametrize("messages", CONVERSATIONS)
async def test_llama3_matches_server(llama3_server, messages) -> None:
    async with LlamaCppClient(llama3_server.url) as client:
        expected = await client.apply_template(messages)
    # The server leaves out the template's leading BOS because it adds BOS when it tokenizes.
    assert get_template("llama3").render(messages) == expected
    assert get_template("llama3").render(messages, include_bos=True) == "<|begin_of_text|>" + expected


async def test_chatml_prompt_echo_is_exactly_what_we_rendered(llama_server) -> None:
    messages = CONVERSATIONS[1]
    async with LlamaCppClient(llama_server.url) as client:
        result = await client.complete(get_template("chatml").render(messages), n_predict=1)
    assert result.final.prompt == "<s>" + get_template("chatml").render(messages)
