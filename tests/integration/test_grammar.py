"""grammar.check_grammar against the real llama-server's grammar parser: the same verdict on every
grammar of a corpus of good and bad ones (only `<token>` references are left to the server)."""

from __future__ import annotations

import pytest

from llama_tui.chat.constraints import check_params
from llama_tui.client import LlamaCppClient
from llama_tui.grammar import EXAMPLES, GrammarError, check_grammar

CORPUS = [
    *EXAMPLES.values(),
    'root ::= ("a" | "b")* "c"',
    "root ::= [^\\x00-\\x1F]",
    'root ::= "a"{3}',
    'root ::= "a"{2,}',
    'root ::= "a"{0,0}',
    'root ::= "a" { 1 , 2 }',
    'root ::= (("a"){10}){10}',
    'root ::= "a" {2000}',
    'root ::= "a"\r\n',
    'root::="a"',
    'root ::= "a" # comment',
    'root ::=\n  "a"\n  | "b"',
    'root ::= "a" | ',
    'root ::= x\nx ::= y\ny ::= "1"',
    'root ::= x*\nx ::= "" | "a"',
    "root ::= <[12]>",
    "root ::= !<[12]>",
    'root ::= "é" [α-ω]+',
    'ro_ot ::= "a"',
    "root ::= foo",
    'root ::= "a',
    'x ::= "a"',
    'root ::= root "a"',
    'root ::= a\na ::= b | "x"\nb ::= a "y"',
    'root ::= x root | "a"\nx ::= ""',
    "root ::= [a-",
    "root ::= [a-z",
    "# only a comment",
    'root := "a"',
    'root ::= ( "a" ',
    'root ::= "\\q"',
    'root ::= "\\x4"',
    "root ::= ?",
    'root ::= "a" {2001}',
    'root ::= ("a"{50}){50}',
    'root ::= "a"{,3}',
    'root ::= "a"\n  "b"',
    'root ::= "a" "b" )',
]


@pytest.mark.parametrize("grammar", CORPUS)
async def test_the_check_and_the_server_agree(llama_server, grammar: str) -> None:
    try:
        check_grammar(grammar)
        ours = True
    except GrammarError:
        ours = False
    async with LlamaCppClient(llama_server.url) as client:
        refused = await check_params(client, {"grammar": grammar})
    assert ours == (refused is None), refused.message if refused else "the server took it"


async def test_a_token_reference_is_left_to_the_server(llama_server) -> None:
    check_grammar("root ::= <nosuchtoken>")  # syntax fine; only the vocabulary can say
    async with LlamaCppClient(llama_server.url) as client:
        refused = await check_params(client, {"grammar": "root ::= <nosuchtoken>"})
    assert refused is not None and "failed to parse grammar" in refused.message
