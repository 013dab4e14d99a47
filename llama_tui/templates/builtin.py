"""Client-side prompt templates: turn a conversation into the raw text sent to /completion.

Each built-in family reproduces, byte for byte, the official Jinja chat template of its model
family as rendered by Hugging Face with ``add_generation_prompt=True``:

* Meta's and Google's templates trim every message (``| trim``); llama3, llama2 and gemma do too.
  Llama-2 strips the *combined* first user turn (system block + user text), as its template does.
* Llama-2, Mistral and Gemma have no system role: the system text is folded into the next user
  turn (``<<SYS>>`` block for Llama-2, ``{system}\\n\\n`` for Mistral and Gemma).

BOS rule: llama-server adds the model's BOS token itself when it tokenizes a /completion prompt,
so ``render`` leaves the BOS text off the very start unless ``include_bos=True`` (used to compare
with /apply-template output). A BOS that is part of the format later on - the ``<s>`` before
every later ``[INST]`` of Llama-2 - always stays.

``continue_final=True`` renders the last (assistant) message as an unfinished answer: no
end-of-turn marker and no new header after it. Its trailing whitespace is kept even in trimming
formats, because the model continues from exactly that text (as llama-server's own assistant
prefill does).

Roles need not alternate and system messages may appear anywhere; the official templates would
raise on such input, these render it in the obvious way. Empty system messages are rendered like
any other message; callers leave the system message out when there is none.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SERVER_TEMPLATE = "server"  # rendered by llama-server's /apply-template; the client handles it

_ROLES = ("system", "user", "assistant")


class TemplateError(ValueError):
    """A template definition or a conversation a template cannot render."""


class UnknownTemplate(KeyError):
    """No template by that name; the message lists the valid names."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the plain message instead.
        return str(self.args[0]) if self.args else ""


