"""`--demo` on the command line (`llama-tui ask --demo "hi"`): get the demo model and server ready
with the user's yes, on stderr, then start the server. No Textual.

Nothing is downloaded or built without a yes: asked on the terminal, or given as --yes (scripts,
where stdin is no terminal). Progress goes to stderr, so stdout carries only the answer.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..config import Config
    from ..demo import DemoReady, DemoSetup, Terms
    from ..server import ManagedServer

EXIT_SETUP = 5


class DemoRefused(Exception):
    """The user said no (or gave no --yes where nobody can be asked); the message says so."""


def _confirm(question: str, *, yes: bool, err: TextIO, stdin: TextIO) -> bool:
    if yes:
        print(f"{question} yes (--yes)", file=err)
        return True
    if not stdin.isatty():
        raise DemoRefused(f"{question.rstrip(' ?')}: not without a yes; run again with --yes to agree")
    print(f"{question} [y/N] ", end="", file=err, flush=True)
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes")


def demo_ready(
    config: Config, *, yes: bool, err: TextIO = sys.stderr, stdin: TextIO = sys.stdin, root: Path | None = None
) -> DemoReady:
    """The demo's binary and model, fetched or built first if missing (after asking). Raises
    DemoRefused or SetupError."""
    from ..demo import DemoSetup

    setup = DemoSetup(config, root)
    plan = setup.inspect()
    if plan.ready:
        return asyncio.run(setup.prepare(None, lambda part, label, fraction: None))
    print("llama-tui --demo (try it now):", file=err)
    for line in plan.describe():
        print(f"  {line}", file=err)
    if not _confirm("Download and build what is missing?", yes=yes, err=err, stdin=stdin):
        raise DemoRefused("nothing was downloaded")
    terms = None
    if plan.needs_download:
        terms = asyncio.run(setup.terms())
        _show_terms(terms, setup, err)
        if not _confirm("Do you agree to these terms?", yes=yes, err=err, stdin=stdin):
            raise DemoRefused("the model was not downloaded")
    print(f"(the whole log: {setup.log_path})", file=err)
    try:
        return asyncio.run(setup.prepare(terms, _progress_printer(err)))
    finally:
        if err.isatty():
            print(file=err)  # end the line the progress was redrawn on


def _show_terms(terms: Terms, setup: DemoSetup, err: TextIO) -> None:
    from ..demo.terms import TERMS_URL

    saved = setup.save_terms(terms)
    print(f"\nThe model comes with licence terms ({terms.package}):\n{terms.summary}\n", file=err)
    head = "\n".join(terms.text.splitlines()[:12])
    print(f"{head}\n[...] the full terms: {saved} (online: {TERMS_URL})\n", file=err)


def _progress_printer(err: TextIO) -> Callable[[str, str, float | None], None]:
    last: dict[str, object] = {"label": None, "step": -1}
    tty = err.isatty()

    def show(part: str, label: str, fraction: float | None) -> None:
        if label != last["label"]:
            if tty and last["label"] is not None:
                print(file=err)
            last["label"], last["step"] = label, -1
            print(f"{part}: {label}", end="" if tty else "\n", file=err, flush=True)
        if fraction is None:
            return
        step = int(fraction * 10)  # on a pipe, one line per 10 %
        if tty:
            print(f"\r{part}: {label} {fraction:4.0%}", end="", file=err, flush=True)
        elif step != last["step"]:
            last["step"] = step
            print(f"{part}: {label} {step * 10}%", file=err, flush=True)

    return show


def start_demo_server(ready: DemoReady, config: Config, api_key: str | None) -> ManagedServer:
    """The demo's llama-server, started (call from the main thread: see server/managed.py)."""
    from ..paths import cache_dir
    from ..server import ManagedServer

    launch = config.server_launch
    log = Path(launch.log_file) if launch.log_file else cache_dir() / "llama-server.log"
    server = ManagedServer(ready.model, binary=ready.binary, args=ready.args, api_key=api_key, log_path=log)
    server.start()
    return server


async def wait_ready(server: ManagedServer, timeout: float, err: TextIO = sys.stderr) -> float:
    """Wait for the server, printing its loading phases on stderr."""
    seen: set[str] = set()

    def progress(p: object) -> None:
        text = str(p)
        if text not in seen:
            seen.add(text)
            print(f"llama-server: {text}", file=err, flush=True)

    return await server.wait_healthy(timeout, on_progress=progress)
