"""The model's own template from the /props facts: what it renders like, no template (the server's
ChatML fallback) with a suggested family, the options the `server` template offers, and how the
options in effect are described."""

from __future__ import annotations

from llama_tui.templates import get_template
from llama_tui.templates.detect import SERVER_FALLBACK_TEMPLATE
from llama_tui.templates.model import (
    SERVER_EFFORT,
    SERVER_THINKING,
    ModelTemplate,
    describe_options,
    identify,
    template_options,
)

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# A Qwen3-style template in a few lines: it reacts to enable_thinking, so the server offers thinking on/off.
THINKING = CHATML.replace(
    "'<|im_start|>assistant\\n' }}",
    "'<|im_start|>assistant\\n' }}{% if enable_thinking is defined and not enable_thinking %}"
    "{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}",
)
ODD = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"


def test_a_template_that_renders_like_a_family() -> None:
    found = identify(CHATML, "/models/some-model.gguf", bos_token="<s>", eos_token="<|im_end|>")
    assert found == ModelTemplate("family", family="chatml")
    assert found.short == "renders like chatml"
    assert "renders like the built-in chatml" in found.detail
    assert found.server_options() == ()  # it reads no kwargs: nothing to offer


def test_a_template_of_its_own_that_takes_thinking_and_effort() -> None:
    found = identify(THINKING + "{# reasoning_effort #}", "m.gguf")
    assert (found.kind, found.family, found.thinking, found.effort) == ("own", None, True, True)
    assert found.short == "own template (no built-in match)"
    assert found.server_options() == (SERVER_THINKING, SERVER_EFFORT)
    assert identify(ODD, "m.gguf").kind == "own"


def test_no_template_in_the_gguf_suggests_a_family_by_name_or_tokens() -> None:
    found = identify(SERVER_FALLBACK_TEMPLATE, "/m/gemma-3-270m-q4_k_m.gguf", bos_token="<bos>", eos_token="<eos>")
    assert (found.kind, found.suggested) == ("fallback", "gemma3")
    assert found.short == "⚠ no chat template: looks like gemma3"
    assert "falls back to ChatML" in found.detail and "looks like gemma3" in found.detail
    assert found.server_options() == ()
    by_token = identify(SERVER_FALLBACK_TEMPLATE, "model.gguf", bos_token="<|begin_of_text|>")
    assert by_token.suggested == "llama3.1"
    unknown = identify(SERVER_FALLBACK_TEMPLATE, "model.gguf", bos_token="<s>", eos_token="</s>")
    assert (unknown.kind, unknown.suggested, unknown.short) == ("fallback", None, "⚠ no chat template")
    assert "looks like" not in unknown.detail


def test_no_template_reported_and_a_template_that_does_not_compile() -> None:
    assert identify("", "model.gguf").kind == "none" and identify("", "model.gguf").short == ""
    broken = identify("{% for m in messages %}", "model.gguf")
    assert broken.kind == "broken" and "syntax error" in broken.error and broken.short.startswith("⚠")


def test_template_options_of_a_session() -> None:
    assert template_options("qwen3.5", None) == get_template("qwen3.5").options
    assert [o.name for o in template_options("gpt-oss", None)] == ["reasoning_effort", "today"]
    assert template_options("chatml", None) == ()
    assert template_options("no-such-template", None) == ()
    assert template_options("server", None) == ()  # not known yet: nothing offered
    assert template_options("server", ModelTemplate("own", thinking=True)) == (SERVER_THINKING,)


def test_describe_options_says_what_is_in_effect() -> None:
    effort, today = get_template("gpt-oss").options
    assert describe_options((effort, today), {}) == "reasoning_effort: medium (default), today: current date (default)"
    assert describe_options((effort, today), {"reasoning_effort": "high", "today": "2025-01-31"}) == (
        "reasoning_effort: high, today: 2025-01-31"
    )
    thinking = get_template("qwen3").options
    assert describe_options(thinking, {"enable_thinking": False}) == "enable_thinking: off"
    assert describe_options(thinking, {"enable_thinking": "maybe"}) == "enable_thinking: on (default)"  # invalid
    assert describe_options((SERVER_THINKING,), {}) == "enable_thinking: the template's (default)"
    assert describe_options((), {"enable_thinking": True}) == ""
