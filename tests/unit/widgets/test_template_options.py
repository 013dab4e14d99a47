"""The template options section's pickers: labels, and the values they stand for."""

from __future__ import annotations

from llama_tui.templates import get_template
from llama_tui.templates.model import SERVER_THINKING
from llama_tui.widgets.template_options import DEFAULT, choices, default_label, picked, shown

THINKING = get_template("qwen3").options[0]
EFFORT, TODAY = get_template("gpt-oss").options


def test_pickers_offer_the_default_first() -> None:
    assert choices(THINKING) == [("default (on)", DEFAULT), ("on", "on"), ("off", "off")]
    assert choices(EFFORT) == [("default (medium)", DEFAULT), ("low", "low"), ("medium", "medium"), ("high", "high")]
    assert default_label(SERVER_THINKING) == "default (the template's)"


def test_picked_values_round_trip() -> None:
    assert (picked(THINKING, DEFAULT), picked(THINKING, "on"), picked(THINKING, "off")) == (None, True, False)
    assert picked(EFFORT, "high") == "high"
    for option, value in ((THINKING, True), (THINKING, False), (EFFORT, "low"), (THINKING, None)):
        assert picked(option, shown(option, value)) == value


def test_stored_values_that_do_not_fit_show_as_the_default() -> None:
    assert shown(THINKING, "yes") == DEFAULT  # e.g. an imported session's odd value
    assert shown(EFFORT, "extreme") == DEFAULT
    assert shown(TODAY, "2025-01-31") == "2025-01-31" and shown(TODAY, 5) == DEFAULT
