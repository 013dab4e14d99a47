"""The compare screen (ctrl+o): one prompt, 2-4 targets (models, templates, settings), the answers
streamed side by side with their figures, a summary table, and a pick.

The targets are a spec (chat/compare.py: `temperature=0.2,0.8`, `model=A,B`, ...), filled by hand
or by F2/F3/F4; the prompt is the session's next message (empty: its last message is answered
again). Every answer is stored as it streams, as a sibling of the others (chat/compare_run.py);
Enter on a column makes its answer the session's next message, and the others stay alternatives.
One run per opening: Esc stops a run, and closes the screen once it has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Static

from ..chat.compare import SpecError, parse_spec, shared_seed
from ..chat.compare_run import Column, CompareRun
from ..chat.connection import TargetClients
from ..chat.conversation import Conversation, Refusal, Sent
from ..chat.request import RequestBuilder
from ..chat.writes import WriteGuard
from ..client import LlamaError, ProgressEvent, Props
from ..compare_figures import HEADERS, NUMERIC, LiveFigures, summary_row
from ..domain import ChatMessage
from ..sanitize import neutralize
from ..services import AppServices
from ..store import StoreError
from ..templates import SERVER_TEMPLATE, template_names
from ..templates.detect import suggest_family
from ..widgets.compare_column import ColumnView
from ..widgets.composer import Composer
from .host import ScreenHost
from .keys import COMPARE_KEYS

TEMPERATURE_SWEEP = "temperature=0.2,0.7,1.2"
PROMPT_HINT = "the next message · Enter runs · ctrl+j new line · empty: answer the last one again"
HELP = (
    "Targets: KEY=A,B (2 to 4 targets). temperature=0.2,0.8 or any sampling knob · model=A,B (router "
    "mode) · template=server,chatml · server=NAME,NAME ([servers.NAME] in the config). Several items "
    "make every combination. F2 temperatures · F3 models · F4 templates.\n\n"
    "Write the prompt (empty: your last message is answered again) and press Enter. Then 1-4 or "
    "←/→ focus a column, ↑/↓/PgUp/PgDn scroll it, Enter picks it (the others stay as alternatives), "
    "x stops it, Esc stops the run or closes."
)


@dataclass(frozen=True)
class CompareOutcome:
    ran: bool = False  # answers were added: the main screen shows the conversation again
    sent: bool = False  # the prompt (the composer's text) became the session's next message
    picked: int | None = None  # the answer that is now the session's next message


class ColumnSink:
    """A column's generation on screen: text into its view, figures into its LiveFigures."""

    def __init__(self, column: ColumnView, writes: WriteGuard, clock: Callable[[], float]) -> None:
        self.column = column
        self.writes = writes
        self.clock = clock
        self.figures = LiveFigures()
        self.live = True  # its figures are painted from the stream (not once it ends)
        self.ended = False  # shown as stored, with the server's figures

    def on_waiting(self) -> None:
        self.figures.waiting = True

    def on_started(self) -> None:
        self.figures.start(self.clock())
        self.column.start_stream()

    async def on_text(self, text: str) -> None:
        await self.column.view.write(text)

    def on_reasoning(self, text: str) -> None:
        self.column.view.write_reasoning(text)

    def on_tokens(self, count: int, thinking: bool) -> None:
        self.figures.token(count, self.clock())

    def on_progress(self, event: ProgressEvent) -> None:
        self.figures.progress(event.total, event.cache, event.processed)
        self.column.view.show_progress(event.fraction)

    def on_status(self, text: str) -> None:
        self.figures.status = text  # painted with the figures, until text comes again

    def on_store_error(self, error: StoreError) -> None:
        self.writes.failed(error)

    async def end(self, number: int, message: ChatMessage) -> None:
        """The answer ended (any way): show it as stored, with the server's figures."""
        if not self.live:
            return
        self.live = False
        await self.column.finish(message)
        row = summary_row(number, self.column.label, message, self.figures)
        self.column.show_figures(row.line(), message.state)
        self.ended = True


