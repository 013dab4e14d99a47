"""Local rendering of a model's own Jinja template: the sandbox, llama-server's conventions, errors.
(Checked against the real server on every official template in tests/integration/templates/test_jinja.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.templates import TemplateError, custom_template, get_template
from llama_tui.templates.jinja import MAX_TEMPLATE_BYTES, JinjaTemplate, load_jinja_file

CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CONV = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_renders_like_the_builtin_family() -> None:
    template = JinjaTemplate("model", CHATML)
    assert template.render(CONV) == get_template("chatml").render(CONV)
    partial = [*CONV, {"role": "assistant", "content": "Hel"}]
    assert template.render(partial, continue_final=True) == get_template("chatml").render(partial, continue_final=True)


def test_bos_left_off_only_when_the_template_writes_it() -> None:
    template = JinjaTemplate("m", "{{ bos_token }}" + CHATML, bos_token="<s>")
    assert template.render(CONV).startswith("<|im_start|>system")
    assert template.render(CONV, include_bos=True).startswith("<s><|im_start|>system")


def test_add_generation_prompt_is_undefined_when_false() -> None:
    template = JinjaTemplate("m", "{{ 'defined' if add_generation_prompt is defined else 'undefined' }}")
    assert template.render(CONV, add_generation_prompt=False) == "undefined"
    assert template.render(CONV) == "defined"


def test_trim_and_strip_are_ascii_only_like_llama_server() -> None:
    template = JinjaTemplate("m", "[{{ messages[0].content | trim }}][{{ messages[0].content.strip() }}]")
    assert template.render([{"role": "user", "content": "\u00a0 x \n"}]) == "[\u00a0 x][\u00a0 x]"


def test_system_message_joined_when_the_template_has_no_system_role() -> None:
    source = "{% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}" + CHATML
    template = JinjaTemplate("m", source)
    assert not template.supports_system
    assert template.render(CONV) == "<|im_start|>user\nBe brief.\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_raise_exception_is_a_template_error() -> None:
    source = CHATML + "{% if messages|length > 2 %}{{ raise_exception('two messages at most') }}{% endif %}"
    with pytest.raises(TemplateError, match="two messages at most"):
        JinjaTemplate("m", source).render([*CONV, {"role": "assistant", "content": "x"}])


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="line 2"):
        JinjaTemplate("m", "ok\n{% if %}")


def test_the_sandbox_refuses_unsafe_access() -> None:
    template = JinjaTemplate("m", "{{ messages.__class__.__mro__ }}")
    with pytest.raises(TemplateError):
        template.render(CONV)


def test_generation_tag_and_tojson() -> None:
    source = "{% generation %}{{ messages[0] | tojson }}{% endgeneration %}"
    assert JinjaTemplate("m", source).render([{"role": "user", "content": "é<"}]) == '{"role": "user", "content": "é<"}'


def test_reasoning_markers_found_by_probing() -> None:
    source = (
        "{% for m in messages %}<{{ m.role }}>"
        "{% if m.reasoning_content is defined %}<think>{{ m.reasoning_content }}</think>{% endif %}"
        "{{ m.content }}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant><think>{% endif %}"
    )
    template = JinjaTemplate("m", source)
    assert template.reasoning is not None
    assert (template.reasoning.start, template.reasoning.end) == ("<think>", "</think>")
    partial = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    assert template.render(partial, continue_final=True) == "<user>Q</user><assistant><think></think>A"


def test_load_jinja_file_errors(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        load_jinja_file(tmp_path / "missing.jinja")
    bad = tmp_path / "bad.jinja"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_jinja_file(bad)
    big = tmp_path / "big.jinja"
    big.write_text("x" * (MAX_TEMPLATE_BYTES + 1))
    with pytest.raises(TemplateError, match="over"):
        load_jinja_file(big)


def test_config_jinja_template(tmp_path: Path) -> None:
    (tmp_path / "fixed.jinja").write_text(CHATML)
    template = custom_template("fixed", {"jinja": "fixed.jinja", "eos_token": "<|im_end|>"}, base_dir=tmp_path)
    assert template.render(CONV).endswith("<|im_start|>assistant\n")
    assert template.stops == ("<|im_end|>",)
    assert get_template("fixed", {"fixed": template}) is template


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"jinja": "nope.jinja"}, "cannot read"),
        ({"jinja": "t.jinja", "user_prefix": "U"}, "'user_prefix' cannot go with 'jinja'"),
        ({"jinja": 3}, "'jinja' must be a string"),
        ({"jinja": " "}, "must name a .jinja file"),
        ({"jinja": "broken.jinja"}, "syntax error"),
    ],
)
def test_config_jinja_template_errors(tmp_path: Path, spec: dict[str, object], message: str) -> None:
    (tmp_path / "t.jinja").write_text(CHATML)
    (tmp_path / "broken.jinja").write_text("{% for %}")
    with pytest.raises(TemplateError, match=message) as excinfo:
        custom_template("mine", spec, base_dir=tmp_path)
    assert "template 'mine'" in str(excinfo.value)
