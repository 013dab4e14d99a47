"""The shared template rules: messages, options, dates, the BOS rule."""

from __future__ import annotations

import datetime

import pytest

from llama_tui.domain import ChatMessage
from llama_tui.templates import TemplateError, TemplateOption, get_template
from llama_tui.templates.base import format_day_month_year, option_date, resolve_options, to_turns


def test_turns_take_reasoning_from_dicts_and_objects() -> None:
    turns = to_turns(
        [
            {"role": "assistant", "content": "a", "reasoning_content": "r1"},
            {"role": "assistant", "content": "b", "reasoning": "r2"},
            ChatMessage("user", "c"),
        ]
    )
    assert [(t.content, t.reasoning) for t in turns] == [("a", "r1"), ("b", "r2"), ("c", "")]


def test_reasoning_must_be_text() -> None:
    with pytest.raises(TemplateError, match="reasoning"):
        to_turns([{"role": "assistant", "content": "a", "reasoning": 3}])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (TemplateOption("t", "bool", True, ""), "yes", "true or false"),
        (TemplateOption("e", "choice", "medium", "", ("low", "medium")), "huge", "one of low, medium"),
        (TemplateOption("d", "date", None, ""), "31/01/2025", "a date like"),
        (TemplateOption("d", "date", None, ""), 20250131, "must be text"),
    ],
)
def test_bad_option_values_are_refused(option: TemplateOption, value: object, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolve_options((option,), {option.name: value}, "x")


def test_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(TemplateError, match="has no option 'thinking'; its options are: enable_thinking"):
        get_template("qwen3").render([{"role": "user", "content": "hi"}], options={"thinking": False})
    with pytest.raises(TemplateError, match="its options are: none"):
        get_template("chatml").render([{"role": "user", "content": "hi"}], options={"enable_thinking": False})


def test_defaults_fill_missing_options() -> None:
    opts = (TemplateOption("a", "bool", True, ""), TemplateOption("b", "choice", "x", "", ("x", "y")))
    assert resolve_options(opts, {"b": "y"}, "t") == {"a": True, "b": "y"}
    assert resolve_options(opts, None, "t") == {"a": True, "b": "x"}


def test_dates() -> None:
    assert option_date("2025-01-31") == datetime.date(2025, 1, 31)
    assert option_date(None) == datetime.date.today()
    # The month name never depends on the process locale.
    assert format_day_month_year(datetime.date(2026, 12, 2)) == "02 Dec 2026"


def test_every_builtin_declares_valid_defaults() -> None:
    from llama_tui.templates import BUILTIN

    for template in BUILTIN.values():
        for option in template.options:
            assert option.help
            if option.default is not None:
                option.check(option.default)