class CompareScreen(Screen[CompareOutcome]):
    DEFAULT_CSS = """
    CompareScreen #compare-head { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    CompareScreen #compare-form { height: auto; padding: 0 1; }
    CompareScreen #compare-form Horizontal { height: auto; }
    CompareScreen #compare-form Label { width: 9; padding: 1 0 0 0; color: $text-muted; }
    CompareScreen #compare-form Input { width: 1fr; }
    CompareScreen #compare-form Composer { width: 1fr; max-height: 6; }
    CompareScreen #compare-help { padding: 1 2; color: $text-muted; height: 1fr; }
    CompareScreen #compare-columns { height: 1fr; }
    CompareScreen #compare-summary { height: auto; max-height: 7; margin: 0 1; display: none; }
    """
    BINDINGS = COMPARE_KEYS
    AUTO_FOCUS = "#compare-prompt"

    def __init__(
        self,
        services: AppServices,
        conversation: Conversation,
        builder: RequestBuilder,
        writes: WriteGuard,
        *,
        router_mode: bool = False,
        props: Props | None = None,
        prompt: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.services = services
        self.conversation = conversation
        self.builder = builder
        self.writes = writes
        self.router_mode = router_mode
        self.props = props
        self.prompt = prompt
        self.clock = clock
        self.run: CompareRun | None = None
        self.views: list[ColumnView] = []
        self.sinks: list[ColumnSink] = []
        self.outcome = CompareOutcome()
        self.seed: int | None = None
        self._painter: Timer | None = None

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.running

    @property
    def ended(self) -> bool:
        return self.run is not None and not self.run.running and all(s.ended for s in self.sinks)

    def compose(self) -> ComposeResult:
        yield Static(self._head(), id="compare-head", markup=False)
        with Vertical(id="compare-form"):
            with Horizontal():
                yield Label("Targets")
                yield Input(self._default_spec(), id="compare-targets", placeholder="e.g. temperature=0.2,0.8")
            with Horizontal():
                yield Label("Prompt")
                prompt = Composer(id="compare-prompt", submit_empty=True)
                prompt.placeholder = PROMPT_HINT
                prompt.text = self.prompt
                yield prompt
        yield Static(HELP, id="compare-help", markup=False)
        yield Horizontal(id="compare-columns")
        yield DataTable(id="compare-summary", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def _head(self, status: str = "") -> str:
        title = self.conversation.session.title or "New session"
        text = f"Compare · “{title}”"
        if self.run is not None:
            text += f" · {len(self.run.columns)} targets"
            if self.seed is not None:
                text += f" · seed {self.seed} for all"
        return neutralize(text + (f" · {status}" if status else ""))

    def _default_spec(self) -> str:
        return TEMPERATURE_SWEEP

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The fills only before the run (hidden from the footer after it)."""
        return not (action == "fill" and self.run is not None)

    # -- filling the targets -----------------------------------------------------------------------

    async def action_fill(self, kind: str) -> None:
        if self.run is not None:
            return
        spec: str | None = TEMPERATURE_SWEEP if kind == "temperature" else None
        if kind == "model":
            spec = await self._models_spec()
        elif kind == "template":
            spec = self._templates_spec()
        if spec is not None:
            targets = self.query_one("#compare-targets", Input)
            targets.value = spec
            targets.focus()

    async def _models_spec(self) -> str | None:
        if not self.router_mode:
            self.notify("This server serves one model: comparing models needs router mode (--models-dir).")
            return None
        try:
            models = [m.id for m in await self.services.connection.client.models()]
        except LlamaError as e:
            self.notify(e.message, title="llama-server", severity="error", markup=False)
            return None
        current = self.conversation.session.model
        ordered = ([current] if current in models else []) + [m for m in models if m != current]
        if len(ordered) < 2:
            self.notify("The server lists fewer than two models.", severity="warning")
            return None
        return "model=" + ",".join(ordered[:4])

    def _templates_spec(self) -> str:
        """The model's own template against a built-in: the session's, or the family that fits the model."""
        current = self.conversation.session.template
        if current != SERVER_TEMPLATE:
            return f"template={SERVER_TEMPLATE},{current}"
        props = self.props
        family = props and suggest_family(props.model_path, bos_token=props.bos_token, eos_token=props.eos_token)
        return f"template={SERVER_TEMPLATE},{family or 'chatml'}"

    # -- running -------------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Composer.Submitted)
    async def _submitted(self) -> None:
        await self.start()

    async def start(self) -> None:
        """Read the targets and prompt, make the answer rows and stream them (one run per opening)."""
        if self.run is not None:
            return
        services, conversation = self.services, self.conversation
        templates = {SERVER_TEMPLATE, *template_names(), *services.custom_templates}
        try:
            spec = self.query_one("#compare-targets", Input).value
            targets = parse_spec(spec, templates=templates, servers=services.config.servers)
        except SpecError as e:
            self.notify(str(e), title="Targets", severity="error", markup=False)
            self.query_one("#compare-targets", Input).focus()
            return
        targets, self.seed = shared_seed(targets, conversation.session.settings.values)
        path = self._path()
        if path is None:
            return
        default_model = conversation.session.model if self.router_mode else None
        run = CompareRun(
            conversation, self.builder, TargetClients(services.connection, services.config), targets,
            default_model=default_model,
        )  # fmt: skip
        columns = run.prepare(path)
        if isinstance(columns, Refusal):
            self.notify(columns.reason, severity="error", markup=False)
            await run.clients.close()
            return
        if columns is None:
            await run.clients.close()
            return
        self.run = run
        self.outcome = CompareOutcome(ran=True, sent=self.outcome.sent)
        await self._show_columns(columns)
        self.run_worker(self._stream(run), group="compare", exclusive=True, exit_on_error=False)

    def _path(self) -> list[ChatMessage] | None:
        """The prompt as the session's next message (or the last one, to answer again)."""
        prompt = self.query_one("#compare-prompt", Composer).text
        conversation = self.conversation
        if prompt.strip():
            sent = conversation.send(prompt)
            if isinstance(sent, Refusal):
                self.notify(sent.reason, severity="error", markup=False)
                return None
            assert isinstance(sent, Sent)
            self.outcome = CompareOutcome(sent=True)
            return sent.path
        path = conversation.compare_path()
        if isinstance(path, Refusal):
            self.notify(path.reason, severity="warning", markup=False)
            return None
        return path

    async def _show_columns(self, columns: list[Column]) -> None:
        self.query_one("#compare-help").display = False
        self.query_one("#compare-form").display = False
        self.views = [ColumnView(c.index, c.target.label, c.answer) for c in columns]
        self.sinks = [ColumnSink(view, self.writes, self.clock) for view in self.views]
        await self.query_one("#compare-columns").mount_all(self.views)
        self.views[0].focus_body()
        self.query_one("#compare-head", Static).update(self._head("running… (Esc stops)"))
        self.refresh_bindings()
        self._painter = self.set_interval(0.25, self._paint_live)

    async def _stream(self, run: CompareRun) -> None:
        try:
            ended = await run.run(self.sinks)
            for index, (sink, message) in enumerate(zip(self.sinks, ended, strict=True)):
                await sink.end(index + 1, message)
            self._show_summary(ended)
        finally:
            if self._painter is not None:
                self._painter.stop()
            await run.clients.close()

    def _paint_live(self) -> None:
        now = self.clock()
        for view, sink in zip(self.views, self.sinks, strict=True):
            if sink.live:
                view.show_figures(sink.figures.line(now))
                view.follow()

    def _show_summary(self, ended: list[ChatMessage]) -> None:
        table = self.query_one("#compare-summary", DataTable)
        table.clear(columns=True)
        table.add_columns(*HEADERS)
        for index, (sink, message) in enumerate(zip(self.sinks, ended, strict=True)):
            row = summary_row(index + 1, sink.column.label, message, sink.figures)
            cells = enumerate(row.cells())
            table.add_row(*(Text(neutralize(c), justify="right" if i in NUMERIC else "left") for i, c in cells))
        table.display = True
        self.query_one("#compare-head", Static).update(self._head("Enter picks a column, Esc keeps all"))

    # -- columns -------------------------------------------------------------------------------

    def action_focus_column(self, index: int) -> None:
        if 0 <= index < len(self.views):
            self.views[index].focus_body()

    @on(ColumnView.StopRequested)
    def _stop_column(self, event: ColumnView.StopRequested) -> None:
        if self.run is not None and self.run.stop(event.index):
            self.notify(f"Column {event.index + 1} stopped; what arrived is kept.")

    @on(ColumnView.PickRequested)
    def _pick(self, event: ColumnView.PickRequested) -> None:
        run = self.run
        if run is None:
            return
        if not self.ended:
            self.notify("Still running: wait for the answers, or Esc to stop them.", severity="warning")
            return
        answer = run.columns[event.index].answer
        if self.conversation.pick(answer):
            self.views[event.index].mark_picked()
            self.dismiss(CompareOutcome(ran=True, sent=self.outcome.sent, picked=answer.id))

    def action_stop_or_close(self) -> None:
        run = self.run
        if run is not None and run.running:
            for column in run.columns:
                run.stop(column.index)
            self.notify("Stopped; what arrived is kept in each column.")
            return
        if run is not None and not self.ended:
            return  # the last columns are being settled
        self.dismiss(self.outcome)


async def open_compare(host: ScreenHost) -> None:
    """ctrl+o: compare the next answer of the session; afterwards show the conversation again."""
    if host.conversation is None:
        return
    if host.is_generating:
        host.notify("Still answering: press Esc to stop it first.", severity="warning")
        return
    if not await host.ready_to_send():
        return  # another window changed the session (shown now, and said) or still writes in it
    conversation = host.conversation
    if conversation is None:
        return
    watch, composer = host.server_watch, host.composer()
    screen = CompareScreen(
        host.services,
        conversation,
        host.builder,
        host.writes,
        router_mode=watch.router_mode,
        props=watch.props,
        prompt=composer.text,
    )
    outcome = await host.app.push_screen_wait(screen)
    if outcome.sent:
        composer.set_text("")
        host.save_draft_now()
    if not outcome.ran:
        return
    await host.show_path(focus_message=outcome.picked)
    host.refresh_sessions()
    host.update_context_meter()
    count = len(screen.views)
    if outcome.picked is not None:
        others = "the other answer stays" if count == 2 else f"the other {count - 1} answers stay"
        host.notify(f"Picked; {others} as its alternatives (‹ ›).")
    else:
        host.notify(f"All {count} compared answers are kept as alternatives; column 1 is shown (‹ › switches).")
