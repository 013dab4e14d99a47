"""cli/params.py: `ask`'s parameters are checked as the settings pane checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.__main__ import build_parser
from llama_tui.cli.params import ParamError, ask_settings


def settings(*argv: str) -> dict[str, object]:
    return ask_settings(build_parser().parse_args(["ask", "x", *argv]))


def test_every_kind_of_parameter(tmp_path: Path) -> None:
    grammar = tmp_path / "g.gbnf"
    grammar.write_text('root ::= "yes" | "no"\n')
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object"}')
    got = settings(
        "-n", "5", "--param", "top_k=20", "--param", "ignore_eos=true", "--param", 'stop="a, b", END',
        "--grammar-file", str(grammar), "--json-schema", str(schema),
        "--logit-bias", '" sorry"=-inf', "--logit-bias", '"x = y"=2', "--logit-bias", " the =1",
    )  # fmt: skip
    assert got == {
        "n_predict": 5,
        "top_k": 20,
        "ignore_eos": True,
        "stop": ["a, b", "END"],
        "grammar": 'root ::= "yes" | "no"\n',
        "json_schema": '{"type": "object"}',
        "logit_bias": {" sorry": False, "x = y": 2.0, "the": 1.0},  # unquoted: trimmed
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param", "top_k"], "expected KEY=VALUE"),
        (["--param", "tmperature=1"], "did you mean 'temperature'"),
        (["--param", "repeat_last_n=-1"], "repeat_last_n must be at least 0"),
        (["--logit-bias", "x=lots"], "must be a number or -inf"),
        (["--temperature", "11"], "temperature must be at most 10"),
        (["--grammar-file", "/nonexistent/g.gbnf"], "cannot read"),
    ],
)
def test_bad_parameters_say_why(argv: list[str], message: str) -> None:
    with pytest.raises(ParamError) as caught:
        settings(*argv)
    assert message in str(caught.value)


def test_a_bad_or_empty_grammar_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gbnf"
    bad.write_text("root ::= foo\n")
    with pytest.raises(ParamError, match="line 1, column 10: rule 'foo'"):
        settings("--grammar-file", str(bad))
    bad.write_text("\n")
    with pytest.raises(ParamError, match="is empty"):
        settings("--grammar-file", str(bad))
