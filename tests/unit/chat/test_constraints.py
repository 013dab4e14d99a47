"""chat/constraints.py without a server: checking an answer against its schema, what an answer
records about its constraints, and what identifies the constraints to check."""

from __future__ import annotations

from llama_tui.chat.constraints import answer_meta, check_answer, constraint_key

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_an_answer_is_checked_against_its_schema() -> None:
    assert check_answer('{"n": 3}', SCHEMA).ok
    assert check_answer('{"n": "3"}', SCHEMA).detail == "does not match the schema: '3' is not of type 'integer' (at n)"
    assert check_answer('{"n": 3', SCHEMA).detail.startswith("not JSON")
    assert check_answer("{}", SCHEMA).detail == "does not match the schema: 'n' is a required property"


def test_what_an_answer_records() -> None:
    assert answer_meta({"grammar": 'root ::= "a"'}, "a", complete=True) == {"constrained": "grammar"}
    assert answer_meta({"json_schema": SCHEMA}, "", complete=False) == {"constrained": "json_schema"}
    assert answer_meta({"json_schema": SCHEMA, "grammar": "x"}, '{"n": 1}', complete=True) == {
        "constrained": "json_schema",
        "schema_ok": True,
    }
    assert answer_meta({"temperature": 1}, "x", complete=True) == {}


def test_only_the_server_checked_parameters_make_the_key() -> None:
    assert constraint_key({"temperature": 1, "logit_bias": []}) is None
    key = constraint_key({"grammar": "g", "temperature": 1})
    assert key == constraint_key({"temperature": 2, "grammar": "g"}) and key != constraint_key({"grammar": "h"})
