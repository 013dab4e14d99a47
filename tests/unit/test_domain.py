"""domain.py's list knobs (issue 13, item 9): stop strings that hold commas and new lines, and
sampler names checked against what llama-server accepts."""

from __future__ import annotations

import pytest

from llama_tui.config import ConfigError, check_knobs
from llama_tui.knobs import SAMPLERS, SettingError, format_knob, parse_knob


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("END, ###", ["END", "###"]),
        ('"\\n\\nUser:", END', ["\n\nUser:", "END"]),
        ('"a, b"', ["a, b"]),
        ('" padded ", "say \\"hi\\""', [" padded ", 'say "hi"']),
        ("a\\b", ["a\\b"]),  # bare items are taken as typed
        (" , ,", None),
        ("", None),
    ],
)
def test_stop_strings_parse_and_format_back_the_same(text: str, value: list[str] | None) -> None:
    assert parse_knob("stop", text) == value
    assert parse_knob("stop", format_knob(value)) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [('"open', "not closed"), ('"a" b', "expected a comma"), ('""', "cannot be empty"), ('"\\q"', "not a valid")],
)
def test_bad_stop_strings_say_why(text: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        parse_knob("stop", text)


def test_samplers_are_checked_by_name() -> None:
    assert parse_knob("samplers", "top_k, temp, min-p") == ["top_k", "temp", "min-p"]
    assert parse_knob("samplers", ", ".join(SAMPLERS)) == list(SAMPLERS)
    with pytest.raises(SettingError, match="unknown sampler 'foo'"):
        parse_knob("samplers", "foo, bar")
    with pytest.raises(SettingError, match="did you mean 'typ_p'"):
        parse_knob("samplers", "typical_p")


def test_the_config_checks_samplers_and_stops_like_the_pane() -> None:
    assert check_knobs({"samplers": ["top_k"], "stop": ["a, b"]}, "[x]") == {"samplers": ["top_k"], "stop": ["a, b"]}
    with pytest.raises(ConfigError, match=r"\[default_settings\] samplers: unknown sampler 'foo'"):
        check_knobs({"samplers": ["foo"]}, "[default_settings]")
    with pytest.raises(ConfigError, match="cannot be empty"):
        check_knobs({"stop": [""]}, "[default_settings]")
