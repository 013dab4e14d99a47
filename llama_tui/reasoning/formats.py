"""How each model family writes its reasoning ("thinking") into the output, as data.

A `ReasoningFormat` says which markers open and close the reasoning in the raw text of /completion,
what to append to end it early ("stop thinking now"), and which markers must be listed in the
request's `preserved_tokens` so that llama-server sends them as text at all (a control token is
otherwise detokenized to nothing). Where the output starts (already inside the reasoning, because
the chat template's generation prompt opened it) is read from the rendered prompt's tail
(`start_for`), the way llama.cpp parses `generation_prompt + output`.

Checked against the official chat templates in llama.cpp's `models/templates/` and its parsers in
`common/chat.cpp` / `common/parsers/` (llama-cpp-python 0.3.36): see tests/unit/reasoning.
Pure data and functions, no Textual.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Start(enum.Enum):
    """Where the model's output begins, as far as reasoning goes."""

    OUTSIDE = "outside"  # the output may open a reasoning block first (or just answer)
    REASONING = "reasoning"  # the prompt opened the block: the output starts inside it
    ANSWER = "answer"  # the prompt closed (or skipped) the reasoning: the output is the answer


class Resend(enum.Enum):
    """Whether a template renders the reasoning of earlier assistant turns back into the prompt."""

    NEVER = "never"  # dropped from every earlier turn (most templates)
    ALWAYS = "always"  # kept in every turn ("preserved thinking": GLM-4.7, DeepSeek V4, Magistral)


@dataclass(frozen=True)
class ReasoningFormat:
    """The markers of one way of writing reasoning. `kind` "tags" is a block between `open` and
    `close`; "harmony" is gpt-oss's channels (`analysis` is the reasoning, see harmony.py)."""

    name: str
    kind: str  # "tags" | "harmony"
    open: str  # opens the reasoning in the output ("<think>")
    close: str  # closes it ("</think>")
    open_text: str  # how a rebuilt output opens reasoning ("<think>\n")
    stop_text: str  # appended to end reasoning now; contains `close` ("\n</think>\n\n")
    preserved_tokens: tuple[str, ...]  # send in /completion so control-token markers arrive as text
    answer_open: str = ""  # a marker the answer starts with, dropped (Granite 3.3 "<response>")
    answer_close: str = ""  # a marker the answer ends with, dropped ("</response>")
    answer_text: str = ""  # how a rebuilt output without reasoning opens the answer (harmony's header)
    anywhere: bool = False  # reasoning blocks may also appear later, between answer parts (Gemma 4)


THINK = ReasoningFormat(
    name="think",
    kind="tags",
    open="<think>",
    close="</think>",
    open_text="<think>\n",
    # Qwen3's history form `<think>\nR\n</think>\n\nA`; also what R1 distills write.
    stop_text="\n</think>\n\n",
    preserved_tokens=("<think>", "</think>"),
)

# Granite 3.3 with `thinking=true`: its system prompt asks for <think></think><response></response>.
GRANITE = ReasoningFormat(
    name="granite",
    kind="tags",
    open="<think>",
    close="</think>",
    open_text="<think>",
    stop_text="</think><response>",
    preserved_tokens=("<think>", "</think>", "<response>", "</response>"),
    answer_open="<response>",
    answer_close="</response>",
)

# Gemma 4: `<|channel>thought\n...<channel|>answer`; thinking off renders an empty
# `<|channel>thought\n<channel|>` in the generation prompt. llama.cpp's gemma4 parser takes every
# complete thought block, also ones after answer text.
GEMMA4 = ReasoningFormat(
    name="gemma4",
    kind="tags",
    open="<|channel>thought",
    close="<channel|>",
    open_text="<|channel>thought\n",
    stop_text="\n<channel|>",
    preserved_tokens=("<|channel>", "<channel|>"),
    anywhere=True,
)

# Magistral / Ministral 3 Reasoning: `[THINK]...[/THINK]answer`, control tokens in Tekken.
MISTRAL = ReasoningFormat(
    name="mistral",
    kind="tags",
    open="[THINK]",
    close="[/THINK]",
    open_text="[THINK]",
    stop_text="[/THINK]",
    preserved_tokens=("[THINK]", "[/THINK]"),
)

# gpt-oss (harmony): the generation prompt ends with `<|start|>assistant`; the output is messages
# `<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final<|message|>...`, ended
# by `<|return|>` (an end-of-generation token, never in the text). llama.cpp shows `<|channel|>`,
# `<|message|>`, `<|start|>`, `<|constrain|>` and (when `<|return|>` and `<|call|>` exist) `<|end|>`
# as text anyway; they are listed for older builds.
HARMONY = ReasoningFormat(
    name="harmony",
    kind="harmony",
    open="<|channel|>analysis<|message|>",
    close="<|end|>",
    open_text="<|channel|>analysis<|message|>",
    stop_text="<|end|><|start|>assistant<|channel|>final<|message|>",
    preserved_tokens=("<|channel|>", "<|message|>", "<|start|>", "<|end|>", "<|constrain|>"),
    answer_text="<|channel|>final<|message|>",
)

