"""The one place a /completion request is built: prompt, stop strings, sampling parameters, slot
and model. "What exactly do we send?" has one answer: `CompletionRequest` (the generation sends
its body, the prompt preview shows its prompt).

- The prompt: the session's system prompt and active path (`build_history`), rendered by the
  session's template with the session's template options: a built-in or user template locally,
  or the model's own through llama-server's /apply-template (`render_prompt`). The rendered
  prompt's tail says how the model writes its reasoning and whether the output starts inside it
  (`reasoning.format_for` / `start_for`); that travels with the request.
- The parameters: BASE_PARAMS, then the session's sampling settings, then the template's stop
  strings after the user's own (no duplicates), the slot (`choose_slot`) and, in router mode, the
  model; at build time, the reasoning markers as `preserved_tokens` (llama-server sends control
  tokens as empty text otherwise) and, with a reasoning budget, its markers (`budget_fields`).
  The knobs' wire format (schema object, [text, bias] pairs, adapter scales) is knobs.wire_params.
  Nothing else adds to a request body.
- Compare targets (`for_target`, `RequestBuilder.on`): the session as one target asks (another
  template, router model or sampling settings), rendered through that target's server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..client import LlamaCppClient, LlamaError, Slot
from ..domain import ChatMessage, SamplingSettings, Session
from ..reasoning import (
    THINK,
    ReasoningFormat,
    Start,
    format_for,
    history_reasoning,
    rebuild_output,
    resend_policy,
    start_for,
)
from ..templates import (
    SERVER_TEMPLATE,
    TemplateError,
    TemplateOption,
    UnknownTemplate,
    canonical_name,
    get_template,
)
from ..templates.model import SERVER_OPTIONS
from .connection import ServerConnection

# Always on: the prompt-progress bar needs return_progress; cache_prompt keeps the KV cache warm.
BASE_PARAMS: Mapping[str, Any] = {"return_progress": True, "cache_prompt": True}

Prompt = str | tuple[int | str, ...]  # raw text, or text and token ids (regenerate from a token)


class TemplateServer(Protocol):
    """What rendering needs of the server for the model's own template (LlamaCppClient has it)."""

    async def apply_template(
        self, messages: Sequence[Mapping[str, Any]], *, template_kwargs: Mapping[str, Any] | None = None
    ) -> str: ...
    async def bos_token(self) -> str: ...


@dataclass(frozen=True)
class RenderedPrompt:
    """A conversation rendered by a template, and the stop strings that template needs."""

    text: str
    stops: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletionRequest:
    """Everything a /completion request carries except `stream` (the client adds it)."""

    prompt: Prompt
    params: Mapping[str, Any] = field(default_factory=dict)
    reasoning: ReasoningFormat = THINK  # how the output writes its reasoning
    start: Start = Start.OUTSIDE  # whether the output starts inside the reasoning (the prompt opened it)

    def body(self) -> dict[str, Any]:
        prompt = self.prompt if isinstance(self.prompt, str) else list(self.prompt)
        return {**self.params, "prompt": prompt}

    @property
    def prompt_text(self) -> str:
        """The prompt as text (token ids shown as <id>), for the preview."""
        if isinstance(self.prompt, str):
            return self.prompt
        return "".join(p if isinstance(p, str) else f"<{p}>" for p in self.prompt)


def template_family(session: Session) -> str | None:
    """The template family the session's reasoning format is looked up by (None: the model's
    own template, whose format is read from the rendered prompt)."""
    return None if session.template == SERVER_TEMPLATE else canonical_name(session.template)


