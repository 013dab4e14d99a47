"""Steering reasoning through the raw prompt: "stop thinking now", rebuilding a stored answer's raw
output to continue it, and which reasoning goes back into later prompts.

Possible because the client renders the prompt itself: to end the reasoning early, cancel the
stream and continue from `prompt + output so far + stop_thinking(...)`, the way llama.cpp's
reasoning budget forces the closing marker.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..domain import ChatMessage
from .formats import THINK, ReasoningFormat, Resend, Start
from .harmony import END, MESSAGE, HarmonyParser
from .scan import Phase
from .splitter import ReasoningSplitter, split_reasoning

# What a harmony answer message opens with, as one piece (the prompt's generation prompt gives the
# `<|start|>assistant` of the first message).
_FINAL_HEADER = "<|start|>assistant<|channel|>final<|message|>"
_ANALYSIS_HEADER = "<|start|>assistant<|channel|>analysis<|message|>"


def _stop_text(fmt: ReasoningFormat, output: str) -> str:
    """`fmt.stop_text`, without its leading newline when the output already ends with one."""
    lead, sep, tail = fmt.stop_text.partition(fmt.close)
    if lead == "\n" and output.endswith("\n"):
        lead = ""
    return lead + sep + tail


def stop_thinking(fmt: ReasoningFormat, start: Start, output: str) -> str | None:
    """The exact text to append to `prompt + output` so that the reasoning ends here and the model
    answers next, or None if the output is not in its reasoning (already answering). Before any
    reasoning has started (nothing generated yet) it is an empty reasoning block, as with thinking
    off (`<think>\n</think>\n\n`)."""
    splitter = ReasoningSplitter(fmt, start)
    splitter.feed(output)
    parser = splitter.parser
    if isinstance(parser, HarmonyParser):
        return _harmony_stop(fmt, parser)
    pending = parser.pending
    if parser.phase is None:  # nothing but whitespace yet, or the start of the opening marker
        return fmt.open[len(pending.lstrip()) :] + fmt.open_text[len(fmt.open) :] + _stop_text(fmt, fmt.open_text)
    if parser.phase is not Phase.REASONING:
        return None
    if pending and fmt.close.startswith(pending):  # it was writing the closing marker: finish it
        return fmt.close[len(pending) :] + fmt.stop_text.partition(fmt.close)[2]
    return _stop_text(fmt, output)


def _harmony_stop(fmt: ReasoningFormat, parser: HarmonyParser) -> str | None:
    if not parser.in_header:
        return fmt.stop_text if parser.phase is Phase.REASONING else None
    header = parser.pending
    if parser.at_output_start:
        header = "<|start|>assistant" + header  # the prompt ends with it
    if _FINAL_HEADER.startswith(header):
        return _FINAL_HEADER[len(header) :]
    if _ANALYSIS_HEADER.startswith(header):  # a new analysis message under way: leave it empty
        return _ANALYSIS_HEADER[len(header) :] + END + _FINAL_HEADER
    return MESSAGE + END + _FINAL_HEADER  # some other header: end it with an empty message


def rebuild_output(fmt: ReasoningFormat, start: Start, reasoning: str | None, answer: str) -> str:
    """The raw output that leads to this stored (reasoning, answer), to continue the answer from:
    what follows the generation prompt. An answer that is still empty leaves the reasoning open."""
    if fmt.kind == "harmony":
        if start is Start.ANSWER:
            return answer
        if start is Start.REASONING:
            return (reasoning or "") + (fmt.stop_text + answer if answer else "")
        if reasoning is None:
            return fmt.answer_text + answer
        return fmt.open_text + reasoning + (fmt.stop_text + answer if answer else "")
    if start is Start.ANSWER or (start is Start.OUTSIDE and reasoning is None):
        return answer
    opened = "" if start is Start.REASONING else fmt.open_text
    body = reasoning or ""
    if not answer:
        return opened + body
    return opened + body + _stop_text(fmt, opened + body) + answer


def history_reasoning(
    messages: Sequence[ChatMessage], policy: Resend, fmt: ReasoningFormat = THINK
) -> list[ChatMessage]:
    """The messages as they go into a later prompt: reasoning never inside an assistant's content
    (an answer stored before reasoning was split, or an interrupted one, may still hold its
    `<think>` block), and kept apart in `reasoning` only where the template sends it back."""
    out: list[ChatMessage] = []
    for m in messages:
        if m.role == "assistant":
            reasoning = m.reasoning
            if reasoning is None:
                inline, content = split_reasoning(m.content, fmt)
                if inline is not None:
                    m = m.replace(content=content)
                    reasoning = inline
            m = m.replace(reasoning=reasoning if policy is Resend.ALWAYS else None)
        out.append(m)
    return out
