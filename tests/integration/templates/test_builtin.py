"""Our ChatML and Llama-3 renderings are byte-identical to the model's own Jinja template as the
real llama-server renders it (/apply-template), on tiny models whose GGUF carries that template
(the other families are checked against the official template files in test_official.py)."""

from __future__ import annotations

import pytest

from llama_tui.client import LlamaCppClient
from llama_tui.templates import get_template
from tests.harness.official import reference
from tests.harness.server import LlamaServer
from tests.harness.template_corpus import CORPUS, Conversation

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


@pytest.mark.parametrize("conversation", CORPUS, ids=lambda c: c.name)
def test_chatml_and_llama3_match_server_on_the_corpus(
    llama_server: LlamaServer, llama3_server: LlamaServer, conversation: Conversation
) -> None:
    for name, server in (("chatml", llama_server), ("llama3", llama3_server)):
        expected, _ = reference(server, conversation, {})
        ours = get_template(name).render(conversation.as_list(), continue_final=conversation.continues)
        assert ours == expected, name


async def test_chatml_prompt_echo_is_exactly_what_we_rendered(llama_server) -> None:
    messages = CONVERSATIONS[1]
    async with LlamaCppClient(llama_server.url) as client:
        result = await client.complete(get_template("chatml").render(messages), n_predict=1)
    assert result.final.prompt == "<s>" + get_template("chatml").render(messages)
