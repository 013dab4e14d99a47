"""Client-side prompt templates, checked against reference strings written out by hand from the
official chat templates (rendered with add_generation_prompt=True)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llama_tui.domain import ChatMessage
from llama_tui.templates import (
    BUILTIN,
    SERVER_TEMPLATE,
    ChatTurn,
    PromptTemplate,
    TemplateError,
    UnknownTemplate,
    custom_template,
    get_template,
    template_names,
)

CONV = [
    ChatTurn("system", "You are terse."),
    ChatTurn("user", "Hi"),
    ChatTurn("assistant", "Hello!"),
    ChatTurn("user", "Tell me a joke."),
]
NO_SYSTEM = CONV[1:]
PARTIAL = [*NO_SYSTEM, ChatTurn("assistant", "Why did the")]

# Full conversation, include_bos=True, add_generation_prompt=True.
REFERENCE = {
    "chatml": (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nTell me a joke.<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "llama3": (
        "<|begin_of_text|>"
        "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    "llama2": "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Tell me a joke. [/INST]",
    "mistral": "<s>[INST] You are terse.\n\nHi [/INST]Hello!</s>[INST] Tell me a joke. [/INST]",
    "gemma": (
        "<bos><start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nTell me a joke.<end_of_turn>\n"
        "<start_of_turn>model\n"
    ),
    "phi3": (
        "<|system|>\nYou are terse.<|end|>\n"
        "<|user|>\nHi<|end|>\n"
        "<|assistant|>\nHello!<|end|>\n"
        "<|user|>\nTell me a joke.<|end|>\n"
        "<|assistant|>\n"
    ),
    "alpaca": (
        "You are terse.\n\n"
        "### Instruction:\nHi\n\n"
        "### Response:\nHello!\n\n"
        "### Instruction:\nTell me a joke.\n\n"
        "### Response:\n"
    ),
    "raw": "You are terse.\nHi\nHello!\nTell me a joke.",
}

# No system message, default include_bos=False.
REFERENCE_NO_SYSTEM = {
    "chatml": (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n"
    ),
    "llama3": (
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    "llama2": "[INST] Hi [/INST] Hello! </s><s>[INST] Tell me a joke. [/INST]",
    "mistral": "[INST] Hi [/INST]Hello!</s>[INST] Tell me a joke. [/INST]",
    "gemma": (
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n"
    ),
    "phi3": "<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nTell me a joke.<|end|>\n<|assistant|>\n",
    "alpaca": "### Instruction:\nHi\n\n### Response:\nHello!\n\n### Instruction:\nTell me a joke.\n\n### Response:\n",
    "raw": "Hi\nHello!\nTell me a joke.",
}

# PARTIAL with continue_final=True: the unfinished answer ends the prompt, nothing after it.
REFERENCE_CONTINUE = {
    "chatml": (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\nWhy did the"
    ),
    "llama3": (
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nWhy did the"
    ),
    "llama2": "[INST] Hi [/INST] Hello! </s><s>[INST] Tell me a joke. [/INST] Why did the",
    "mistral": "[INST] Hi [/INST]Hello!</s>[INST] Tell me a joke. [/INST]Why did the",
    "gemma": (
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\nWhy did the"
    ),
    "phi3": (
        "<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
        "<|user|>\nTell me a joke.<|end|>\n<|assistant|>\nWhy did the"
    ),
    "alpaca": (
        "### Instruction:\nHi\n\n### Response:\nHello!\n\n"
        "### Instruction:\nTell me a joke.\n\n### Response:\nWhy did the"
    ),
    "raw": "Hi\nHello!\nTell me a joke.\nWhy did the",
}

STOPS = {
    "chatml": ("<|im_end|>", "<|im_start|>"),
    "llama3": ("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>"),
    "llama2": ("</s>", "[INST]"),
    "mistral": ("</s>", "[INST]"),
    "gemma": ("<end_of_turn>", "<start_of_turn>"),
    "phi3": ("<|end|>", "<|endoftext|>", "<|user|>"),
    "alpaca": ("### Instruction:",),
    "raw": (),
}


def test_builtin_names() -> None:
    assert list(BUILTIN) == [
        "chatml", "llama3.1", "llama3", "qwen3", "qwen3.5", "qwen2.5", "gemma3", "gemma4", "gemma2",
        "mistral-small3", "mistral-nemo", "mistral", "gpt-oss", "deepseek-r1", "deepseek-v3.1", "deepseek-v3.2",
        "phi4", "phi3.5", "glm-4.6", "glm-4.7", "granite-4.0", "granite-4.1", "llama2", "alpaca", "raw",
    ]  # fmt: skip
    # The names of earlier versions still render, as the family that replaced them.
    assert set(REFERENCE) - set(BUILTIN) == {"gemma", "phi3"}
    assert get_template("gemma") is BUILTIN["gemma3"]
    assert get_template("phi3") is BUILTIN["phi3.5"]


@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_with_bos(name: str) -> None:
    assert get_template(name).render(CONV, include_bos=True) == REFERENCE[name]


@pytest.mark.parametrize("name", list(REFERENCE))
def test_bos_only_at_start_and_only_on_request(name: str) -> None:
    template = get_template(name)
    without = template.render(CONV)
    assert template.render(CONV, include_bos=False) == without
    assert template.bos + without == REFERENCE[name]
    if template.bos:
        assert not without.startswith(template.bos)


def test_bos_texts() -> None:
    bos = {name: get_template(name).bos for name in REFERENCE}
    assert bos == {
        "chatml": "",
        "llama3": "<|begin_of_text|>",
        "llama2": "<s>",
        "mistral": "<s>",
        "gemma": "<bos>",
        "phi3": "",
        "alpaca": "",
        "raw": "",
    }


def test_llama2_keeps_inner_bos() -> None:
    # Only the leading <s> is the server's job; the one before each later [INST] is the format's.
    assert "</s><s>[INST] Tell me a joke." in get_template("llama2").render(CONV)


@pytest.mark.parametrize("name", list(REFERENCE_NO_SYSTEM))
def test_no_system_prompt(name: str) -> None:
    assert get_template(name).render(NO_SYSTEM) == REFERENCE_NO_SYSTEM[name]


@pytest.mark.parametrize("name", list(REFERENCE_CONTINUE))
def test_continue_final(name: str) -> None:
    template = get_template(name)
    rendered = template.render(PARTIAL, continue_final=True)
    assert rendered == REFERENCE_CONTINUE[name]
    assert rendered.endswith("Why did the")
    # add_generation_prompt is ignored: a partial answer gets no new header after it.
    assert template.render(PARTIAL, continue_final=True, add_generation_prompt=True) == rendered


def test_continue_final_keeps_the_answer_verbatim_in_trimming_formats() -> None:
    # llama-server's prefill appends the answer as it is, even where the template trims finished messages
    # (checked against the server in tests/integration/templates/).
    partial = [ChatTurn("user", "List two."), ChatTurn("assistant", "  1. one\n")]
    for name in ("llama3", "llama3.1", "gemma3", "qwen3.5"):
        assert get_template(name).render(partial, continue_final=True).endswith("\n  1. one\n"), name


def test_continue_final_needs_assistant_last() -> None:
    with pytest.raises(TemplateError, match="assistant"):
        get_template("chatml").render(NO_SYSTEM, continue_final=True)


def test_history_answers_keep_end_of_turn() -> None:
    rendered = get_template("chatml").render(PARTIAL[:2], add_generation_prompt=False)
    assert rendered == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"


def test_no_generation_prompt() -> None:
    assert (
        get_template("chatml").render(NO_SYSTEM[:1], add_generation_prompt=False) == "<|im_start|>user\nHi<|im_end|>\n"
    )
    assert (
        get_template("gemma").render(NO_SYSTEM[:1], add_generation_prompt=False)
        == "<start_of_turn>user\nHi<end_of_turn>\n"
    )


def test_trimming_formats_strip_content() -> None:
    conv = [ChatTurn("system", " sys \n"), ChatTurn("user", "  hi  \n")]
    assert get_template("llama3").render(conv) == (
        "<|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    # Llama-2 strips the first turn as a whole, so the system text keeps its inner spaces.
    assert get_template("llama2").render(conv) == "[INST] <<SYS>>\n sys \n\n<</SYS>>\n\n  hi [/INST]"
    # Gemma 3 trims the user text but not the folded system text.
    assert (
        get_template("gemma").render(conv) == "<start_of_turn>user\n sys \n\n\nhi<end_of_turn>\n<start_of_turn>model\n"
    )
    # ChatML does not trim.
    assert "<|im_start|>user\n  hi  \n<|im_end|>" in get_template("chatml").render(conv)


def test_accepts_messages_and_dicts() -> None:
    as_messages = [
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello!"),
        ChatMessage("user", "Tell me a joke."),
    ]
    as_dicts = [{"role": t.role, "content": t.content} for t in CONV]
    for name in REFERENCE:
        template = get_template(name)
        assert template.render(as_messages, include_bos=True) == REFERENCE[name]
        assert template.render(as_dicts, include_bos=True) == REFERENCE[name]


def test_bad_role_is_rejected() -> None:
    with pytest.raises(TemplateError, match="tool"):
        get_template("chatml").render([{"role": "tool", "content": "x"}])


@pytest.mark.parametrize("name", list(STOPS))
def test_stops(name: str) -> None:
    assert get_template(name).stops == STOPS[name]


def test_template_names() -> None:
    names = template_names()
    assert SERVER_TEMPLATE == "server"
    assert "server" in names
    assert set(names) == {"server", *BUILTIN}
    assert len(names) == len(set(names))


def test_get_template() -> None:
    assert get_template("llama3") is get_template("llama3")
    mine = custom_template("mine", {"user_prefix": "U: "})
    assert get_template("mine", {"mine": mine}) is mine


def test_get_template_unknown_lists_names() -> None:
    with pytest.raises(UnknownTemplate) as excinfo:
        get_template("vicuna", {"mine": custom_template("mine", {})})
    message = str(excinfo.value)
    assert "'vicuna'" in message
    for name in [*BUILTIN, "mine", "server"]:
        assert name in message
    assert not message.startswith('"')  # not KeyError's repr-quoted form
    assert isinstance(excinfo.value, KeyError)


def test_get_template_server_is_not_local() -> None:
    with pytest.raises(UnknownTemplate, match="apply-template"):
        get_template(SERVER_TEMPLATE)


def test_custom_template_happy_path() -> None:
    template = custom_template(
        "vicuna",
        {
            "description": "Vicuna 1.1",
            "bos": "<s>",
            "system_suffix": "\n\n",
            "user_prefix": "USER: ",
            "user_suffix": "\n",
            "assistant_prefix": "ASSISTANT: ",
            "assistant_suffix": "</s>\n",
            "stops": ["</s>", "USER:"],
        },
    )
    assert isinstance(template, PromptTemplate)
    assert (template.name, template.description, template.bos) == ("vicuna", "Vicuna 1.1", "<s>")
    assert template.stops == ("</s>", "USER:")
    assert template.render(CONV, include_bos=True) == (
        "<s>You are terse.\n\nUSER: Hi\nASSISTANT: Hello!</s>\nUSER: Tell me a joke.\nASSISTANT: "
    )
    assert template.render(PARTIAL, continue_final=True) == (
        "USER: Hi\nASSISTANT: Hello!</s>\nUSER: Tell me a joke.\nASSISTANT: Why did the"
    )


def test_custom_template_defaults() -> None:
    template = custom_template("bare", {})
    assert template.bos == ""
    assert template.stops == ()
    assert template.description
    assert template.render(NO_SYSTEM) == "HiHello!Tell me a joke."


def test_custom_template_unknown_key() -> None:
    with pytest.raises(TemplateError, match="'user_prefx'"):
        custom_template("bad", {"user_prefx": "U: "})


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"user_prefix": 3}, "user_prefix"),
        ({"bos": None}, "bos"),
        ({"description": ["x"]}, "description"),
        ({"stops": "</s>"}, "stops"),
        ({"stops": ["</s>", 1]}, "stops"),
    ],
)
def test_custom_template_wrong_type(spec: dict[str, object], key: str) -> None:
    with pytest.raises(TemplateError, match=f"'{key}'"):
        custom_template("bad", spec)


def test_custom_template_reserved_name() -> None:
    with pytest.raises(TemplateError, match="reserved"):
        custom_template(SERVER_TEMPLATE, {})


def test_import_does_not_pull_in_textual() -> None:
    code = "import sys, llama_tui.templates; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
