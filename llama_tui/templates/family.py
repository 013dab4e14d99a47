"""`Family`: a built-in prompt format written as a small pure function that mirrors its official Jinja
template (families_plain.py, families_reasoning.py), plus the rules every family shares: options, BOS,
and continuing an answer the way llama-server's assistant prefill does.

llama-server continues an answer (common/chat.cpp, ``continue_final_message``) by rendering the
conversation before it without a generation prompt, then appending the generation prompt (the text the
template adds for ``add_generation_prompt``, found by comparing the two renderings) and the answer's
text. When the template has a reasoning block, the generation prompt is cut where the block would open
and the block is written again: ``start + reasoning + end + content`` (closed), or ``start + reasoning``
(left open, to go on thinking). `Family.render` does exactly that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .base import (
    ChatTurn,
    Continue,
    OptionValue,
    ReasoningMarkers,
    TemplateOption,
    TurnLike,
    resolve_options,
    split_continue,
    strip_bos,
    to_turns,
)

Options = Mapping[str, OptionValue | None]

# (turns, options, add_generation_prompt) -> the official rendering, BOS text included.
RenderBody = Callable[[list[ChatTurn], Options, bool], str]

ASCII_SPACE = " \t\n\r\x0b\x0c"  # what llama-server's Jinja `trim` strips (C isspace), unlike str.strip()


def trim(text: str) -> str:
    """Jinja's ``| trim`` as llama-server runs it: ASCII whitespace only (a no-break space stays)."""
    return text.strip(ASCII_SPACE)


@dataclass(frozen=True)
class Family:
    """A built-in prompt format (implements `ChatTemplate`)."""

    name: str
    description: str
    body: RenderBody
    bos: str = ""
    stops: tuple[str, ...] = ()
    options: tuple[TemplateOption, ...] = ()
    reasoning: ReasoningMarkers | None = None

    def render(
        self,
        messages: Iterable[TurnLike],
        *,
        add_generation_prompt: bool = True,
        continue_final: Continue = False,
        include_bos: bool = False,
        options: Mapping[str, object] | None = None,
    ) -> str:
        turns = to_turns(messages)
        opts = resolve_options(self.options, options, self.name)
        if continue_final is False:
            text = self.body(turns, opts, add_generation_prompt)
        else:
            history, last, open_reasoning = split_continue(turns, continue_final)
            text = self._continue(history, last, open_reasoning, opts)
        return strip_bos(text, self.bos, include_bos)

    def generation_prompt(self, messages: Iterable[TurnLike], options: Mapping[str, object] | None = None) -> str:
        """What add_generation_prompt adds after `messages` (e.g. "<|im_start|>assistant\\n<think>\\n")."""
        turns = to_turns(messages)
        opts = resolve_options(self.options, options, self.name)
        full = self.body(turns, opts, True)
        return full[_common_prefix(self.body(turns, opts, False), full) :]

    def _continue(self, history: list[ChatTurn], last: ChatTurn, open_reasoning: bool, opts: Options) -> str:
        base = self.body(history, opts, False)
        full = self.body(history, opts, True)
        n = _common_prefix(base, full)
        # llama-server appends full[n:] to base. When base does not end where the generation prompt
        # starts (Phi-3.5 ends a finished conversation with its EOS text), that glues "<|endoftext|>" to a
        # broken header; continue from the rendering with the generation prompt instead.
        prefix, prompt = (base, full[n:]) if n == len(base) else (full[:n], full[n:])
        if self.reasoning is None:
            return prefix + prompt + last.content
        start, end = self.reasoning.start, self.reasoning.end
        cut = prompt.find(start)
        if cut >= 0:
            prompt = prompt[:cut]
        prompt += start + last.reasoning
        if not open_reasoning:
            prompt += end + last.content
        return prefix + prompt


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix: llama-server finds the generation prompt as what follows it."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def system_and_rest(turns: list[ChatTurn]) -> tuple[ChatTurn | None, list[ChatTurn]]:
    """The leading system message (if any) and the messages after it."""
    if turns and turns[0].role == "system":
        return turns[0], turns[1:]
    return None, turns


def last_index(turns: list[ChatTurn], role: str) -> int:
    """Index of the last message with that role, -1 if none."""
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == role:
            return i
    return -1


def split_think(content: str) -> tuple[str, str]:
    """(reasoning, answer) of an answer that carries its reasoning inline ("<think>r</think>a"), as the
    Qwen and GLM templates split it; ("", content) when there is no "</think>"."""
    if "</think>" not in content:
        return "", content
    reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return reasoning, content.split("</think>")[-1].lstrip("\n")


THINKING = TemplateOption(
    "enable_thinking",
    "bool",
    True,
    "Let the model reason before it answers (llama-server's default: on for templates that support it)",
)
TODAY = TemplateOption(
    "today",
    "date",
    None,
    "The date the template writes into the prompt, YYYY-MM-DD (default: today, as llama-server does)",
)
