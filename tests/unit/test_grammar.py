"""grammar.py: what the port of llama-server's GBNF parser refuses, and where it says it is."""

from __future__ import annotations

import pytest

from llama_tui.grammar import EXAMPLES, SCHEMA_EXAMPLES, GrammarError, check_grammar


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_built_in_examples_are_valid(name: str) -> None:
    check_grammar(EXAMPLES[name])


@pytest.mark.parametrize(
    ("grammar", "message"),
    [
        ("root ::= foo", "line 1, column 10: rule 'foo' is used but never defined"),
        ('root ::= "yes" |\n  nope', "line 2, column 3: rule 'nope' is used but never defined"),
        ('root ::= "yes"\n  | "no"', "line 2, column 3: expecting a rule name"),  # | must end a line, not start one
        ('root ::= "a', "line 1, column 12: unexpected end of input (a string is not closed)"),
        ('root := "a"', "line 1, column 6: expecting ::= after root"),
        ('root ::= "\\q"', "line 1, column 11: unknown escape \\q"),
        ('root ::= "\\x4"', "expecting 2 hex digits after \\x"),
        ('root ::= ( "a" ', "line 1, column 16: expecting ')'"),
        ("root ::= ?", "expecting an item before */+/?/{"),
        ('root ::= "a"{3,1}', "the maximum is below the minimum"),
        ('root ::= "a"{2001}', "too many repetitions"),
        ('x ::= "a"', "no root rule"),
        ("# nothing", "the grammar is empty"),
        ('root ::= root "a"', "rule 'root' is left-recursive"),
        ('root ::= "a\x00"', "NUL character"),
    ],
)
def test_what_is_wrong_and_where(grammar: str, message: str) -> None:
    with pytest.raises(GrammarError) as caught:
        check_grammar(grammar)
    assert message in str(caught.value)


def test_token_references_are_syntax_only() -> None:
    check_grammar("root ::= <[12]> !<[13]> <hello>")
    with pytest.raises(GrammarError, match="expecting ]>"):
        check_grammar("root ::= <[12>")


def test_the_schema_examples_are_json_schemas() -> None:
    from llama_tui.knobs import parse_knob

    for text in SCHEMA_EXAMPLES.values():
        assert parse_knob("json_schema", text) == text
