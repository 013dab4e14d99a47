"""The template verification tier's knowledge: which official template file(s) each built-in family must
reproduce, with which options, and how the real llama-server's rendering of a conversation (the
reference) is obtained. Used by tests/integration/templates/.

The reference for a conversation is llama-server's /apply-template with the official file, with two
documented exceptions where the server's own prefill is not what a client should send:

* a continued answer with no text (and no reasoning): the server then leaves the generation prompt out altogether
  (``common_chat_msg::empty()``); the reference is the server's continuation of the same answer with
  the text "x", without that "x";
* a template whose rendering without a generation prompt does not end where the generation prompt
  starts (Phi-3.5 ends a finished conversation with its EOS text): the server glues the EOS to a cut
  header (``...<|end|>\\n</s>|assistant|>\\n``); the reference is the server's rendering of the
  conversation before the answer with the generation prompt, followed by the answer's text.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from tests.harness.server import LlamaServer
from tests.harness.template_corpus import Conversation

LLAMA3 = ("<|begin_of_text|>", "<|eot_id|>")
SPM = ("<s>", "</s>")
GEMMA = ("<bos>", "<eos>")
DEEPSEEK = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
PHI3 = ("<s>", "<|endoftext|>")
QWEN = (None, "<|im_end|>")

# llama-server's Jinja gets the date from strftime_now (unpinnable) except where the template reads a
# date_string variable; pin that one so the Llama 3.1 header is deterministic.
PINNED_DAY = datetime.date(2024, 7, 26)

OFF = {"enable_thinking": False}


@dataclass(frozen=True)
class OfficialCheck:
    """A built-in family against one official file: every corpus conversation, for each option set."""

    family: str
    file: str
    tokens: tuple[str | None, str | None] = (None, None)  # the real model's BOS and EOS texts
    variants: tuple[dict[str, Any], ...] = ({},)
    without_system_only: bool = False  # the file is another version whose only difference is the system prompt
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.family} @ {self.file}"


_LLAMA31_FILES = (
    "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "meta-llama-Llama-3.3-70B-Instruct.jinja",
)

CHECKS: tuple[OfficialCheck, ...] = (
    *(OfficialCheck("llama3.1", f, LLAMA3, ({"today": PINNED_DAY.isoformat()},)) for f in _LLAMA31_FILES),
    OfficialCheck("qwen3", "Qwen-Qwen3-0.6B.jinja", QWEN, ({}, OFF)),
    OfficialCheck("qwen3.5", "Qwen3.5-4B.jinja", QWEN, ({}, OFF)),
    OfficialCheck("qwen2.5", "Qwen-Qwen2.5-7B-Instruct.jinja", QWEN),
    OfficialCheck(
        "gemma3",
        "google-gemma-2-2b-it.jinja",
        GEMMA,
        without_system_only=True,
        note="no Gemma 3 file in the sdist; Gemma 2's format is Gemma 3's without a system prompt",
    ),
    OfficialCheck("gemma2", "google-gemma-2-2b-it.jinja", GEMMA),
    OfficialCheck("gemma4", "google-gemma-4-31B-it.jinja", GEMMA, ({}, OFF)),
    OfficialCheck("gemma4", "google-gemma-4-31B-it-interleaved.jinja", GEMMA, ({}, OFF)),
    OfficialCheck("mistral-small3", "Mistral-Small-3.2-24B-Instruct-2506.jinja", SPM),
    OfficialCheck("mistral-nemo", "mistralai-Mistral-Nemo-Instruct-2407.jinja", SPM),
    OfficialCheck("phi3.5", "microsoft-Phi-3.5-mini-instruct.jinja", PHI3),
    OfficialCheck(
        "deepseek-r1",
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
        DEEPSEEK,
        note="this file always opens <think>: thinking off is checked on the Qwen distill's file",
    ),
    OfficialCheck("deepseek-r1", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", DEEPSEEK, ({}, OFF)),
    OfficialCheck("deepseek-v3.1", "deepseek-ai-DeepSeek-V3.1.jinja", DEEPSEEK, ({}, OFF)),
    OfficialCheck("deepseek-v3.2", "deepseek-ai-DeepSeek-V3.2.jinja", DEEPSEEK, ({}, OFF)),
    OfficialCheck(
        "gpt-oss",
        "openai-gpt-oss-120b.jinja",
        (None, "<|return|>"),
        ({}, {"reasoning_effort": "low"}, {"reasoning_effort": "high"}),
    ),
    OfficialCheck("glm-4.6", "GLM-4.6.jinja", ("[gMASK]", "<|endoftext|>"), ({}, OFF)),
    OfficialCheck("glm-4.7", "GLM-4.7-Flash.jinja", ("[gMASK]", "<|endoftext|>"), ({}, OFF)),
    OfficialCheck("granite-4.0", "ibm-granite-granite-4.0.jinja", (None, "<|end_of_text|>")),
    OfficialCheck("granite-4.1", "ibm-granite-granite-4.1.jinja", (None, "<|end_of_text|>")),
)


def server_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Our template options as llama-server chat_template_kwargs."""
    kwargs = {k: v for k, v in options.items() if k in ("enable_thinking", "reasoning_effort")}
    if "today" in options:
        day = datetime.date.fromisoformat(options["today"])
        kwargs["date_string"] = day.strftime("%d ") + _MONTHS[day.month - 1] + day.strftime(" %Y")
    return kwargs


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def apply_template(server: LlamaServer, messages: list[dict[str, str]], kwargs: dict[str, Any], **extra: Any) -> str:
    body: dict[str, Any] = {"messages": messages, **extra}
    if kwargs:
        body["chat_template_kwargs"] = kwargs
    prompt = server.post_json("/apply-template", body)["prompt"]
    assert isinstance(prompt, str)
    return prompt


def reference(server: LlamaServer, conversation: Conversation, kwargs: dict[str, Any]) -> tuple[str, str]:
    """(the reference rendering, how it was obtained: "server", or the exception that applied)."""
    messages = conversation.as_list()
    if not conversation.continues:
        return apply_template(server, messages, kwargs), "server"
    last = messages[-1]["content"]
    history = messages[:-1]
    without = apply_template(server, history, kwargs, add_generation_prompt=False)
    with_prompt = apply_template(server, history, kwargs)
    if not with_prompt.startswith(without):
        return with_prompt + last, "server history + generation prompt + answer (server prefill glues the EOS)"
    if last == "" and not messages[-1].get("reasoning_content"):
        with_x = [*history, {"role": "assistant", "content": "x"}]
        prefill = apply_template(server, with_x, kwargs)
        assert prefill.endswith("x"), prefill
        return prefill[:-1], "server, empty answer as 'x' minus 'x'"
    return apply_template(server, messages, kwargs), "server"


@dataclass
class Row:
    """One line of the verification report."""

    family: str
    file: str
    options: str
    matched: int
    total: int
    note: str = ""
    failures: list[str] = field(default_factory=list)


REPORT: list[Row] = []  # filled by the tier's tests, printed at the end of the session