class _HasRoleContent(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


TurnLike = _HasRoleContent | Mapping[str, Any]


@dataclass(frozen=True)
class ChatTurn:
    """The minimal message `render` takes (it also takes domain.ChatMessage or role/content dicts)."""

    role: str  # "system" | "user" | "assistant"
    content: str


def _turns(messages: Iterable[TurnLike]) -> list[ChatTurn]:
    out: list[ChatTurn] = []
    for msg in messages:
        if isinstance(msg, Mapping):
            role, content = msg.get("role"), msg.get("content")
        else:
            role, content = msg.role, msg.content
        if role not in _ROLES:
            raise TemplateError(f"unsupported message role {role!r}; expected one of {', '.join(_ROLES)}")
        if not isinstance(content, str):
            raise TemplateError(f"message content must be text, not {type(content).__name__}")
        out.append(ChatTurn(role, content))
    return out


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

    def render(
        self,
        messages: Iterable[TurnLike],
        *,
        add_generation_prompt: bool = True,
        continue_final: bool = False,
        include_bos: bool = False,
    ) -> str:
        turns = _turns(messages)
        if continue_final and (not turns or turns[-1].role != "assistant"):
            raise TemplateError("continue_final needs an assistant message at the end of the conversation")
        body = self._body(
            turns, add_generation_prompt=add_generation_prompt and not continue_final, continue_final=continue_final
        )
        # Formats whose first turn starts with the BOS (Llama-2's "<s>[INST]") must not double it.
        if self.bos and body.startswith(self.bos):
            body = body[len(self.bos) :]
        return (self.bos if include_bos else "") + body

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
            return prefix + (turn.content.lstrip() if self.trim else turn.content)
        return prefix + self._clean(turn.content) + suffix

    def _clean(self, text: str) -> str:
        return text.strip() if self.trim else text

    def _fold(self, system: str, user: str) -> str:
        """The first user turn's text with the system text folded in (Mistral, Gemma-3)."""
        return self.system_prefix + system + self.system_suffix + self._clean(user)


@dataclass(frozen=True)
class _Llama2Template(PromptTemplate):
    def _fold(self, system: str, user: str) -> str:
        # Llama-2's template strips the whole first turn, system block included.
        combined = self.system_prefix + system + self.system_suffix + user
        return combined.strip() if self.trim else combined


@dataclass(frozen=True)
class _RawTemplate(PromptTemplate):
    def _body(self, turns: list[ChatTurn], *, add_generation_prompt: bool, continue_final: bool) -> str:
        # One newline between messages: plain text completion, the model continues the last one.
        return "\n".join(turn.content for turn in turns)


BUILTIN: dict[str, PromptTemplate] = {
    t.name: t
    for t in (
        PromptTemplate(
            "chatml",
            "ChatML (Qwen, Hermes, many fine-tunes)",
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
            "Llama 3 / 3.1 / 3.2 Instruct",
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
            "Llama 2 Chat ([INST] with <<SYS>> block)",
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
            "Mistral Instruct v0.1/v0.2 ([INST] ... [/INST])",
            bos="<s>",
            stops=("</s>", "[INST]"),
            system_suffix="\n\n",
            user_prefix="[INST] ",
            user_suffix=" [/INST]",
            assistant_suffix="</s>",
            fold_system=True,
        ),
        PromptTemplate(
            "gemma",
            "Gemma / Gemma 2 / Gemma 3 instruction-tuned",
            bos="<bos>",
            stops=("<end_of_turn>", "<start_of_turn>"),
            system_suffix="\n\n",
            user_prefix="<start_of_turn>user\n",
            user_suffix="<end_of_turn>\n",
            assistant_prefix="<start_of_turn>model\n",
            assistant_suffix="<end_of_turn>\n",
            trim=True,
            fold_system=True,
        ),
        PromptTemplate(
            "phi3",
            "Phi-3 / Phi-3.5 Instruct",
            stops=("<|end|>", "<|endoftext|>", "<|user|>"),
            system_prefix="<|system|>\n",
            system_suffix="<|end|>\n",
            user_prefix="<|user|>\n",
            user_suffix="<|end|>\n",
            assistant_prefix="<|assistant|>\n",
            assistant_suffix="<|end|>\n",
        ),
        PromptTemplate(
            "alpaca",
            "Alpaca (### Instruction: / ### Response:)",
            stops=("### Instruction:",),
            system_suffix="\n\n",
            user_prefix="### Instruction:\n",
            user_suffix="\n\n",
            assistant_prefix="### Response:\n",
            assistant_suffix="\n\n",
        ),
        _RawTemplate("raw", "No formatting: the messages' text, one newline apart"),
    )
}


def template_names() -> list[str]:
    """Every selectable template name in display order: the server's own template first."""
    return [SERVER_TEMPLATE, *BUILTIN]


def get_template(name: str, custom: Mapping[str, PromptTemplate] | None = None) -> PromptTemplate:
    """A built-in or user-defined template; user templates from config shadow built-ins."""
    if custom and name in custom:
        return custom[name]
    if name in BUILTIN:
        return BUILTIN[name]
    valid = ", ".join([*BUILTIN, *(n for n in (custom or {}) if n not in BUILTIN)])
    if name == SERVER_TEMPLATE:
        raise UnknownTemplate(
            f"{name!r} is rendered by llama-server (/apply-template), not locally; local templates are: {valid}"
        )
    raise UnknownTemplate(f"unknown prompt template {name!r}; valid names are: {SERVER_TEMPLATE}, {valid}")


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


def custom_template(name: str, spec: Mapping[str, Any]) -> PromptTemplate:
    """A user template from a TOML table of per-role prefixes and suffixes.

    Keys: system_prefix, system_suffix, user_prefix, user_suffix, assistant_prefix,
    assistant_suffix, bos and description (strings, default ""), stops (list of strings).
    """
    where = f"template {name!r}"
    if not isinstance(name, str) or not name.strip():
        raise TemplateError("a template needs a non-empty name")
    if name == SERVER_TEMPLATE:
        raise TemplateError(f"{where}: the name {SERVER_TEMPLATE!r} is reserved for the server's own template")
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
    stops = spec.get("stops", [])
    if not isinstance(stops, list | tuple) or not all(isinstance(s, str) for s in stops):
        raise TemplateError(f"{where}: 'stops' must be a list of strings")
    return PromptTemplate(
        name=name,
        description=text["description"] or f"User template {name!r}",
        bos=text["bos"],
        stops=tuple(s for s in stops if s),
        system_prefix=text["system_prefix"],
        system_suffix=text["system_suffix"],
        user_prefix=text["user_prefix"],
        user_suffix=text["user_suffix"],
        assistant_prefix=text["assistant_prefix"],
        assistant_suffix=text["assistant_suffix"],
    )
