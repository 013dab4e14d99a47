"""Reasoning ("thinking") in model output: the formats models write it in, splitting it from the
answer (streamed or whole), counting its tokens and time apart, ending it early, and which of it
goes back into later prompts. Stored apart from the answer (`ChatMessage.reasoning`) so it can be
shown collapsed. Pure code, no Textual.
"""

from .control import history_reasoning, rebuild_output, stop_thinking
from .formats import (
    FAMILIES,
    FORMATS,
    GEMMA4,
    GRANITE,
    HARMONY,
    MISTRAL,
    THINK,
    ReasoningFormat,
    Resend,
    Start,
    format_for,
    resend_policy,
    start_for,
)
from .scan import Phase
from .splitter import ReasoningSplitter, split_reasoning
from .tally import PhaseCount, ReasoningStream, ReasoningTally

__all__ = [
    "FAMILIES",
    "FORMATS",
    "GEMMA4",
    "GRANITE",
    "HARMONY",
    "MISTRAL",
    "THINK",
    "Phase",
    "PhaseCount",
    "ReasoningFormat",
    "ReasoningSplitter",
    "ReasoningStream",
    "ReasoningTally",
    "Resend",
    "Start",
    "format_for",
    "history_reasoning",
    "rebuild_output",
    "resend_policy",
    "split_reasoning",
    "start_for",
    "stop_thinking",
]
