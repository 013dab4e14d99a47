"""One real llama-tui process, headless, driven by a test one command at a time: two of them on one
data folder are two instances of the app (issue 14, item 1).

    python -m tests.harness.app_process --server URL --data-dir DIR [--n-predict N] [--ignore-eos]

The child builds the app as `llama-tui` does (cli/launch.py: the same start-up tidying of the
store), runs it headless, reads JSON commands on stdin, one per line, and answers each with one
JSON line on stdout: what the app shows then (`state`). Every /completion prompt the app sends is
recorded (a request spy on the client), so a test can check what an instance really sent.

The test side is `AppProcess`: `a = AppProcess(url, data_dir)`, `a.call("send", text="hi")`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]


# -- the test's side -------------------------------------------------------------------------------


class AppProcess:
    """A child running the app; `call` sends a command and returns its answer (a dict)."""

    def __init__(self, server_url: str, data_dir: Path, *args: str, log: Path | None = None) -> None:
        self.log_path = log or data_dir.parent / f"app-process-{os.getpid()}-{id(self)}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        command = [sys.executable, "-m", "tests.harness.app_process", "--server", server_url]
        self.proc = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), *args],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def call(self, op: str, timeout: float = 60, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout + 5)
        except queue.Empty:
            raise AssertionError(f"{op}: no answer in {timeout} s\n{self.log()}") from None
        if line is None:
            raise AssertionError(f"{op}: the app exited ({self.proc.wait()})\n{self.log()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"{op}: {answer['error']}\n{self.log()}")
        return answer

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> int:
        """Quit the app (or kill it if it does not answer); its exit code."""
        if self.proc.poll() is None:
            try:
                self.call("quit", timeout=10)
                self.proc.wait(15)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


# -- the child's side --------------------------------------------------------------------------------


def _build(args: argparse.Namespace) -> Any:
    from llama_tui.app import LlamaTui
    from llama_tui.chat.request import BASE_PARAMS
    from llama_tui.cli.launch import _tidy_store
    from llama_tui.client import LlamaCppClient
    from llama_tui.config import Config
    from llama_tui.paths import store_path
    from llama_tui.store import Store

    if args.ignore_eos:
        BASE_PARAMS["ignore_eos"] = True  # an answer that ends at n_predict (a dict at run time)
    config = Config(
        server_url=args.server,
        default_template="chatml",
        health_interval=0.25,
        default_settings={"n_predict": args.n_predict},
    )
    store = Store.open(store_path(args.data_dir))
    _tidy_store(store, config.trash_days)  # what `llama-tui` does before the app starts
    client = LlamaCppClient(args.server, None, read_timeout=config.read_timeout)
    return LlamaTui(config=config, client=client, store=store, config_path=args.data_dir / "config.toml")


def _spy_on_prompts(client: Any, prompts: list[str]) -> None:
    real = client.stream_completion

    def stream_completion(prompt: Any, **params: Any) -> AsyncIterator[Any]:
        prompts.append(prompt if isinstance(prompt, str) else json.dumps(prompt))
        result: AsyncIterator[Any] = real(prompt, **params)
        return result

    client.stream_completion = stream_completion


class Driver:
    """Runs the commands in the app (Pilot); every answer carries the state shown."""

    def __init__(self, app: Any, pilot: Any, prompts: list[str]) -> None:
        self.app, self.pilot, self.prompts = app, pilot, prompts
        self.notes: list[str] = []
        real_notify = app.notify

        def notify(message: str, **kw: Any) -> None:
            self.notes.append(str(message))
            real_notify(message, **kw)

        app.notify = notify
        self.commands: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "ready": self.ready,
            "new": self.new,
            "open": self.open,
            "send": self.send,
            "press": self.press,
            "delete": self.delete,
            "wait_streaming": self.wait_streaming,
            "wait_idle": self.wait_idle,
            "search": self.search,
            "state": self.nothing,
        }
        self.found: list[str] = []  # titles of the last search's hits

    @property
    def screen(self) -> Any:
        return self.app.main

    async def until(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        from tests.harness.app import wait_for

        await wait_for(self.pilot, predicate, timeout=timeout)

    async def nothing(self, _: dict[str, Any]) -> None:
        await self.pilot.pause(0.1)

    async def ready(self, _: dict[str, Any]) -> None:
        from llama_tui.server_state import ServerState

        await self.until(lambda: self.screen.session is not None and self.screen.server_state is ServerState.OK)

    async def new(self, cmd: dict[str, Any]) -> None:
        await self.screen.new_session()
        self.screen.sessions.rename(self.screen.session, cmd["title"])
        self.screen.refresh_sessions()

    async def open(self, cmd: dict[str, Any]) -> None:
        matches = [s.id for s in self.screen.sessions.list() if s.title == cmd["title"]]
        assert matches, f"no session {cmd['title']!r} in the list"
        await self.screen.open_session(matches[0])

    async def send(self, cmd: dict[str, Any]) -> None:
        from llama_tui.widgets.composer import Composer

        composer = self.screen.query_one(Composer)
        composer.focus()
        if cmd.get("text"):
            composer.insert(cmd["text"])
        said = len(self.notes)
        await self.pilot.press("enter")
        # Until it is sent (the composer empties) or the app says why not.
        await self.until(lambda: not composer.text or len(self.notes) > said, 20)
        await self.pilot.pause(0.1)

    async def press(self, cmd: dict[str, Any]) -> None:
        await self.pilot.press(*cmd["keys"])
        await self.pilot.pause(0.2)

    async def delete(self, _: dict[str, Any]) -> None:
        """F8 and yes: delete the session on screen."""
        before = self.screen.session.id
        await self.pilot.press("f8")
        await self.until(lambda: type(self.app.screen).__name__ == "ConfirmScreen")
        await self.pilot.press("enter")
        await self.until(lambda: self.screen.session is not None and self.screen.session.id != before)

    async def wait_streaming(self, cmd: dict[str, Any]) -> None:
        views = self._views
        await self.until(lambda: self.screen.is_generating and len(views()[-1].text) >= cmd.get("chars", 1))

    async def wait_idle(self, cmd: dict[str, Any]) -> None:
        await self.until(lambda: not self.screen.is_generating, cmd.get("timeout", 120))
        await self.pilot.pause(0.3)

    async def search(self, cmd: dict[str, Any]) -> None:
        """ctrl+f, the words, then the titles of the sessions hit (Escape closes it)."""
        from llama_tui.screens.search import SearchScreen

        await self.pilot.press("ctrl+f")
        await self.until(lambda: isinstance(self.app.screen, SearchScreen))
        search = self.app.screen
        await self.pilot.press(*cmd["query"])
        await self.until(lambda: search.results.ids_at(0) is not None, 10)
        ids = [search.results.ids_at(i) for i in range(search.results.option_count)]
        titles = {s.id: s.title for s in self.screen.sessions.list()}
        self.found = [titles.get(pair[0], "?") for pair in ids if pair is not None]
        await self.pilot.press("escape")

    def _views(self) -> list[Any]:
        from llama_tui.widgets.message_view import MessageView

        return list(self.screen.query(MessageView))

    def _messages(self) -> list[list[Any]]:
        """[role, state, text] of every message of the conversation shown, oldest first: the chat
        mounts a window of them (a long answer can page its question out), so a mounted view
        gives its live text and state, and a message outside the window is taken as the pane has it."""
        shown = {v.message.id: v for v in self._views() if v.message.id is not None}
        rows: list[list[Any]] = []
        for message in self.screen.chat_pane().messages:
            view = shown.get(message.id)
            rows.append(
                [message.role, message.state, message.content]
                if view is None
                else [view.message.role, view.message.state, view.text]
            )
        return rows

    def state(self) -> dict[str, Any]:
        from llama_tui.widgets.composer import Composer
        from llama_tui.widgets.sidebar import SessionList

        screen = self.screen
        listing = screen.query_one(SessionList)
        session = screen.session
        return {
            "session": None if session is None else {"id": session.id, "title": session.title},
            "messages": self._messages(),
            "composer": screen.query_one(Composer).text,
            "sidebar": [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)],
            "notes": self.notes,
            "prompts": self.prompts,
            "generating": screen.is_generating,
            "found": self.found,
        }


async def _serve(app: Any, commands: TextIO, answers: TextIO, prompts: list[str]) -> None:
    loop = asyncio.get_running_loop()
    async with app.run_test(size=(120, 40)) as pilot:
        driver = Driver(app, pilot, prompts)
        while True:
            line = await loop.run_in_executor(None, commands.readline)
            if not line:
                return
            cmd = json.loads(line)
            if cmd["op"] == "quit":
                answers.write(json.dumps({"bye": True}) + "\n")
                answers.flush()
                return
            try:
                await driver.commands[cmd["op"]](cmd)
                answer = driver.state()
            except Exception as e:  # the test prints it with the log
                answer = {"error": f"{type(e).__name__}: {e}"}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--n-predict", type=int, default=16)
    parser.add_argument("--ignore-eos", action="store_true")
    args = parser.parse_args()
    # Our own copies of stdin and stdout: the app may take the standard streams over.
    commands = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w")
    app = _build(args)
    prompts: list[str] = []
    _spy_on_prompts(app.client, prompts)
    try:
        asyncio.run(_serve(app, commands, answers, prompts))
    finally:
        app.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
