"""Built-in families of models that answer directly (no reasoning block): each function mirrors its
official Jinja chat template for system/user/assistant text messages, byte for byte as llama-server
renders it (checked in tests/integration/templates/ against the official files).
"""

from __future__ import annotations

from .base import ChatTurn, TemplateError, format_day_month_year, option_date
from .family import TODAY, Family, Options, RenderBody, system_and_rest, trim

# --- Llama 3.1 / 3.2 / 3.3 ------------------------------------------------------------------------------


def _llama31(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    system, rest = system_and_rest(turns)
    out = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    out += "Cutting Knowledge Date: December 2023\n"
    out += f"Today Date: {format_day_month_year(option_date(opts['today']))}\n\n"
    out += (trim(system.content) if system else "") + "<|eot_id|>"
    for t in rest:
        out += f"<|start_header_id|>{t.role}<|end_header_id|>\n\n{trim(t.content)}<|eot_id|>"
    if gen:
        out += "<|start_header_id|>assistant<|end_header_id|>\n\n"
    return out


LLAMA31 = Family(
    "llama3.1",
    "Llama 3.1, 3.2 and 3.3 Instruct (system header with knowledge cutoff and today's date)",
    _llama31,
    bos="<|begin_of_text|>",
    stops=("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|start_header_id|>"),
    options=(TODAY,),
)

# --- Qwen 2.5 -----------------------------------------------------------------------------------------------

_QWEN25_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def _qwen25(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    system, rest = system_and_rest(turns)
    out = f"<|im_start|>system\n{_QWEN25_SYSTEM if system is None else system.content}<|im_end|>\n"
    for t in rest:
        out += f"<|im_start|>{t.role}\n{t.content}<|im_end|>\n"
    return out + ("<|im_start|>assistant\n" if gen else "")


QWEN25 = Family(
    "qwen2.5",
    "Qwen2.5 Instruct and Coder (ChatML with Qwen's default system prompt when none is given)",
    _qwen25,
    stops=("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
)

# --- Gemma 2 and 3 -----------------------------------------------------------------------------------------


def _gemma_turns(turns: list[ChatTurn], first_prefix: str, gen: bool) -> str:
    out = "<bos>"
    for i, t in enumerate(turns):
        role = "model" if t.role == "assistant" else t.role
        out += f"<start_of_turn>{role}\n{first_prefix if i == 0 else ''}{trim(t.content)}<end_of_turn>\n"
    if gen:
        out += "<start_of_turn>model\n"
    return out


def _gemma3(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    # The system text goes, untrimmed, before the first message's (trimmed) text.
    system, rest = system_and_rest(turns)
    return _gemma_turns(rest, system.content + "\n\n" if system else "", gen)


def _gemma2(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    # Gemma 2's template refuses a system message; llama-server then joins it to the next message with
    # one newline (or drops it if it is alone), before the template trims that message.
    system, rest = system_and_rest(turns)
    if system is not None and rest:
        rest = [ChatTurn(rest[0].role, system.content + "\n" + rest[0].content), *rest[1:]]
    return _gemma_turns(rest, "", gen)


_GEMMA_STOPS = ("<end_of_turn>", "<start_of_turn>")
GEMMA3 = Family(
    "gemma3",
    "Gemma 3 instruction-tuned (1B-27B, 270M); the system prompt opens the first user turn",
    _gemma3,
    bos="<bos>",
    stops=_GEMMA_STOPS,
)
GEMMA2 = Family(
    "gemma2",
    "Gemma 2 instruction-tuned (no system role: llama-server joins the system prompt to the first message)",
    _gemma2,
    bos="<bos>",
    stops=_GEMMA_STOPS,
)

# --- Mistral -----------------------------------------------------------------------------------------------


def _no_late_system(turns: list[ChatTurn], family: str) -> None:
    if any(t.role == "system" for t in turns):
        raise TemplateError(f"{family} accepts a system message only at the start of the conversation")


def _mistral_nemo(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    # The system prompt is written into the last message, and only when that message is the user's.
    system, rest = system_and_rest(turns)
    _no_late_system(rest, "mistral-nemo")
    out = "<s>"
    for i, t in enumerate(rest):
        if t.role == "user":
            head = system.content + "\n\n" if system is not None and i == len(rest) - 1 else ""
            out += f"[INST]{head}{t.content}[/INST]"
        else:
            out += t.content + "</s>"
    return out


MISTRAL_NEMO = Family(
    "mistral-nemo",
    "Mistral Nemo Instruct 2407 (v3-tekken: [INST]text[/INST]; system prompt in the last user turn)",
    _mistral_nemo,
    bos="<s>",
    stops=("</s>", "[INST]"),
)

_MISTRAL_SMALL_SYSTEM = (
    "You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, a French startup "
    "headquartered in Paris.\nYour knowledge base was last updated on 2023-10-01. The current date is {today}.\n\n"
    "When you're not sure about some information or when the user's request requires up-to-date or specific "
    "data, you must use the available tools to fetch the information. Do not hesitate to use tools whenever they "
    "can provide a more accurate or complete response. If no relevant tools are available, then clearly state "
    "that you don't have the information and avoid making up anything.\n\n"
    "If the user's question is not clear, ambiguous, or does not provide enough context for you to accurately "
    "answer the question, you do not try to answer it right away and you rather ask the user to clarify their "
    'request (e.g. "What are some good restaurants around me?" => "Where are you?" or "When is the next '
    'flight to Tokyo" => "Where do you travel from?").\n'
    "You are always very attentive to dates, and when asked about information at specific dates, you discard "
    "information that is at another date.\n"
    "You follow these instructions in all languages, and always respond to the user in the language they use "
    "or request.\n"
    "Next sections describe the capabilities that you have.\n\n"
    "# WEB BROWSING INSTRUCTIONS\n\n"
    "You cannot perform any web search or access internet to open URLs, links etc. If it seems like the user "
    "is expecting you to do so, you clarify the situation and ask the user to copy paste the text directly in "
    "the chat.\n\n"
    "# MULTI-MODAL INSTRUCTIONS\n\n"
    "You have the ability to read images, but you cannot generate images. You also cannot transcribe audio "
    "files or videos.\nYou cannot read nor transcribe audio files or videos.\n\n"
    "# TOOL CALLING INSTRUCTIONS\n\n"
    "You may have access to tools that you can use to fetch information or perform actions. You must use these "
    "tools in the following situations:\n\n"
    "1. When the request requires up-to-date information.\n"
    "2. When the request requires specific data that you do not have in your knowledge base.\n"
    "3. When the request involves actions that you cannot perform without tools.\n\n"
    "Always prioritize using tools to provide the most accurate and helpful response. If tools are not "
    "available, inform the user that you cannot perform the requested action at the moment."
)


def _mistral_small(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    system, rest = system_and_rest(turns)
    if system is None:
        text = _MISTRAL_SMALL_SYSTEM.format(today=option_date(opts["today"]).isoformat())
    else:
        text = system.content
    out = f"<s>[SYSTEM_PROMPT]{text}[/SYSTEM_PROMPT]"
    for t in rest:
        if t.role == "system":
            out += f"[SYSTEM_PROMPT]{t.content}[/SYSTEM_PROMPT]"
        elif t.role == "user":
            out += f"[INST]{t.content}[/INST]"
        else:
            out += t.content + "</s>"
    return out


MISTRAL_SMALL3 = Family(
    "mistral-small3",
    "Mistral Small 3.2 24B Instruct 2506 (v7: [SYSTEM_PROMPT]; Mistral's default system prompt when none)",
    _mistral_small,
    bos="<s>",
    stops=("</s>", "[INST]"),
    options=(TODAY,),
)

# --- Phi ---------------------------------------------------------------------------------------------------


def _phi35(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    out = ""
    for t in turns:
        if t.role != "system" or t.content:  # an empty system message is left out
            out += f"<|{t.role}|>\n{t.content}<|end|>\n"
    return out + ("<|assistant|>\n" if gen else "<|endoftext|>")


def _phi4(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
    out = "".join(f"<|im_start|>{t.role}<|im_sep|>{t.content}<|im_end|>" for t in turns)
    return out + ("<|im_start|>assistant<|im_sep|>" if gen else "")


PHI35 = Family(
    "phi3.5",
    "Phi-3 and Phi-3.5 mini/medium Instruct (<|user|>, <|assistant|>, <|end|>)",
    _phi35,
    stops=("<|end|>", "<|endoftext|>", "<|user|>"),
)
PHI4 = Family(
    "phi4",
    "Phi-4 14B (<|im_start|>role<|im_sep|>; not Phi-4-mini, which uses phi3.5's markers without newlines)",
    _phi4,
    stops=("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
)

# --- Granite -----------------------------------------------------------------------------------------------

_GRANITE40_SYSTEM = "You are a helpful assistant. Please ensure responses are professional, accurate, and safe."


def _granite(default_system: str) -> RenderBody:
    def body(turns: list[ChatTurn], opts: Options, gen: bool) -> str:
        system = turns[0].content if turns and turns[0].role == "system" else ""
        out = ""
        if system or default_system:
            out = f"<|start_of_role|>system<|end_of_role|>{system or default_system}<|end_of_text|>\n"
        for i, t in enumerate(turns):
            if t.role != "system" or i > 0:
                out += f"<|start_of_role|>{t.role}<|end_of_role|>{t.content}<|end_of_text|>\n"
        return out + ("<|start_of_role|>assistant<|end_of_role|>" if gen else "")

    return body


_GRANITE_STOPS = ("<|end_of_text|>", "<|start_of_role|>")
GRANITE40 = Family(
    "granite-4.0",
    "IBM Granite 4.0 (micro, tiny, small, H); IBM's default system prompt when none is given",
    _granite(_GRANITE40_SYSTEM),
    stops=_GRANITE_STOPS,
)
GRANITE41 = Family(
    "granite-4.1",
    "IBM Granite 4.1 (no default system prompt)",
    _granite(""),
    stops=_GRANITE_STOPS,
)

PLAIN = (QWEN25, LLAMA31, GEMMA3, GEMMA2, MISTRAL_SMALL3, MISTRAL_NEMO, PHI4, PHI35, GRANITE40, GRANITE41)
