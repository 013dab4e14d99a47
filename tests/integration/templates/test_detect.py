"""Knowing which template the model has, against the real server: each official file (as /props would
serve it) is recognised as its built-in family, and a GGUF without a template (the real Gemma 3 270M)
shows llama-server's ChatML fallback, for which the model's name suggests the family."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llama_tui.templates import get_template
from llama_tui.templates.detect import is_server_fallback, match_family, suggest_family
from llama_tui.templates.jinja import JinjaTemplate
from tests.harness.official import CHECKS, OfficialCheck
from tests.harness.server import LlamaServer

# gemma3 is checked on Gemma 2's file without system prompts only; the file itself is gemma2's.
_DETECTABLE = [c for c in CHECKS if c.family != "gemma3"]


@pytest.mark.parametrize("check", _DETECTABLE, ids=lambda c: c.label)
def test_official_template_is_recognised(check: OfficialCheck, official_server: Callable[..., LlamaServer]) -> None:
    props = official_server(check.file, *check.tokens).get_json("/props")
    assert not is_server_fallback(props["chat_template"])
    model_template = JinjaTemplate(
        "model", props["chat_template"], bos_token=props["bos_token"], eos_token=props["eos_token"]
    )
    assert match_family(model_template) == check.family


def test_gguf_without_template_shows_the_fallback_and_gets_a_suggestion(gemma_server: LlamaServer) -> None:
    props = gemma_server.get_json("/props")
    assert is_server_fallback(props["chat_template"])
    assert suggest_family(props["model_path"], bos_token=props["bos_token"], eos_token=props["eos_token"]) == "gemma3"


def test_real_gemma_answers_through_the_gemma3_family(gemma_server: LlamaServer) -> None:
    template = get_template("gemma3")
    prompt = template.render([{"role": "user", "content": "Name three colours."}])
    result = gemma_server.post_json(
        "/completion", {"prompt": prompt, "n_predict": 48, "temperature": 0, "stop": list(template.stops)}
    )
    text = result["content"]
    assert sum(ch.isalpha() for ch in text) > 10  # real words, not the tiny model's noise
    assert not any(stop in text for stop in template.stops)
    assert result["stop_type"] in ("eos", "word", "limit")
    assert result["timings"]["predicted_n"] > 0
    # The server added BOS itself: the prompt it read starts with <bos> exactly once.
    assert result["prompt"].startswith("<bos><start_of_turn>user\n")