def for_target(
    session: Session,
    *,
    template: str | None = None,
    model: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Session:
    """The session as a compare target asks: its template, router model and sampling settings
    over the session's own (same system prompt, template options and messages). Not stored."""
    merged = session.settings.copy()
    for name, value in (settings or {}).items():
        merged.set(name, value)
    return dataclasses.replace(
        session, template=template or session.template, model=model or session.model, settings=merged
    )


def build_history(session: Session, path: Sequence[ChatMessage]) -> list[ChatMessage]:
    """What the template renders: the session's system prompt, then the active path. Reasoning
    stays out of an answer's text; it goes back (as `reasoning`) only where the template keeps it."""
    history: list[ChatMessage] = []
    if session.system_prompt.strip():
        history.append(ChatMessage(role="system", content=session.system_prompt))
    family = template_family(session)
    turns = [m for m in path if m.role in ("user", "assistant", "system")]
    history.extend(history_reasoning(turns, resend_policy(family), format_for(family)))
    return history


def merge_stops(user: Iterable[str], template: Iterable[str]) -> list[str]:
    """The user's stop strings first, then the template's, each once."""
    merged: list[str] = []
    for stop in (*user, *template):
        if stop and stop not in merged:
            merged.append(stop)
    return merged


def choose_slot(session_id: int, total_slots: int, busy: frozenset[int] | None = None) -> int | None:
    """The slot a session's requests go to. One slot per session keeps each session's KV cache
    warm across switches; but when that slot is busy (another session's answer) while others are
    idle, the request goes to whichever slot the server picks (None: it prefers the idle slot
    whose cache matches the prompt best) instead of queueing behind it."""
    if total_slots <= 1:
        return None
    preferred = session_id % total_slots
    if busy and preferred in busy and len(busy) < total_slots:
        return None
    return preferred


def _turn(message: ChatMessage) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning:  # only set where the template keeps reasoning (build_history)
        turn["reasoning_content"] = message.reasoning
    return turn


def queue_note(id_slot: int | None, slots: Sequence[Slot]) -> str | None:
    """What to say while an answer that has not started yet waits: the slot it asked for (or,
    asking for none, every slot) is busy with another request, e.g. "waiting for a free slot
    (1/1 busy)". None when nothing says it is queued."""
    if not slots:
        return None
    busy = sum(slot.is_processing for slot in slots)
    if id_slot is not None:
        queued = any(slot.id == id_slot and slot.is_processing for slot in slots)
    else:
        queued = busy == len(slots)
    return f"waiting for a free slot ({busy}/{len(slots)} busy)" if queued else None


def server_template_stops(prompt: str) -> tuple[str, ...]:
    """Stop strings for a prompt rendered by the server's template: ChatML's when it is ChatML.
    A model with a real ChatML template ends its turn with <|im_end|> anyway; one without a
    template (the server falls back to ChatML) may not know the format and would write turn
    after turn until n_predict or a full context."""
    if "<|im_start|>assistant" in prompt:
        return tuple(get_template("chatml").stops)
    return ()


def template_stops(template: str, custom_templates: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The stop strings a template needs (none for the model's own: the server knows its EOS)."""
    if template == SERVER_TEMPLATE:
        return ()
    try:
        return tuple(get_template(template, custom_templates).stops)
    except UnknownTemplate:
        return ()  # rendering the prompt says what is wrong, in the answer


def completion_params(
    settings: SamplingSettings,
    *,
    template_stops: Iterable[str] = (),
    slot: int | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The /completion parameters of a request (all but the prompt)."""
    params: dict[str, Any] = {**BASE_PARAMS, **settings.to_params()}
    stops = merge_stops(params.get("stop", []), template_stops)
    if stops:
        params["stop"] = stops
    if slot is not None:
        params["id_slot"] = slot
    if model:
        params["model"] = model
    return params


async def render_prompt(
    server: TemplateServer,
    messages: Sequence[ChatMessage],
    template: str,
    *,
    custom_templates: Mapping[str, Any] | None = None,
    continue_final: bool = False,
    options: Mapping[str, Any] | None = None,
) -> RenderedPrompt:
    """The exact prompt text for `messages`, and the stop strings of its template. With
    continue_final the last message is an unfinished answer the model continues. `options` are
    the template's own (e.g. enable_thinking), as Jinja templates take them."""
    if template == SERVER_TEMPLATE:
        turns = [_turn(m) for m in messages]
        # Only what the settings pane offers for the model's own template (options a session kept from
        # a built-in template, such as its date, are not the model's template's kwargs), when valid.
        kwargs = chosen_options(SERVER_OPTIONS, options)
        if continue_final and turns and turns[-1]["role"] == "assistant":
            # The server's template cannot leave a turn open: render the history, then append
            # the partial answer after the generation prompt.
            partial = str(turns.pop()["content"])
            prompt = await server.apply_template(turns, template_kwargs=kwargs) + partial
        else:
            prompt = await server.apply_template(turns, template_kwargs=kwargs)
        # llama-server adds BOS itself when it tokenizes a prompt; drop the template's copy.
        bos = await server.bos_token()
        if bos and prompt.startswith(bos):
            prompt = prompt[len(bos) :]
        return RenderedPrompt(prompt, server_template_stops(prompt))
    tpl = get_template(template, custom_templates)
    # A session keeps the options it was given; only those this template has are used, and only valid
    # values (a bad one, e.g. from an imported file, leaves the default, as the settings pane shows).
    chosen = chosen_options(tpl.options, options)
    return RenderedPrompt(tpl.render(messages, continue_final=continue_final, options=chosen), tuple(tpl.stops))


def budget_fields(params: Mapping[str, Any], fmt: ReasoningFormat, start: Start) -> dict[str, Any]:
    """With `reasoning_budget_tokens` set, what llama-server's reasoning budget needs on a raw
    /completion (the chat endpoints fill these in from the template): the markers that open and
    close the reasoning, the text forced before the closing marker, and, when the prompt itself
    opened the reasoning, that opening as `generation_prompt` so counting starts at the first
    token. Not with a JSON schema: the server feeds `generation_prompt` to the schema's grammar,
    which refuses it."""
    budget = params.get("reasoning_budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        return {}
    fields: dict[str, Any] = {
        "reasoning_budget_start_tag": fmt.open,
        "reasoning_budget_end_tags": [fmt.close],
        "reasoning_budget_message": fmt.stop_text.partition(fmt.close)[0],
    }
    if start is Start.REASONING and params.get("json_schema") is None:
        fields["generation_prompt"] = fmt.open_text
    return fields


def chosen_options(declared: Iterable[TemplateOption], options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The session's values of the `declared` options that are valid (the rest leave the default)."""
    chosen: dict[str, Any] = {}
    for option in declared:
        value = (options or {}).get(option.name)
        try:
            if value is not None:
                chosen[option.name] = option.check(value)
        except TemplateError:
            continue
    return chosen


class PromptError(LlamaError):
    """The prompt could not be rendered (e.g. a template that cannot render this conversation)."""


class RequestBuilder:
    """Builds every request of the app: `params` right away (they are stored with the answer),
    the prompt when the answer starts (the model's own template needs the server)."""

    def __init__(self, connection: ServerConnection, custom_templates: Mapping[str, Any] | None = None) -> None:
        self.connection = connection
        self.custom_templates = dict(custom_templates or {})

    def on(self, client: LlamaCppClient) -> RequestBuilder:
        """The same builder rendering through another client: a compare target's server (or
        router model), whose own template is the one `server` means. The app's connection stays."""
        return RequestBuilder(ServerConnection(client), self.custom_templates)

    def params(
        self,
        session: Session,
        *,
        total_slots: int = 1,
        busy_slots: frozenset[int] | None = None,
        router_mode: bool = False,
    ) -> dict[str, Any]:
        """The parameters of the session's next request (all but the prompt). In router mode
        the request names the session's model."""
        assert session.id is not None
        return completion_params(
            session.settings,
            template_stops=template_stops(session.template, self.custom_templates),
            slot=choose_slot(session.id, total_slots, busy_slots),
            model=session.model if router_mode else None,
        )

    async def prompt(
        self, session: Session, path: Sequence[ChatMessage], *, continue_final: bool = False
    ) -> RenderedPrompt:
        """The session's prompt for `path` (its system prompt first)."""
        try:
            return await render_prompt(
                self.connection.client,
                build_history(session, path),
                session.template,
                custom_templates=self.custom_templates,
                continue_final=continue_final,
                options=session.template_options,
            )
        except (TemplateError, UnknownTemplate) as e:
            raise PromptError(f"template {session.template!r}: {e}") from None

    async def build(
        self,
        session: Session,
        path: Sequence[ChatMessage],
        params: Mapping[str, Any],
        *,
        continue_final: bool = False,
        suffix: Sequence[int | str] = (),
    ) -> CompletionRequest:
        """The whole request: the prompt of `path`, then `suffix` (text or token ids) after it.
        With continue_final the last message of `path` is an unfinished answer the model goes on
        with; its reasoning is put back where the model wrote it (`rebuild_output`)."""
        family = template_family(session)
        partial = path[-1] if continue_final and path else None
        if partial is not None and (partial.reasoning or session.template == SERVER_TEMPLATE):
            # Render up to the generation prompt, then the output that led to the stored answer:
            # for a model whose prompt opens its reasoning, the answer must come after it closes.
            rendered = await self.prompt(session, path[:-1])
            fmt = format_for(family, rendered.text)
            opened = start_for(fmt, rendered.text)
            text = rendered.text + rebuild_output(fmt, opened, partial.reasoning, partial.content)
            start = Start.ANSWER if partial.content else (Start.REASONING if partial.reasoning else opened)
        else:
            rendered = await self.prompt(session, path, continue_final=continue_final)
            text = rendered.text
            fmt = format_for(family, text)
            start = Start.ANSWER if partial is not None else start_for(fmt, text)
        prompt: list[int | str] = [text]
        for part in suffix:
            if isinstance(part, str) and isinstance(prompt[-1], str):
                prompt[-1] += part
            else:
                prompt.append(part)
        body = dict(params)
        if rendered.stops:  # the model's own template: its stops are known only now
            body["stop"] = merge_stops(body.get("stop", []), rendered.stops)
        body.setdefault("preserved_tokens", list(fmt.preserved_tokens))
        body.update(budget_fields(body, fmt, start))
        first = prompt[0]
        if len(prompt) == 1 and isinstance(first, str):
            return CompletionRequest(first, body, fmt, start)
        return CompletionRequest(tuple(prompt), body, fmt, start)
