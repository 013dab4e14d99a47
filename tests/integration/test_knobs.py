"""knobs.py against this llama-server build: every bound the settings accept is one the server
takes as it is (not refused, not clamped), and the server refuses what knobs.py refuses where it
has a hard limit. /props reports every knob it has a default for, under the same name."""

from __future__ import annotations

from typing import Any

import pytest

from llama_tui.client import BadRequest, LlamaCppClient, collect
from llama_tui.knobs import KNOBS, KNOBS_BY_NAME, SettingError, parse_knob, wire_params

NUMBERS = [k for k in KNOBS if k.kind in ("int", "float")]
# Values the server reports differently from how they were sent, by design.
ECHOED_AS = {("seed", -1): 4294967295}


def bound_cases() -> list[tuple[str, float]]:
    cases = []
    for knob in NUMBERS:
        assert knob.minimum is not None and knob.maximum is not None, knob.name
        cases += [(knob.name, knob.minimum), (knob.name, knob.maximum)]
    return cases


@pytest.mark.parametrize(("name", "bound"), bound_cases(), ids=lambda v: str(v))
async def test_every_bound_the_settings_accept_the_server_takes_as_is(llama_server, name: str, bound: float) -> None:
    value = parse_knob(name, f"{bound:.17g}" if KNOBS_BY_NAME[name].kind == "float" else str(int(bound)))
    body: dict[str, Any] = {"n_predict": 1, name: value}
    async with LlamaCppClient(llama_server.url) as client:
        if name == "n_predict":  # -1 or 2**31-1: end-of-text made certain, so it stops at once
            [eos] = await client.tokenize("</s>")
            body["logit_bias"] = [[eos.id, 50.0]]
        result = await collect(client.stream_completion("hi", **body))
    echoed = (result.final.generation_settings or {}).get(name)
    if echoed is not None:
        expected = ECHOED_AS.get((name, value), value)
        assert echoed == pytest.approx(expected, rel=1e-6), f"{name}={value} came back as {echoed}"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("repeat_last_n", -1, "repeat_last_n"),
        ("dry_penalty_last_n", -1, "dry_penalty_last_n"),
        ("n_keep", -2, "n_keep"),
        ("adaptive_decay", 1.0, "adaptive_decay"),
        ("repeat_penalty", 0.0, "penalty_repeat must be finite and greater than 0"),
    ],
)
async def test_the_server_refuses_what_the_settings_refuse(llama_server, name: str, value: float, said: str) -> None:
    with pytest.raises(SettingError):
        parse_knob(name, str(value))
    async with LlamaCppClient(llama_server.url) as client:
        with pytest.raises(BadRequest, match=said):
            await collect(client.stream_completion("hi", n_predict=1, **{name: value}))


async def test_props_defaults_use_the_knobs_names(llama_server) -> None:
    """Every default /props reports for a parameter the settings edit is under the knob's name
    (the pane shows it as the placeholder); what it reports beyond them is listed read-only."""
    async with LlamaCppClient(llama_server.url) as client:
        defaults = (await client.props()).default_params
    reported = {k.name for k in KNOBS} & set(defaults)
    assert {"temperature", "top_k", "dynatemp_range", "top_n_sigma", "min_keep", "n_keep", "n_discard", "ignore_eos",
            "post_sampling_probs", "adaptive_target", "adaptive_decay", "dry_penalty_last_n", "backend_sampling",
            "lora", "samplers", "n_probs", "n_predict"} <= reported  # fmt: skip


async def test_bools_lists_bias_and_adapters_go_through(llama_server) -> None:
    values = {
        "ignore_eos": True,
        "post_sampling_probs": True,
        "n_probs": 2,
        "dry_sequence_breakers": ["\n", "END"],
        "logit_bias": {" hello": False, "world": 1.5},
        "samplers": ["top_k", "temperature"],
    }
    async with LlamaCppClient(llama_server.url) as client:
        result = await collect(client.stream_completion("hi", n_predict=2, **wire_params(values)))
    used = result.final.generation_settings or {}
    assert used["ignore_eos"] is True and used["post_sampling_probs"] is True
    assert used["samplers"] == ["top_k", "temperature"]
