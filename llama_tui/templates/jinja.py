"""The model's own chat template (the /props ``chat_template``, or a user's .jinja file), rendered in the
client with jinja2's sandbox, the way llama-server renders it (checked against the server on all the
official templates, tests/integration/templates/test_jinja.py).

Like Hugging Face's ``apply_chat_template``: an ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, ``raise_exception``, ``strftime_now``, ``tojson`` and the loop-control extension; the
template sees ``messages``, ``bos_token``, ``eos_token`` and ``add_generation_prompt``. Like llama-server
(common/chat.cpp), where the two differ: ``trim`` strips ASCII whitespace only; ``add_generation_prompt``
is left undefined when false; ``enable_thinking`` is always set (true when the template reacts to it);
``date_string`` and ``datetime`` hold today's date; a message's ``reasoning_content`` is there only when
not empty; a template without a system role gets the system message joined to the next one with a
newline; ``from_json`` is a filter. Continuing an answer follows llama-server's prefill (family.py), with
the reasoning markers found by rendering a probe conversation.

The sandbox refuses unsafe attribute access; a template that loops forever is not stopped (a template
comes from the model file or the user's own config, not from the conversation).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .base import (
    ChatTurn,
    Continue,
    ReasoningMarkers,
    TemplateError,
    TemplateOption,
    TurnLike,
    format_day_month_year,
    resolve_options,
    split_continue,
    strip_bos,
    to_turns,
)
from .family import ASCII_SPACE, THINKING, trim

MAX_TEMPLATE_BYTES = 1_000_000  # the largest official template is 17 kB

_R_PROBE, _C_PROBE, _Q_PROBE = "R3as0ning-pr0be", "C0ntent-pr0be", "Qu3stion-pr0be"


def _raise(message: object) -> None:
    raise TemplateError(f"the template refused the conversation: {message}")


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, **kwargs: Any) -> str:
    # Hugging Face's tojson: no HTML escaping (jinja2's own escapes <, >, & and ').
    return json.dumps(
        value,
        ensure_ascii=ensure_ascii,
        indent=indent,
        separators=kwargs.get("separators"),
        sort_keys=bool(kwargs.get("sort_keys")),
    )


class _GenerationTag(Extension):
    """``{% generation %}...{% endgeneration %}`` (Hugging Face marks the assistant's tokens with it for
    training masks): renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with ``text.strip()``/``lstrip()``/``rstrip()`` stripping ASCII whitespace only, as in
    llama-server's Jinja (Python's str methods would strip a no-break space too)."""

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if type(owner) is str and not args and not kwargs and getattr(__obj, "__name__", "") in _STRIPS:
            return getattr(owner, __obj.__name__)(ASCII_SPACE)
        return super().call(__context, __obj, *args, **kwargs)


_STRIPS = ("strip", "lstrip", "rstrip")
_TRIMS_CONTENT = "You have access to the following functions in JSONSchema format"


def _environment() -> ImmutableSandboxedEnvironment:
    env = _Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols", _GenerationTag])
    env.filters["tojson"] = _tojson
    env.filters["trim"] = lambda value, chars=None: str(value).strip(chars) if chars else trim(str(value))
    env.filters["from_json"] = json.loads
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    return env


_ENV = _environment()


def compile_template(source: str, where: str = "template") -> jinja2.Template:
    """Parse a chat template; TemplateError names the line of a syntax error."""
    # llama-server patches gpt-oss's check that refuses channel tags in content (common/chat.cpp).
    source = source.replace(
        '{%- if "<|channel|>analysis<|message|>" in message.content or '
        '"<|channel|>final<|message|>" in message.content %}',
        "{%- if false %}",
    )
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}") from None


def load_jinja_file(path: str | Path) -> str:
    """A user's .jinja file as text; TemplateError says why it cannot be used."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"cannot read the template file {str(path)!r}: {exc.strerror or exc}") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"the template file {str(path)!r} is over {MAX_TEMPLATE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"the template file {str(path)!r} is not UTF-8 text") from None


