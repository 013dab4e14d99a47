"""`llama-tui ask --compare SPEC`: one prompt answered by 2-4 targets at once, for scripts. No Textual.

The spec is the compare screen's (chat/compare.py): `--compare temperature=0.2,0.8`,
`--compare model=a,b`, `--compare template=server,chatml`, `--compare server=NAME,NAME`;
repeating the flag (or spaces in one) makes every combination. Every target gets the same seed
unless --seed or the spec sets one. The targets run in parallel where their server has idle
slots, else one after another, as in the TUI.

stdout: each answer under a "── N · target ──" line, then the summary table (tokens, tok/s,
time to first token, prompt tokens, cached, stop); `--json` prints one object instead. Model and
server text is neutralised. Exit 0 when every target answered, 3 when every failure was an
unreachable server, 4 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

from ..chat.compare import CompareTarget, SlotScheduler, SpecError, parse_spec, shared_seed
from ..chat.connection import ServerConnection, TargetClients
from ..chat.request import RequestBuilder, completion_params, for_target, template_stops
from ..client import (
    ConnectTimeout,
    FinalEvent,
    LlamaCppClient,
    LlamaError,
    ProtocolError,
    RetryEvent,
    ServerUnreachable,
    TokenEvent,
)
from ..compare_figures import summary_row, text_table
from ..config import Config
from ..domain import ChatMessage, SamplingSettings, Session
from ..sanitize import json_for_terminal, neutralize

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_API = 0, 2, 3, 4


@dataclass
class Answer:
    """One target's answer, as a ChatMessage (text, figures, how it ended) and the error, if any."""

    target: CompareTarget
    message: ChatMessage
    error: LlamaError | None = None


def _say(message: str) -> None:
    print(f"llama-tui ask: {neutralize(message)}", file=sys.stderr)


def read_targets(args: argparse.Namespace, config: Config, custom: Any) -> list[CompareTarget] | None:
    """The targets of the --compare flags, or None after saying on stderr what is wrong."""
    if getattr(args, "raw", False):
        _say("--raw and --compare do not go together (use --json for exact text)")
        return None
    if getattr(args, "demo", False) or getattr(args, "health", False):
        _say("--compare answers a prompt: not with --demo or --health")
        return None
    from ..templates import SERVER_TEMPLATE, template_names

    try:
        return parse_spec(args.compare, templates={SERVER_TEMPLATE, *template_names(), *custom}, servers=config.servers)
    except SpecError as e:
        _say(f"--compare: {e}")
        return None


async def run_compare(
    args: argparse.Namespace,
    url: str,
    key: str | None,
    config: Config,
    prompt: str,
    template: str,
    custom: Any,
    targets: list[CompareTarget],
) -> int:
    """Answer with every target, print the answers and the table (or JSON); the exit code."""
    settings = SamplingSettings.from_dict(
        {"n_predict": args.n_predict, "temperature": args.temperature, "seed": args.seed}
    )
    targets, seed = shared_seed(targets, settings.values)
    client = LlamaCppClient(url, key, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout)
    session = Session(template=template, system_prompt=args.system or "", settings=settings)
    answers = await _compare(client, config, custom, session, prompt, targets)
    if args.json:
        print(json_for_terminal(json.dumps(_json(answers, seed), ensure_ascii=False)))
    else:
        for index, answer in enumerate(answers):
            print(neutralize(f"── {index + 1} · {answer.target.label} ──"))
            print(neutralize(answer.message.content))
            print()
        rows = [summary_row(i + 1, a.target.label, a.message) for i, a in enumerate(answers)]
        print(neutralize(text_table(rows)))
        if seed is not None:
            print(f"seed {seed} for all targets")
    for index, answer in enumerate(answers):
        if answer.error is not None:
            _say(f"target {index + 1} ({answer.target.label}): {answer.error.message}")
    failed = [a.error for a in answers if a.error is not None]
    if not failed:
        return EXIT_OK
    unreachable = all(isinstance(e, (ServerUnreachable, ConnectTimeout)) for e in failed)
    return EXIT_UNREACHABLE if unreachable else EXIT_API


async def _compare(
    client: LlamaCppClient,
    config: Config,
    custom: Any,
    session: Session,
    prompt: str,
    targets: list[CompareTarget],
) -> list[Answer]:
    connection = ServerConnection(client)
    clients = TargetClients(connection, config)
    builder = RequestBuilder(connection, custom)
    scheduler = SlotScheduler(clients)
    path = [ChatMessage(role="user", content=prompt)]
    try:
        runs = (_answer(t, clients, builder, scheduler, session, path, custom) for t in targets)
        return list(await asyncio.gather(*runs))
    finally:
        scheduler.close()
        await clients.close()
        await client.close()


async def _answer(
    target: CompareTarget,
    clients: TargetClients,
    builder: RequestBuilder,
    scheduler: SlotScheduler,
    session: Session,
    path: list[ChatMessage],
    custom: Any,
) -> Answer:
    message = ChatMessage(role="assistant", content="", state="error")
    parts: list[str] = []
    try:
        client = clients.get(target.server, target.model)
        facts = await scheduler.facts(target.server, target.model)
        if facts.error is not None:
            raise facts.error
        asked = for_target(session, template=target.template, model=target.model, settings=target.settings)
        params = completion_params(
            asked.settings, template_stops=template_stops(asked.template, custom), model=target.model
        )
        async with scheduler.slot(target.server, target.model):
            request = await builder.on(client).build(asked, path, params)
            body = request.body()
            final: FinalEvent | None = None
            async for event in client.stream_completion(body.pop("prompt"), **body):
                if isinstance(event, TokenEvent):
                    parts.append(event.content)
                elif isinstance(event, FinalEvent):
                    final = event
                elif isinstance(event, RetryEvent):
                    _say(f"{target.label}: {event.describe()}")
        assert final is not None  # the stream raises when it ends without its final event
        message = message.replace(
            content="".join(parts),
            state="complete",
            timings=final.timings.raw if final.timings else None,
            stop_type=final.stop_type,
            truncated=final.truncated,
            ttft_ms=final.ttft_ms,
            settings=final.generation_settings,
        )
        return Answer(target, message)
    except LlamaError as e:
        error = e
    except Exception as e:  # a reply nothing expected: this target fails, the others stand
        error = ProtocolError(f"unexpected reply from the server ({type(e).__name__})")
    state = "interrupted" if parts else "error"
    return Answer(target, message.replace(content="".join(parts), state=state, error=error.message), error)


def _json(answers: list[Answer], seed: int | None) -> dict[str, Any]:
    return {
        "seed": seed,
        "targets": [
            {
                "label": a.target.label,
                "target": a.target.describe(),
                "content": a.message.content,
                "state": a.message.state,
                "stop_type": a.message.stop_type,
                "truncated": a.message.truncated,
                "ttft_ms": a.message.ttft_ms,
                "timings": a.message.timings,
                "error": a.message.error,
            }
            for a in answers
        ],
    }