FORMATS: dict[str, ReasoningFormat] = {f.name: f for f in (THINK, GRANITE, GEMMA4, MISTRAL, HARMONY)}

# Template family -> (reasoning format, resend policy), from each official template (see the test
# that renders them). Families not listed use THINK with NEVER: a leading <think> block is reasoning.
FAMILIES: dict[str, tuple[ReasoningFormat, Resend]] = {
    "qwen3": (THINK, Resend.NEVER),  # Qwen3 (enable_thinking): output opens <think> itself
    "qwen3.5": (THINK, Resend.NEVER),  # generation prompt ends "<think>\n"
    "qwq": (THINK, Resend.NEVER),
    "deepseek-r1": (THINK, Resend.NEVER),  # R1 and its distills: prompt ends "<think>\n"
    "deepseek-v3": (THINK, Resend.NEVER),  # V3.1 / V3.2: "<think>" (on) or "<think></think>" (off)
    "deepseek-v4": (THINK, Resend.ALWAYS),
    "glm4": (THINK, Resend.NEVER),  # GLM-4.5 / 4.6
    "glm4.7": (THINK, Resend.ALWAYS),  # GLM-4.7 keeps earlier turns' reasoning
    "smollm3": (THINK, Resend.NEVER),
    "phi4-reasoning": (THINK, Resend.NEVER),
    "granite3.3": (GRANITE, Resend.NEVER),
    "gemma4": (GEMMA4, Resend.NEVER),  # kept only around tool calls, which we do not send
    "gpt-oss": (HARMONY, Resend.NEVER),  # analysis of earlier turns is dropped
    "magistral": (MISTRAL, Resend.ALWAYS),  # Ministral 3 Reasoning keeps [THINK] blocks
}
# The built-in template families' names (llama_tui.templates) for the same formats.
FAMILIES.update(
    {
        "deepseek-v3.1": FAMILIES["deepseek-v3"],
        "deepseek-v3.2": FAMILIES["deepseek-v3"],
        "glm-4.6": FAMILIES["glm4"],
        "glm-4.7": FAMILIES["glm4.7"],
    }
)


def format_for(family: str | None = None, prompt: str = "") -> ReasoningFormat:
    """The reasoning format for a template family, else guessed from the generation prompt at the
    end of the rendered prompt (the model's own template): harmony and Gemma 4 open the assistant
    turn with markers of their own. Anything else is THINK, which also covers no reasoning at all."""
    if family and family.lower() in FAMILIES:
        return FAMILIES[family.lower()][0]
    last = prompt[prompt.rfind("<|start|>") :] if "<|start|>" in prompt else ""
    if last.startswith("<|start|>assistant") and "<|end|>" not in last:
        return HARMONY
    turn = prompt.rfind("<|turn>")
    if turn != -1 and prompt.startswith("<|turn>model", turn) and "<turn|>" not in prompt[turn:]:
        return GEMMA4
    tail = prompt.rstrip()
    if tail.endswith("[THINK]") or (tail.endswith("[/INST]") and "[THINK]" in prompt):
        return MISTRAL  # Magistral's system prompt explains [THINK]; its turn ends [/INST]
    return THINK


def resend_policy(family: str | None) -> Resend:
    """Whether the family's template renders earlier turns' reasoning back (NEVER if unknown)."""
    return FAMILIES[family.lower()][1] if family and family.lower() in FAMILIES else Resend.NEVER


def start_for(fmt: ReasoningFormat, prompt: str) -> Start:
    """Where output generated after `prompt` starts: inside the reasoning if the prompt's tail opens
    a block it does not close (Qwen3.5, DeepSeek-R1: "...<think>\\n"), in the answer if the tail
    closes one (thinking off: "<think>\\n\\n</think>\\n\\n"). Only the tail counts: a marker quoted
    in an earlier message must not change anything."""
    if fmt.kind == "harmony":
        return _harmony_start(prompt)
    tail = prompt.rstrip()
    if tail.endswith(fmt.open):
        return Start.REASONING
    if tail.endswith(fmt.close) or (fmt.answer_open and tail.endswith(fmt.answer_open)):
        return Start.ANSWER
    return Start.OUTSIDE


def _harmony_start(prompt: str) -> Start:
    # Only the last message counts: the one the generation continues.
    last = prompt[prompt.rfind("<|start|>") :] if "<|start|>" in prompt else ""
    if not last.startswith("<|start|>assistant") or "<|message|>" not in last:
        return Start.OUTSIDE  # a header still to come (normally the prompt ends "<|start|>assistant")
    header, _, body = last.partition("<|message|>")
    if any(t in body for t in ("<|end|>", "<|return|>", "<|call|>")):
        return Start.OUTSIDE
    if " to=" in header:
        return Start.ANSWER  # a tool call being continued: not reasoning
    return Start.REASONING if header.endswith("<|channel|>analysis") else Start.ANSWER
