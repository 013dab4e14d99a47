"""Built-in families of models that reason before they answer: each function mirrors its official Jinja
chat template for system/user/assistant text messages, byte for byte as llama-server renders it (checked
in tests/integration/templates/ against the official files). Options follow llama-server's defaults:
``enable_thinking`` is on, as the server passes it to every template that supports it.
"""

from __future__ import annotations

from .base import ChatTurn, ReasoningMarkers, TemplateError, TemplateOption, option_date
from .family import (
    THINKING,
    TODAY,
    Family,
    Options,
    RenderBody,
    last_index,
    split_think,
    system_and_rest,
    trim,
)

# --- Qwen 3 and 3.5 ----------------------------------------------------------------------------------------


def _qwen3(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    out = ""
    if turns and turns[0].role == "system":
        out += f"<|im_start|>system\n{turns[0].content}<|im_end|>\n"
    last_query = last_index(turns, "user")
    if last_query < 0:
        last_query = len(turns) - 1
    for i, t in enumerate(turns):
        if t.role == "user" or (t.role == "system" and i > 0):
            out += f"<|im_start|>{t.role}\n{t.content}<|im_end|>\n"
        elif t.role == "assistant":
            reasoning, content = split_think(t.content)
            if i > last_query and (i == len(turns) - 1 or reasoning):
                out += f"<|im_start|>assistant\n<think>\n{reasoning.strip(chr(10))}\n</think>\n\n{content.lstrip()}"
            else:
                out += f"<|im_start|>assistant\n{content}"
            out += "<|im_end|>\n"
    if gen:
        out += "<|im_start|>assistant\n" + ("" if opts["enable_thinking"] else "<think>\n\n</think>\n\n")
    return out


def _qwen35(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    out = ""
    if turns and turns[0].role == "system":
        out += f"<|im_start|>system\n{trim(turns[0].content)}<|im_end|>\n"
    last_query = last_index(turns, "user")
    if last_query < 0:
        raise TemplateError("qwen3.5 needs a user message in the conversation")
    for i, t in enumerate(turns):
        content = trim(t.content)
        if t.role == "system":
            if i > 0:
                raise TemplateError("qwen3.5 accepts a system message only at the start of the conversation")
        elif t.role == "user":
            out += f"<|im_start|>user\n{content}<|im_end|>\n"
        else:
            reasoning, content = split_think(content)
            if i > last_query:
                out += f"<|im_start|>assistant\n<think>\n{trim(reasoning)}\n</think>\n\n{content}"
            else:
                out += f"<|im_start|>assistant\n{content}"
            out += "<|im_end|>\n"
    if gen:
        out += "<|im_start|>assistant\n" + ("<think>\n" if opts["enable_thinking"] else "<think>\n\n</think>\n\n")
    return out


_QWEN_STOPS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
_QWEN_THINK = ReasoningMarkers("<think>\n", "\n</think>\n\n")
QWEN3 = Family(
    "qwen3",
    "Qwen3 (0.6B-235B, 2504 hybrid thinking) and QwQ-style ChatML with <think>",
    _qwen3,
    stops=_QWEN_STOPS,
    options=(THINKING,),
    reasoning=_QWEN_THINK,
)
QWEN35 = Family(
    "qwen3.5",
    "Qwen3.5 (the generation prompt opens <think>; thinking off closes it empty)",
    _qwen35,
    stops=_QWEN_STOPS,
    options=(THINKING,),
    reasoning=_QWEN_THINK,
)

# --- DeepSeek ----------------------------------------------------------------------------------------------

_DS_BOS = "<｜begin▁of▁sentence｜>"
_DS_EOS = "<｜end▁of▁sentence｜>"


def _deepseek_r1(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    systems = [t.content for t in turns if t.role == "system"]
    out = _DS_BOS + (systems[-1] if systems else "")  # the template keeps the last system message
    for t in turns:
        if t.role == "user":
            out += "<｜User｜>" + t.content
        elif t.role == "assistant":
            out += "<｜Assistant｜>" + t.content.split("</think>")[-1] + _DS_EOS
    if gen:
        out += "<｜Assistant｜><think>\n" + ("" if opts["enable_thinking"] else "</think>")
    return out


def _deepseek_v3(v32: bool) -> RenderBody:
    def body(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
        thinking = opts["enable_thinking"]
        out = _DS_BOS + "\n\n".join(t.content for t in turns if t.role == "system")
        after_user = False
        for t in turns:
            if t.role == "user":
                out += "<｜User｜>" + t.content
                after_user = True
            elif t.role == "assistant":
                if after_user:
                    out += "<｜Assistant｜>" + ("</think>" if v32 else "<think></think>")
                after_user = False
                content = t.content.split("</think>", 1)[1] if "</think>" in t.content and not v32 else t.content
                out += content + _DS_EOS
        if gen and after_user:
            out += "<｜Assistant｜>" + ("<think>" if thinking else "<think></think>")
        return out

    return body


_DS_STOPS = (_DS_EOS, "<｜User｜>")
_DS_THINK = ReasoningMarkers("<think>", "</think>")
DEEPSEEK_R1 = Family(
    "deepseek-r1",
    "DeepSeek-R1 and its distills (R1-Distill-Qwen and -Llama 1.5B-70B): <think> opened in the prompt",
    _deepseek_r1,
    bos=_DS_BOS,
    stops=_DS_STOPS,
    options=(THINKING,),
    reasoning=_DS_THINK,
)
DEEPSEEK_V31 = Family(
    "deepseek-v3.1",
    "DeepSeek V3.1 and V3.1-Terminus (hybrid: <think> or <think></think> after <｜Assistant｜>)",
    _deepseek_v3(False),
    bos=_DS_BOS,
    stops=_DS_STOPS,
    options=(THINKING,),
    reasoning=_DS_THINK,
)
DEEPSEEK_V32 = Family(
    "deepseek-v3.2",
    "DeepSeek V3.2 (and V3.2-Exp): earlier answers follow </think>",
    _deepseek_v3(True),
    bos=_DS_BOS,
    stops=_DS_STOPS,
    options=(THINKING,),
    reasoning=_DS_THINK,
)

# --- gpt-oss (harmony) -------------------------------------------------------------------------------------

REASONING_EFFORT = TemplateOption(
    "reasoning_effort",
    "choice",
    "medium",
    "How long gpt-oss reasons: low, medium (the template's default) or high",
    choices=("low", "medium", "high"),
)


def _gpt_oss(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    out = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    out += "Knowledge cutoff: 2024-06\n"
    out += f"Current date: {option_date(opts['today']).isoformat()}\n\n"
    out += f"Reasoning: {opts['reasoning_effort']}\n\n"
    out += "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
    system, rest = system_and_rest(turns)
    if system is not None and system.content:
        out += f"<|start|>developer<|message|># Instructions\n\n{system.content}\n\n<|end|>"
    for i, t in enumerate(rest):  # later system messages are not rendered by the template
        if t.role == "user":
            out += f"<|start|>user<|message|>{t.content}<|end|>"
        elif t.role == "assistant":
            end = "<|return|>" if i == len(rest) - 1 and not gen else "<|end|>"
            out += f"<|start|>assistant<|channel|>final<|message|>{t.content}{end}"
    return out + ("<|start|>assistant" if gen else "")


GPT_OSS = Family(
    "gpt-oss",
    "OpenAI gpt-oss 20b and 120b (harmony: analysis and final channels; system prompt as developer message)",
    _gpt_oss,
    stops=("<|return|>", "<|call|>"),
    options=(REASONING_EFFORT, TODAY),
    reasoning=ReasoningMarkers(
        "<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>"
    ),
)

# --- GLM ---------------------------------------------------------------------------------------------------


def _glm(v47: bool) -> RenderBody:
    nl = "" if v47 else "\n"

    def body(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
        thinking = opts["enable_thinking"]
        out = "[gMASK]<sop>"
        last_user = last_index(turns, "user")
        for i, t in enumerate(turns):
            if t.role == "user":
                nothink = not v47 and not thinking and not t.content.endswith("/nothink")
                out += f"<|user|>{nl}{t.content}" + ("/nothink" if nothink else "")
            elif t.role == "system":
                out += f"<|system|>{nl}{t.content}"
            else:
                reasoning, content = split_think(t.content)
                if i > last_user and reasoning:
                    out += f"<|assistant|>{nl}<think>{trim(reasoning)}</think>"
                else:
                    out += f"<|assistant|>{nl}" + ("</think>" if v47 else "<think></think>")
                if trim(content):
                    out += nl + trim(content)
        if gen:
            if v47:
                out += "<|assistant|>" + ("<think>" if thinking else "</think>")
            else:
                out += "<|assistant|>" + ("" if thinking else "\n<think></think>")
        return out

    return body


_GLM_STOPS = ("<|user|>", "<|observation|>", "<|endoftext|>")
GLM46 = Family(
    "glm-4.6",
    "GLM-4.5 and GLM-4.6 (thinking off adds /nothink to user messages)",
    _glm(False),
    stops=_GLM_STOPS,
    options=(THINKING,),
    reasoning=ReasoningMarkers("<think>", "</think>\n"),
)
GLM47 = Family(
    "glm-4.7",
    "GLM-4.7 and GLM-4.7-Flash (no newlines between turns)",
    _glm(True),
    stops=_GLM_STOPS,
    options=(THINKING,),
    reasoning=_DS_THINK,
)

# --- Gemma 4 -----------------------------------------------------------------------------------------------


def _strip_thinking(text: str) -> str:
    """Gemma 4's template drops "<|channel>...<channel|>" thought blocks from earlier answers."""
    kept = [part.split("<|channel>")[0] if "<|channel>" in part else part for part in text.split("<channel|>")]
    return trim("".join(kept))


def _gemma4(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    thinking = opts["enable_thinking"]
    system, rest = system_and_rest(turns)
    out = "<bos>"
    if thinking or system is not None:
        out += "<|turn>system\n" + ("<|think|>\n" if thinking else "")
        out += (trim(system.content) if system is not None else "") + "<turn|>\n"
    previous = None
    for t in rest:
        role = "model" if t.role == "assistant" else t.role
        if not (role == "model" and previous == "assistant"):  # consecutive answers share one model turn
            out += f"<|turn>{role}\n"
        out += (_strip_thinking(t.content) if role == "model" else trim(t.content)) + "<turn|>\n"
        previous = t.role
    if gen:
        out += "<|turn>model\n" + ("" if thinking else "<|channel>thought\n<channel|>")
    return out


GEMMA4 = Family(
    "gemma4",
    "Gemma 4 instruction-tuned (<|turn>, thinking switched on by <|think|> in the system turn)",
    _gemma4,
    bos="<bos>",
    stops=("<turn|>", "<|turn>"),
    options=(THINKING,),
    reasoning=ReasoningMarkers("<|channel>thought\n", "<channel|>"),
)

REASONING = (QWEN3, QWEN35, GEMMA4, DEEPSEEK_R1, DEEPSEEK_V31, DEEPSEEK_V32, GPT_OSS, GLM46, GLM47)
