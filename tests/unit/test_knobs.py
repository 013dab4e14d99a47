"""knobs.py: the catalogue (groups, names unique), typed values, values from files, the wire format."""

from __future__ import annotations

import json
import math

import pytest

from llama_tui.knobs import (
    GROUPS,
    KNOBS,
    SettingError,
    check_value,
    format_knob,
    parse_bias_item,
    parse_bias_lines,
    parse_knob,
    wire_params,
)


def test_every_knob_is_in_a_group_and_named_once() -> None:
    keys = {key for key, _ in GROUPS}
    assert all(k.group in keys for k in KNOBS)
    assert len({k.name for k in KNOBS}) == len(KNOBS)
    assert all(k.help for k in KNOBS)
    assert {k.group for k in KNOBS} == keys  # no empty section


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("ignore_eos", "true", True),
        ("ignore_eos", "Off", False),
        ("repeat_last_n", "0", 0),
        ("dry_sequence_breakers", '"\\n", :', ["\n", ":"]),
        ("reasoning_budget_tokens", "-1", -1),
        ("lora", '[{"id": 1, "scale": 0.5}, {"id": 0, "scale": 2}]', [{"id": 0, "scale": 2}, {"id": 1, "scale": 0.5}]),
        ("logit_bias", '" hello" = -inf\n# a comment\nworld=2', {" hello": False, "world": 2.0}),
        ("grammar", '  root ::= "x"\n', '  root ::= "x"\n'),  # as typed
        ("json_schema", '{"type": "object"}', '{"type": "object"}'),
        ("grammar", "  \n ", None),
    ],
)
def test_typed_values(name: str, text: str, value: object) -> None:
    assert parse_knob(name, text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("repeat_last_n", "-1", "repeat_last_n must be at least 0"),  # this server refuses -1
        ("repeat_penalty", "0", "repeat_penalty must be at least 0.01"),
        ("ignore_eos", "maybe", "ignore_eos must be true or false"),
        ("dry_sequence_breakers", '""', "dry_sequence_breakers: an item cannot be empty"),
        ("json_schema", "{", "json_schema: not JSON"),
        ("json_schema", "[1]", "json_schema must be a JSON object"),
        ("json_schema", '{"type": "nope"}', "json_schema: 'nope' is not valid"),
        ("grammar", "root ::= x", "grammar: line 1, column 10: rule 'x' is used but never defined"),
        ("logit_bias", "hello", "needs =BIAS"),
        ("logit_bias", "hello=1000", "from -100 to 100"),
        ("lora", "[{}]", "id must be an adapter number"),
        ("lora", "oops", "lora must be JSON"),
        ("tmperature", "1", "did you mean 'temperature'"),
    ],
)
def test_bad_values_say_why(name: str, text: str, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse_knob(name, text)
    assert message in str(caught.value)


def test_bias_items() -> None:
    assert parse_bias_item("a=b=-inf") == ("a=b", False)  # the last = splits
    assert parse_bias_item('" x = y " = 2.5') == (" x = y ", 2.5)
    assert parse_bias_item("word = ban") == ("word", False)
    entries = {" hi": False, "a=b": -3.0, "#x": 1.0}
    assert parse_bias_lines(format_knob(entries)) == entries


def test_values_from_files_are_normalised() -> None:
    assert check_value("temperature", 1) == 1.0 and isinstance(check_value("temperature", 1), float)
    assert check_value("logit_bias", {"a": -math.inf, "b": 2}) == {"a": False, "b": 2.0}
    assert check_value("logit_bias", [["a", False]]) == {"a": False}
    assert json.loads(check_value("json_schema", {"type": "object"})) == {"type": "object"}
    with pytest.raises(SettingError, match="must be a whole number, not a number"):
        check_value("top_k", 2.5)
    with pytest.raises(SettingError, match="true or false"):
        check_value("ignore_eos", "yes")


def test_the_wire_format() -> None:
    params = wire_params(
        {
            "json_schema": '{"type": "object"}',
            "logit_bias": {" hello": False, "x": 2.0},
            "lora": [{"id": 0, "scale": 0.5}],
            "stop": [],
            "top_k": 5,
        }
    )
    assert params == {
        "json_schema": {"type": "object"},
        "logit_bias": [[" hello", False], ["x", 2.0]],
        "lora": [{"id": 0, "scale": 0.5}],
        "top_k": 5,
    }
