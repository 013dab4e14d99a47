"""Prefix/suffix prompt formats: ChatML, Llama 3 (the original), Llama 2, Mistral v0.1-v0.2, Alpaca,
raw text, and the user templates of the config ([templates.NAME] with per-role prefixes and suffixes).

Each reproduces, byte for byte, its official Jinja chat template as rendered with
``add_generation_prompt=True``:

* Meta's and Google's templates trim every message (``| trim``); llama3 and llama2 do too.
  Llama-2 strips the *combined* first user turn (system block + user text), as its template does.
* Llama-2 and Mistral have no system role: the system text is folded into the next user turn
  (``<<SYS>>`` block for Llama-2, ``{system}\\n\\n`` for Mistral).

``continue_final`` leaves the last (assistant) message open: its role prefix and its text verbatim, no
end-of-turn marker (as llama-server's assistant prefill does). Roles need not alternate and system
messages may appear anywhere; the official templates would raise on such input, these render it in
the obvious way.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import (
    SERVER_TEMPLATE,
    ChatTemplate,
    ChatTurn,
    Continue,
    TemplateError,
    TemplateOption,
    TurnLike,
    resolve_options,
    split_continue,
    strip_bos,
    to_turns,
)
from .family import trim as trim_ascii


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt format made of a prefix and suffix per role.

    `generation_prompt` (default: `assistant_prefix`) is what add_generation_prompt appends.
    `fold_system` folds system text into the next user turn as system_prefix + text + system_suffix.
    """

    name: str
    description: str
    bos: str = ""
    stops: tuple[str, ...] = ()
    system_prefix: str = ""
    system_suffix: str = ""
    user_prefix: str = ""
    user_suffix: str = ""
    assistant_prefix: str = ""
    assistant_suffix: str = ""
    generation_prompt: str | None = None
    trim: bool = False
    fold_system: bool = False

    options: tuple[TemplateOption, ...] = ()  # prefix/suffix formats take none
    reasoning: None = None  # and have no reasoning block

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
        resolve_options(self.options, options, self.name)  # refuses any option
        if continue_final is not False:
            split_continue(turns, continue_final)  # raises unless an answer is last
        body = self._body(
            turns,
            add_generation_prompt=add_generation_prompt and continue_final is False,
            continue_final=continue_final is not False,
        )
        return strip_bos(body, self.bos, include_bos)

    def _body(self, turns: list[ChatTurn], *, add_generation_prompt: bool, continue_final: bool) -> str:
        parts: list[str] = []
        pending: str | None = None  # folded system text waiting for the next user turn
        last = len(turns) - 1
        for i, turn in enumerate(turns):
            if turn.role == "system" and self.fold_system:
                pending = turn.content if pending is None else pending + "\n\n" + turn.content
                continue
            if pending is not None:
                user = turn.content if turn.role == "user" else ""
                parts.append(self.user_prefix + self._fold(pending, user) + self.user_suffix)
                pending = None
                if turn.role == "user":
                    continue
            parts.append(self._turn(turn, partial=continue_final and i == last))
        if pending is not None:  # system text with no user turn after it: give it one of its own
            parts.append(self.user_prefix + self._fold(pending, "") + self.user_suffix)
        if add_generation_prompt:
            parts.append(self.assistant_prefix if self.generation_prompt is None else self.generation_prompt)
        return "".join(parts)

    def _turn(self, turn: ChatTurn, *, partial: bool) -> str:
        prefix, suffix = {
            "system": (self.system_prefix, self.system_suffix),
            "user": (self.user_prefix, self.user_suffix),
            "assistant": (self.assistant_prefix, self.assistant_suffix),
        }[turn.role]
        if partial:
            return prefix + turn.content  # verbatim: the model continues from exactly this text
        return prefix + self._clean(turn.content) + suffix

    def _clean(self, text: str) -> str:
        return trim_ascii(text) if self.trim else text

    def _fold(self, system: str, user: str) -> str:
        """The first user turn's text with the system text folded in (Mistral, Gemma-3)."""
        return self.system_prefix + system + self.system_suffix + self._clean(user)


@dataclass(frozen=True)
class _Llama2Template(PromptTemplate):
    def _fold(self, system: str, user: str) -> str:
        # Llama-2's template strips the whole first turn, system block included.
        combined = self.system_prefix + system + self.system_suffix + user
        return trim_ascii(combined) if self.trim else combined


@dataclass(frozen=True)
class _RawTemplate(PromptTemplate):
    def _body(self, turns: list[ChatTurn], *, add_generation_prompt: bool, continue_final: bool) -> str:
        # One newline between messages: plain text completion, the model continues the last one.
        return "\n".join(turn.content for turn in turns)


