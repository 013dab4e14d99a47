"""`llama-tui ask`: stream one answer to stdout, speed figures to stderr. No Textual.

Model and server text never drives the terminal: the answer, server errors and /props facts are
neutralised (terminal controls shown as visible stand-ins, as in the TUI). `--raw` writes the
answer exactly as received, and only into a pipe or a file, never to a terminal. `--json` output
escapes every control character, so it is safe anywhere and still the same JSON value.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, TextIO

from ..chat.discovery import Found, candidates, find_server, nothing_found_message, should_discover
from ..client import (
    FinalEvent,
    LlamaCppClient,
    LlamaError,
    RetryEvent,
    ServerUnreachable,
    TokenEvent,
)
from ..client.errors import ConnectTimeout, ContextOverflow
from ..domain import ChatMessage, SamplingSettings
from ..format import format_timings
from ..sanitize import StreamNeutralizer, json_for_terminal, neutralize
from .common import custom_templates, resolve_server
from .params import ParamError, ask_settings

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_API, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


def _say(message: str) -> None:
    """A line on stderr; anything from the server in it is neutralised."""
    print(f"llama-tui ask: {neutralize(message)}", file=sys.stderr)


def run_ask(args: argparse.Namespace) -> int:
    from ..config import ConfigError

    try:
        url, key, config = resolve_server(args)
    except ConfigError as e:
        print(f"llama-tui: {e}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "raw", False) and sys.stdout.isatty():
        _say("--raw writes the model's text with its control characters, which would drive this terminal; use it "
             "only with stdout going to a pipe or a file")  # fmt: skip
        return EXIT_USAGE
    try:
        # Checked as the settings pane checks them, before anything is sent.
        args.knob_values = ask_settings(args)
    except ParamError as e:
        _say(str(e))
        return EXIT_USAGE
    prompt = args.prompt
    if prompt is None and not args.health:
        if sys.stdin.isatty():
            print("llama-tui ask: give a PROMPT or pipe one on stdin", file=sys.stderr)
            return EXIT_USAGE
        prompt = sys.stdin.read()
    if not args.health and not prompt.strip():
        # An empty prompt would still generate (until n_predict or a full context): refuse it.
        print("llama-tui ask: the prompt is empty; give a PROMPT or pipe one on stdin", file=sys.stderr)
        return EXIT_USAGE
    template = args.template or getattr(config, "default_template", "server")
    from ..paths import config_path
    from ..templates import TemplateError, UnknownTemplate, get_template, template_names

    try:
        custom = custom_templates(config, config_path(args.config).parent)
    except TemplateError as e:
        print(f"llama-tui ask: {config_path(args.config)}: {e}", file=sys.stderr)
        return EXIT_USAGE
    if template != "server":
        try:
            get_template(template, custom)
        except UnknownTemplate:
            print(
                f"llama-tui ask: unknown template {template!r}; choose from {', '.join(template_names())}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    targets = None
    if getattr(args, "compare", None):
        from .ask_compare import read_targets  # one prompt, 2-4 targets

        targets = read_targets(args, config, custom)
        if targets is None:
            return EXIT_USAGE
    if getattr(args, "demo", False):
        return _ask_demo(args, prompt, config, key, custom)

    async def main(url: str, key: str | None) -> int:
        if should_discover(config, args.server):  # in the same event loop as the request
            found = await _discover(config, key)
            if found is None:
                return EXIT_UNREACHABLE
            url, key = found.url, found.candidate.api_key
        if targets is not None:
            from .ask_compare import run_compare

            return await run_compare(args, url, key, config, prompt, template, custom, targets)
        client = LlamaCppClient(
            url,
            key,
            connect_timeout=getattr(config, "connect_timeout", 10.0),
            read_timeout=getattr(config, "read_timeout", 300.0),
        )
        if args.health:
            return await _health(client)
        return await _ask(client, prompt, template, args, custom)

    try:
        return asyncio.run(main(url, key))
    except KeyboardInterrupt:
        print("\nllama-tui ask: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a reply nothing expected: one line and exit 4, never a traceback
        _say(f"unexpected reply from the server; gave up ({type(e).__name__})")
        return EXIT_API


async def _discover(config: Any, key: str | None) -> Found | None:
    """No --server and no server_url: the first llama-server that answers (said on stderr)."""
    looked_at = candidates(config, key)
    found = await find_server(looked_at)
    if found is None:
        print(
            f"llama-tui ask: {nothing_found_message(looked_at)}.\n"
            "Start llama-server, give --server URL, or try --demo (downloads a small model).",
            file=sys.stderr,
        )
        return None
    state = " (loading its model)" if found.loading else ""
    print(f"llama-tui ask: using llama-server at {found.candidate.label}{state}", file=sys.stderr)
    return found


def _ask_demo(args: argparse.Namespace, prompt: str, config: Any, key: str | None, custom: dict[str, Any]) -> int:
    """--demo: the demo model on its own llama-server (set up first if needed, with a yes), then
    the answer; the server is stopped afterwards."""
    from ..demo import SETTINGS, SYSTEM_PROMPT, TEMPLATE, SetupError
    from ..server import ManagedServerError
    from .demo import EXIT_SETUP, DemoRefused, demo_ready, start_demo_server, wait_ready

    if args.server:
        print("llama-tui ask: use --server or --demo, not both", file=sys.stderr)
        return EXIT_USAGE
    try:
        ready = demo_ready(config, yes=args.yes)
    except DemoRefused as e:
        print(f"llama-tui ask --demo: {e}", file=sys.stderr)
        return EXIT_USAGE
    except SetupError as e:
        print(f"llama-tui ask --demo: {e.message}", file=sys.stderr)
        return EXIT_SETUP
    except KeyboardInterrupt:
        print("\nllama-tui ask --demo: interrupted (nothing half-done is kept)", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.template is None:
        args.template = TEMPLATE
    if args.system is None:
        args.system = SYSTEM_PROMPT
    try:
        server = start_demo_server(ready, config, key)
    except ManagedServerError as e:
        print(f"llama-tui ask --demo: {e.message}", file=sys.stderr)
        return EXIT_SETUP

    async def run() -> int:
        try:
            await wait_ready(server, config.server_launch.startup_timeout)
        except ManagedServerError as e:
            print(f"llama-tui ask --demo: {e.message}", file=sys.stderr)
            return EXIT_SETUP
        client = LlamaCppClient(server.url, key, read_timeout=config.read_timeout)
        return await _ask(client, prompt, args.template, args, custom, dict(SETTINGS))

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        print("\nllama-tui ask: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        server.terminate(config.server_launch.stop_grace)


def _fail(error: LlamaError) -> int:
    message = error.message
    if isinstance(error, ContextOverflow) and error.n_prompt_tokens and error.n_ctx:
        message += f" (prompt {error.n_prompt_tokens} tokens, context {error.n_ctx})"
    _say(message)
    return EXIT_UNREACHABLE if isinstance(error, (ServerUnreachable, ConnectTimeout)) else EXIT_API


async def _health(client: LlamaCppClient) -> int:
    async with client:
        try:
            health = await client.health()
            props = await client.props()
        except LlamaError as e:
            return _fail(e)
    lines = [
        f"server:  {client.display_url}  status: {health.status}",
        f"model:   {props.model_name or '?'}  ({props.model_path})",
        f"context: {props.n_ctx} tokens  slots: {props.total_slots}  sleeping: {props.is_sleeping}",
        f"build:   {props.build_info}",
    ]
    for line in lines:
        print(neutralize(line))
    return EXIT_OK


async def _ask(
    client: LlamaCppClient,
    prompt: str,
    template: str,
    args: argparse.Namespace,
    custom: dict[str, Any],
    defaults: dict[str, Any] | None = None,
) -> int:
    from ..chat.constraints import answer_meta
    from ..chat.request import CompletionRequest, budget_fields, completion_params, render_prompt
    from ..reasoning import format_for, start_for
    from ..templates import SERVER_TEMPLATE, canonical_name

    messages: list[ChatMessage] = []
    if args.system:
        messages.append(ChatMessage(role="system", content=args.system))
    messages.append(ChatMessage(role="user", content=prompt))
    settings = SamplingSettings.from_dict({**(defaults or {}), **getattr(args, "knob_values", {})})
    out: TextIO = sys.stdout
    raw = getattr(args, "raw", False)
    safe = StreamNeutralizer()
    parts: list[str] = []
    final: FinalEvent | None = None
    async with client:
        try:
            rendered = await render_prompt(client, messages, template, custom_templates=custom)
            params = completion_params(settings, template_stops=rendered.stops)
            fmt = format_for(None if template == SERVER_TEMPLATE else canonical_name(template), rendered.text)
            params.update(budget_fields(params, fmt, start_for(fmt, rendered.text)))
            request = CompletionRequest(rendered.text, params)
            async for event in client.stream_completion(request.prompt, **request.params):
                if isinstance(event, TokenEvent):
                    parts.append(event.content)
                    if not args.json:
                        out.write(event.content if raw else safe.feed(event.content))
                        out.flush()
                elif isinstance(event, FinalEvent):
                    final = event
                elif isinstance(event, RetryEvent):
                    _say(event.describe())
        except LlamaError as e:
            if parts and not args.json:
                out.write(safe.flush() + "\n")
            return _fail(e)
    assert final is not None
    # Constrained output: the JSON schema's verdict on the answer (parses? validates?).
    constrained = answer_meta(request.params, "".join(parts), complete=True)
    if args.json:
        timings = final.timings.raw if final.timings else None
        text = json.dumps(
            {
                "content": "".join(parts),
                "stop_type": final.stop_type,
                "stopping_word": final.stopping_word,
                "truncated": final.truncated,
                "tokens_cached": final.tokens_cached,
                "ttft_ms": final.ttft_ms,
                "timings": timings,
                **constrained,
            },
            ensure_ascii=False,
        )
        out.write(json_for_terminal(text) + "\n")
    else:
        out.write(("" if raw else safe.flush()) + "\n")
        print(neutralize(format_speed(final)), file=sys.stderr)
        if constrained.get("schema_ok") is False:
            _say(f"the answer does not pass the JSON schema: {constrained.get('schema_error')}")
    return EXIT_OK


def format_speed(final: FinalEvent) -> str:
    """One line of honest figures from the server's timings, e.g.
    '512 tok · prompt 23 tok 1,204 t/s · gen 87.3 t/s · ttft 41 ms · stop: eos'."""
    return format_timings(
        final.timings.raw if final.timings else None, final.stop_type, final.ttft_ms, truncated=final.truncated
    )
