""" "Try it now" in the TUI: what will be downloaded and built, the model's licence terms, then
progress bars while the demo/ package does the work (the log one key away, Esc cancels).
Dismisses with the DemoReady to run, or None. Nothing is fetched before the user says yes."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Footer, Log, ProgressBar, Static
from textual.worker import Worker

from ..demo import DemoPlan, DemoReady, DemoSetup, SetupError, Terms
from ..sanitize import neutralize


class DemoSetupScreen(ModalScreen[DemoReady | None]):
    DEFAULT_CSS = """
    DemoSetupScreen {
        align: center middle;
        & > #dialog {
            width: 100; max-width: 95%; height: auto; max-height: 95%;
            padding: 0 2; border: thick $success 60%; background: $surface;
        }
        & .title { text-style: bold; margin-bottom: 1; }
        & .hint { color: $text-muted; }
        & #terms { height: 12; border: round $primary 40%; }
        & #buttons { height: auto; align-horizontal: right; }
        & #buttons > Button { margin-left: 2; }
        & .part { margin-top: 1; }
        & #log { height: 12; border: round $primary 40%; display: none; }
        & #error { color: $error; margin-top: 1; height: auto; display: none; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("l", "toggle_log", "Log"),
    ]

    def __init__(self, setup: DemoSetup) -> None:
        super().__init__()
        self.setup = setup
        self.plan: DemoPlan = setup.inspect()
        self.terms: Terms | None = None
        self.stage = "plan"  # plan, terms, working, failed
        self.error: str | None = None
        self._worker: Worker[None] | None = None
        self._log_timer: Timer | None = None
        self._log_shown = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):  # a short terminal scrolls to the focused button
            yield Static(Content("Try it now: Gemma 3 270M on a llama-server of its own"), classes="title")
            yield Static(Content(neutralize("\n".join(f"• {line}" for line in self.plan.describe()))), id="plan")
            yield Static(Content(""), id="note", classes="hint")
            with VerticalScroll(id="terms"):
                yield Static(Content(""), id="terms-text")
            yield Static(Content("model"), id="model-label", classes="part")
            yield ProgressBar(total=100, show_eta=False, id="model-bar")
            yield Static(Content("llama-server"), id="server-label", classes="part")
            yield ProgressBar(total=100, show_eta=False, id="server-bar")
            yield Log(id="log", max_lines=2000)
            yield Static(Content(""), id="error")
            with Horizontal(id="buttons"):
                yield Button(Content("Cancel"), id="cancel")
                yield Button(Content("Go ahead"), id="go", variant="success")
        yield Footer()

    def on_mount(self) -> None:
        for part in ("#terms", "#model-label", "#model-bar", "#server-label", "#server-bar"):
            self.query_one(part).display = False
        go = self.query_one("#go", Button)
        if self.plan.ready:
            self._start_work()  # all in the cache: nothing to ask
            return
        if self.plan.needs_build and self.plan.missing_tools:
            self._fail(
                f"Building llama-server needs {', '.join(self.plan.missing_tools)}, which this machine lacks. "
                "Install them (Debian/Ubuntu: sudo apt install build-essential cmake; macOS: xcode-select --install "
                "and brew install cmake), or set llama_server_bin under [server.launch] in the config."
            )
            return
        if self.plan.needs_download:
            go.label = Content("Show the licence terms")
            self._note("The model comes with licence terms: they are shown next, before anything big is downloaded.")
        else:
            go.label = Content("Yes, build it")
        go.focus()

    def _note(self, text: str) -> None:
        self.query_one("#note", Static).update(Content(neutralize(text)))

    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        if self.stage == "plan" and self.plan.needs_download:
            self._show_terms()
        elif self.stage in ("plan", "terms"):
            self._start_work()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    # -- the licence terms -----------------------------------------------------------------------

    @work(exclusive=True, group="demo-terms", exit_on_error=False)
    async def _show_terms(self) -> None:
        go = self.query_one("#go", Button)
        go.disabled = True
        self._note("Getting the licence terms from the model's package (28 KB)…")
        try:
            self.terms = await self.setup.terms()
        except SetupError as e:
            self._fail(e.message)
            return
        self.stage = "terms"
        self.query_one("#terms-text", Static).update(Content(neutralize(self.terms.as_text())))
        self.query_one("#terms").display = True
        self._note("Read the terms (scroll them). Agreeing downloads the model and builds what is missing.")
        go.label = Content("I agree: download")
        go.disabled = False
        go.focus()

    # -- the work --------------------------------------------------------------------------------

    def _start_work(self) -> None:
        self.stage = "working"
        self.query_one("#terms").display = False
        self.query_one("#go").display = False
        self._note(f"Press l for the log (also in {self.setup.log_path}); Esc cancels.")
        for part in ("#model-label", "#model-bar", "#server-label", "#server-bar"):
            self.query_one(part).display = True
        if not self.plan.needs_download:
            self._set("model", "model: in the cache", 1.0)
        if not self.plan.needs_build:
            self._set("server", f"llama-server: {self.plan.binary}", 1.0)
        self._log_timer = self.set_interval(0.5, self._pull_log)
        self._worker = self._work()

    def _set(self, part: str, label: str, fraction: float | None) -> None:
        self.query_one(f"#{part}-label", Static).update(Content(neutralize(label)))
        bar = self.query_one(f"#{part}-bar", ProgressBar)
        if fraction is None:
            bar.update(total=None)  # indeterminate: it pulses
        else:
            bar.update(total=100, progress=round(fraction * 100))

    @work(exclusive=True, group="demo-setup", exit_on_error=False)
    async def _work(self) -> None:
        def progress(part: str, label: str, fraction: float | None) -> None:
            self._set(part, f"{'model' if part == 'model' else 'llama-server'}: {label}", fraction)

        try:
            ready = await self.setup.prepare(self.terms, progress)
        except SetupError as e:
            self._fail(e.message)
            return
        except asyncio.CancelledError:
            raise
        self._pull_log()
        self.dismiss(ready)

    def _fail(self, message: str) -> None:
        self.stage = "failed"
        self.error = message
        error = self.query_one("#error", Static)
        error.update(Content(neutralize(message)))
        error.display = True
        self.query_one("#go").display = False
        cancel = self.query_one("#cancel", Button)
        cancel.label = Content("Close")
        cancel.focus()

    def _pull_log(self) -> None:
        lines = list(self.setup.lines)
        log = self.query_one("#log", Log)
        if len(lines) < self._log_shown:
            self._log_shown = 0
        new = lines[self._log_shown :]
        if new:
            log.write_lines(new)
            self._log_shown = len(lines)

    def action_toggle_log(self) -> None:
        log = self.query_one("#log", Log)
        log.display = not log.display

    def action_cancel(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()  # stops pip or cmake; half-done files are removed
            self.notify("Cancelled. Whole downloads are kept for next time; nothing half-done is.", markup=False)
        self.dismiss(None)