class JinjaTemplate:
    """A Jinja chat template rendered locally (implements `ChatTemplate`).

    ``bos_token``/``eos_token`` are the model's (the /props values); ``bos`` is the BOS text render()
    leaves off the start when the template writes it, as llama-server does for a model that adds BOS."""

    def __init__(
        self,
        name: str,
        source: str,
        *,
        bos_token: str = "",
        eos_token: str = "",
        description: str = "",
        stops: tuple[str, ...] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.description = description or f"The model's own Jinja template ({name})"
        self.bos = bos_token
        self.eos_token = eos_token
        self.stops = tuple(stops) if stops is not None else ((eos_token,) if eos_token else ())
        self._template = compile_template(source, f"template {name!r}")
        self.supports_system = True  # until the probe says otherwise
        self.supports_system = self._probe_system()
        try:
            question = [ChatTurn("user", _Q_PROBE)]
            switches = self._generation_prompt(question, True) != self._generation_prompt(question, False)
        except TemplateError:
            switches = False
        self.reasoning = self._probe_reasoning() or _known_markers(source)
        self.supports_thinking = switches or self.reasoning is not None
        default = THINKING if self.supports_thinking else None
        self.options: tuple[TemplateOption, ...] = (default,) if default else ()

    # -- the ChatTemplate interface ------------------------------------------------------------------

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
        thinking = bool(opts.get("enable_thinking", False))
        if continue_final is False:
            text = self._render(turns, add_generation_prompt, thinking)
        else:
            history, last, open_reasoning = split_continue(turns, continue_final)
            text = self._continue(history, last, open_reasoning, thinking)
        # include_bos: the template's text as it is (with the BOS text only if the template writes it).
        return text if include_bos else strip_bos(text, self.bos, False)

    # -- rendering ------------------------------------------------------------------------------------

    def _render(self, turns: list[ChatTurn], gen: bool, thinking: bool, kwargs: Mapping[str, Any] = {}) -> str:
        if not self.supports_system and turns and turns[0].role == "system":
            turns = _join_system(turns)
        if _TRIMS_CONTENT in self.source:  # llama-server trims StepFun's messages (whitespace sends it looping)
            turns = [ChatTurn(t.role, trim(t.content), trim(t.reasoning)) for t in turns]
        today = datetime.date.today()
        context: dict[str, Any] = {
            "messages": [_message(t) for t in turns],
            "bos_token": self.bos,
            "eos_token": self.eos_token,
            "enable_thinking": thinking,
            "datetime": today.strftime("%b %d %Y"),
            "date_string": format_day_month_year(today),
            **kwargs,
        }
        if gen:
            context["add_generation_prompt"] = True
        try:
            return self._template.render(context)
        except TemplateError:
            raise
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {self.name!r} failed: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
            raise TemplateError(f"template {self.name!r} failed: {type(exc).__name__}: {exc}") from None

    def _generation_prompt(self, history: list[ChatTurn], thinking: bool) -> str:
        without = self._render(history, False, thinking)
        full = self._render(history, True, thinking)
        n = 0
        while n < min(len(without), len(full)) and without[n] == full[n]:
            n += 1
        return full[n:]

    def _continue(self, history: list[ChatTurn], last: ChatTurn, open_reasoning: bool, thinking: bool) -> str:
        base = self._render(history, False, thinking)
        full = self._render(history, True, thinking)
        n = 0
        while n < min(len(base), len(full)) and base[n] == full[n]:
            n += 1
        prefix, prompt = (base, full[n:]) if n == len(base) else (full[:n], full[n:])
        if self.reasoning is None:
            return prefix + prompt + last.content
        cut = prompt.find(self.reasoning.start)
        if cut >= 0:
            prompt = prompt[:cut]
        prompt += self.reasoning.start + last.reasoning
        if not open_reasoning:
            prompt += self.reasoning.end + last.content
        return prefix + prompt

    # -- probes (what llama-server learns from the template by rendering examples) ---------------------

    def _probe_system(self) -> bool:
        turns = [ChatTurn("system", "Sy5tem-pr0be"), ChatTurn("user", _Q_PROBE)]
        try:
            return "Sy5tem-pr0be" in self._render(turns, False, False)
        except TemplateError:
            return False

    def _probe_reasoning(self) -> ReasoningMarkers | None:
        """The reasoning block's markers: where the template writes an answer's reasoning_content."""
        question = ChatTurn("user", _Q_PROBE)
        try:
            earlier = self._render([question, ChatTurn("assistant", _C_PROBE), question], False, True)
            probe = self._render([question, ChatTurn("assistant", _C_PROBE, _R_PROBE)], False, True)
            before = self._render([question], False, True)
        except TemplateError:
            return None
        if not probe.startswith(before) or _R_PROBE not in probe or _C_PROBE not in earlier:
            return None
        answer = probe[len(before) :]
        i_r, i_c = answer.find(_R_PROBE), answer.find(_C_PROBE)
        if i_c < i_r:
            return None
        end = answer[i_r + len(_R_PROBE) : i_c]
        # The start marker follows the header that an earlier answer (without reasoning) has too...
        header = earlier[len(before) : earlier.find(_C_PROBE)] if earlier.startswith(before) else ""
        n = 0
        while n < min(len(header), i_r) and header[n] == answer[n]:
            n += 1
        if n < i_r and answer[n] != "<" and answer.rfind("<", 0, n) >= 0:
            n = answer.rfind("<", 0, n)  # start at a tag ("<think>" vs "</think>", "<|channel|>analysis")
        start = answer[n:i_r]
        if not start:  # ...unless an earlier answer has an empty block too: the last tag before the reasoning
            start = answer[max(answer.rfind("<", 0, i_r), 0) : i_r]
        return ReasoningMarkers(start, end) if start and end else None


def _message(turn: ChatTurn) -> dict[str, str]:
    message = {"role": turn.role, "content": turn.content}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
        message["thinking"] = turn.reasoning  # gpt-oss's templates read it as "thinking"
    return message


# Reasoning markers of templates that do not render reasoning_content (llama-server knows them from its
# own handlers): the first whose opening tag the template's text contains.
_KNOWN_MARKERS = (
    ReasoningMarkers("<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>"),
    ReasoningMarkers("<|channel>thought\n", "<channel|>"),
    ReasoningMarkers("<think>", "</think>"),
)


def _known_markers(source: str) -> ReasoningMarkers | None:
    return next((m for m in _KNOWN_MARKERS if m.start.strip() in source), None)


def _join_system(turns: list[ChatTurn]) -> list[ChatTurn]:
    """llama-server's workaround for templates without a system role: the leading system message is
    joined to the next message with a newline, or dropped when it is alone."""
    if len(turns) > 1:
        first, second = turns[0], turns[1]
        return [ChatTurn(second.role, first.content + "\n" + second.content, second.reasoning), *turns[2:]]
    return []
