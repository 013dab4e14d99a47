"""The first-run screen, shown when no llama-server answers: connect to a URL (checked live against
/health), start llama-server with a GGUF file (with path completion), or try it now (a small real
model, demo/). It only returns the user's choice; the ServerFinder acts on it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..chat.discovery import probe
from ..sanitize import neutralize
from .path_suggester import PathSuggester


@dataclass(frozen=True)
class ConnectTo:
    url: str


@dataclass(frozen=True)
class StartModel:
    path: Path


@dataclass(frozen=True)
class TryDemo:
    pass


FirstRunChoice = ConnectTo | StartModel | TryDemo


def normalise_url(text: str) -> str | None:
    """A base URL from what was typed ("localhost:8080" gets http://); None if it cannot be one."""
    from urllib.parse import urlsplit

    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return None
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return text.rstrip("/")


class FirstRunScreen(ModalScreen[FirstRunChoice | None]):
    DEFAULT_CSS = """
    FirstRunScreen {
        align: center middle;
        & > #dialog {
            width: 90; max-width: 95%; height: auto; max-height: 95%;
            padding: 1 2; border: thick $primary 60%; background: $surface;
        }
        & .title { text-style: bold; margin-bottom: 1; }
        & .section { text-style: bold; margin-top: 1; }
        & .row { height: auto; }
        & .row > Input { width: 1fr; }
        & .row > Button { margin-left: 1; min-width: 14; }
        & .hint { color: $text-muted; }
        & #url-status { height: auto; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]
    AUTO_FOCUS = "#url"

    def __init__(self, looked_at: str, demo_summary: str, watching: str = "http://127.0.0.1:8080") -> None:
        super().__init__()
        self.looked_at = looked_at
        self.watching = watching  # the URL the app goes on polling if this is closed
        self.demo_summary = demo_summary
        self.url_ok: str | None = None  # the URL that last answered /health

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Content("No llama-server found"), classes="title")
            yield Static(Content(neutralize(f"Looked at {self.looked_at}. Choose how to start:")), classes="hint")
            yield Static(Content("1. Connect to a running llama-server"), classes="section")
            with Horizontal(classes="row"):
                yield Input(placeholder="http://127.0.0.1:8080", id="url")
                yield Button(Content("Connect"), id="connect", variant="primary")
            yield Static(Content(""), id="url-status", classes="hint")
            yield Static(Content("2. Start llama-server with a model file (.gguf)"), classes="section")
            with Horizontal(classes="row"):
                yield Input(
                    placeholder="~/models/model.gguf  (→ completes the path)", id="gguf", suggester=PathSuggester()
                )
                yield Button(Content("Start"), id="start")
            yield Static(Content(""), id="gguf-status", classes="hint")
            yield Static(Content("3. Try it now: a small real model"), classes="section")
            yield Static(Content(neutralize(self.demo_summary)), classes="hint")
            with Horizontal(classes="row"):
                yield Button(Content("Try it now…"), id="demo", variant="success")
            yield Static(
                Content(neutralize(f"Esc closes this; the status bar keeps watching {self.watching}.")), classes="hint"
            )

    # -- 1. a URL, checked live ------------------------------------------------------------------

    @on(Input.Changed, "#url")
    def _url_changed(self, event: Input.Changed) -> None:
        self.url_ok = None
        self._check_url(event.value)

    @work(exclusive=True, group="url-check")
    async def _check_url(self, text: str) -> None:
        status = self.query_one("#url-status", Static)
        url = normalise_url(text)
        if url is None:
            status.update(Content("Type the server's address, e.g. http://127.0.0.1:8080." if text.strip() else ""))
            return
        await asyncio.sleep(0.3)  # typing: check once the user pauses
        status.update(Content(neutralize(f"Checking {url}/health …")))
        ready = await probe(url)
        if ready is None:
            status.update(Content(neutralize(f"✗ no llama-server answers at {url}")))
            return
        self.url_ok = url
        status.update(Content(neutralize(f"✓ llama-server at {url}" + ("" if ready else " (loading its model)"))))

    @on(Input.Submitted, "#url")
    @on(Button.Pressed, "#connect")
    def _connect(self) -> None:
        url = normalise_url(self.query_one("#url", Input).value)
        if url is None:
            self.query_one("#url-status", Static).update(Content("Type the server's address first."))
            return
        self.dismiss(ConnectTo(url))  # not answering yet is fine: the status bar follows it

    # -- 2. a GGUF file --------------------------------------------------------------------------

    @on(Input.Submitted, "#gguf")
    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        text = self.query_one("#gguf", Input).value.strip()
        status = self.query_one("#gguf-status", Static)
        path = Path(text).expanduser()
        if not text:
            status.update(Content("Type the path of a .gguf file (→ completes it)."))
        elif not path.is_file():
            status.update(Content(neutralize(f"✗ no file {path}")))
        else:
            self.dismiss(StartModel(path))

    # -- 3. try it now ---------------------------------------------------------------------------

    @on(Button.Pressed, "#demo")
    def _demo(self) -> None:
        self.dismiss(TryDemo())

    def action_close(self) -> None:
        self.dismiss(None)
