"""presets.py: a preset file carries every kind of knob and reads back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.config import ConfigError
from llama_tui.grammar import EXAMPLES, SCHEMA_EXAMPLES
from llama_tui.presets import preset_name, preset_toml, read_preset_file, read_presets, write_preset_file

EVERYTHING = {
    "temperature": 0.3,
    "top_k": 20,
    "ignore_eos": True,
    "stop": ["\n\nUser:", "a, b"],
    "grammar": EXAMPLES["json"],
    "json_schema": SCHEMA_EXAMPLES["answer + confidence"],
    "logit_bias": {" hello": False, "x=y": -2.5},
    "lora": [{"id": 0, "scale": 0.5}],
}


@pytest.mark.parametrize("grammar", [EXAMPLES["json"], "\nroot ::= \"'''\"\n", 'root ::= "a"'])
def test_a_preset_round_trips(tmp_path: Path, grammar: str) -> None:
    values = {**EVERYTHING, "grammar": grammar}
    path = write_preset_file(tmp_path / "p.toml", "precise", values)
    assert read_preset_file(path) == {"precise": values}


def test_the_file_is_readable_toml() -> None:
    text = preset_toml("x", EVERYTHING)
    assert "[presets.x]" in text and "grammar = '''" in text and '" hello" = false' in text


def test_a_plain_table_of_knobs_is_one_preset_named_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "My fast one.toml"
    path.write_text("temperature = 0.1\nlogit_bias = { sorry = -inf }\n")
    assert read_preset_file(path) == {"My-fast-one": {"temperature": 0.1, "logit_bias": {"sorry": False}}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("temperature = 99", "[p] temperature must be at most 10"),
        ('[presets.a]\ngrammar = "root ::= x"', "[presets.a] grammar: line 1, column 10"),
        ("[presets.a]\nx = 1\n[other]\ny = 2", "holds [presets.NAME] tables only"),
        ("temperature = ", "invalid TOML"),
    ],
)
def test_bad_files_say_where(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_presets(text, "p")
    assert message in str(caught.value)


def test_names() -> None:
    assert preset_name("a b/c") == "a-b-c" and preset_name("///") == "imported"