CHATML, LLAMA3, LLAMA2, MISTRAL, ALPACA, RAW = (
    PromptTemplate(
        "chatml",
        "ChatML (<|im_start|>role): Qwen2/2.5, Hermes, SmolLM, many fine-tunes",
        stops=("<|im_end|>", "<|im_start|>"),
        system_prefix="<|im_start|>system\n",
        system_suffix="<|im_end|>\n",
        user_prefix="<|im_start|>user\n",
        user_suffix="<|im_end|>\n",
        assistant_prefix="<|im_start|>assistant\n",
        assistant_suffix="<|im_end|>\n",
    ),
    PromptTemplate(
        "llama3",
        "Llama 3 8B/70B Instruct, the April 2024 release (for 3.1-3.3 use llama3.1)",
        bos="<|begin_of_text|>",
        stops=("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>"),
        system_prefix="<|start_header_id|>system<|end_header_id|>\n\n",
        system_suffix="<|eot_id|>",
        user_prefix="<|start_header_id|>user<|end_header_id|>\n\n",
        user_suffix="<|eot_id|>",
        assistant_prefix="<|start_header_id|>assistant<|end_header_id|>\n\n",
        assistant_suffix="<|eot_id|>",
        trim=True,
    ),
    _Llama2Template(
        "llama2",
        "Llama 2 Chat 7B-70B ([INST] with a <<SYS>> block)",
        bos="<s>",
        stops=("</s>", "[INST]"),
        system_prefix="<<SYS>>\n",
        system_suffix="\n<</SYS>>\n\n",
        user_prefix="<s>[INST] ",
        user_suffix=" [/INST]",
        assistant_prefix=" ",
        assistant_suffix=" </s>",
        generation_prompt="",  # the user turn's " [/INST]" already asks for the answer
        trim=True,
        fold_system=True,
    ),
    PromptTemplate(
        "mistral",
        "Mistral 7B Instruct v0.1/v0.2 ([INST] text [/INST]; system prompt folded into the first turn)",
        bos="<s>",
        stops=("</s>", "[INST]"),
        system_suffix="\n\n",
        user_prefix="[INST] ",
        user_suffix=" [/INST]",
        assistant_suffix="</s>",
        fold_system=True,
    ),
    PromptTemplate(
        "alpaca",
        "Alpaca and its fine-tunes (### Instruction: / ### Response:)",
        stops=("### Instruction:",),
        system_suffix="\n\n",
        user_prefix="### Instruction:\n",
        user_suffix="\n\n",
        assistant_prefix="### Response:\n",
        assistant_suffix="\n\n",
    ),
    _RawTemplate("raw", "No formatting: the messages' text, one newline apart"),
)


_CUSTOM_TEXT_KEYS = (
    "system_prefix",
    "system_suffix",
    "user_prefix",
    "user_suffix",
    "assistant_prefix",
    "assistant_suffix",
    "bos",
    "description",
)


_JINJA_KEYS = ("jinja", "description", "bos_token", "eos_token", "stops")


def custom_template(name: str, spec: Mapping[str, Any], base_dir: Path | None = None) -> ChatTemplate:
    """A user template from a TOML table: per-role prefixes and suffixes, or a Jinja chat template file.

    Prefix/suffix keys: system_prefix, system_suffix, user_prefix, user_suffix, assistant_prefix,
    assistant_suffix, bos and description (strings, default ""), stops (list of strings).
    Jinja keys: jinja (the .jinja file; a relative path is taken from `base_dir`, the config's folder),
    bos_token and eos_token (the model's, default ""), description, stops (default: the eos_token).
    """
    where = f"template {name!r}"
    if not isinstance(name, str) or not name.strip():
        raise TemplateError("a template needs a non-empty name")
    if name == SERVER_TEMPLATE:
        raise TemplateError(f"{where}: the name {SERVER_TEMPLATE!r} is reserved for the server's own template")
    if "jinja" in spec:
        return _jinja_template(name, spec, base_dir)
    allowed = (*_CUSTOM_TEXT_KEYS, "stops")
    for key in spec:
        if key not in allowed:
            raise TemplateError(f"{where}: unknown key {key!r}; allowed keys are: {', '.join(allowed)}")
    text: dict[str, str] = {}
    for key in _CUSTOM_TEXT_KEYS:
        value = spec.get(key, "")
        if not isinstance(value, str):
            raise TemplateError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
        text[key] = value
    stops = _stops(spec, where)
    return PromptTemplate(
        name=name,
        description=text["description"] or f"User template {name!r}",
        bos=text["bos"],
        stops=stops,
        system_prefix=text["system_prefix"],
        system_suffix=text["system_suffix"],
        user_prefix=text["user_prefix"],
        user_suffix=text["user_suffix"],
        assistant_prefix=text["assistant_prefix"],
        assistant_suffix=text["assistant_suffix"],
    )


def _stops(spec: Mapping[str, Any], where: str) -> tuple[str, ...]:
    stops = spec.get("stops", [])
    if not isinstance(stops, list | tuple) or not all(isinstance(s, str) for s in stops):
        raise TemplateError(f"{where}: 'stops' must be a list of strings")
    return tuple(s for s in stops if s)


def _jinja_template(name: str, spec: Mapping[str, Any], base_dir: Path | None) -> ChatTemplate:
    from .jinja import JinjaTemplate, load_jinja_file  # jinja2 is imported only when a config uses it

    where = f"template {name!r}"
    for key in spec:
        if key not in _JINJA_KEYS:
            raise TemplateError(f"{where}: {key!r} cannot go with 'jinja'; allowed keys are: {', '.join(_JINJA_KEYS)}")
    text: dict[str, str] = {}
    for key in ("jinja", "description", "bos_token", "eos_token"):
        value = spec.get(key, "")
        if not isinstance(value, str):
            raise TemplateError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
        text[key] = value
    if not text["jinja"].strip():
        raise TemplateError(f"{where}: 'jinja' must name a .jinja file")
    path = Path(text["jinja"]).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return JinjaTemplate(
            name,
            load_jinja_file(path),
            bos_token=text["bos_token"],
            eos_token=text["eos_token"],
            description=text["description"] or f"User Jinja template {name!r} ({path})",
            stops=_stops(spec, where) if "stops" in spec else None,
        )
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from None
