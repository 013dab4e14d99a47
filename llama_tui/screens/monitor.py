"""Server monitor: live /slots, /metrics (with sparklines) and /props, plus the managed server's log.

Everything the server sends is shown as plain text (Content / Text objects, control characters
made visible): a model path or a chat template can never be read as markup. Polling runs in an
async worker that belongs to this screen, so it stops when the screen closes and never blocks
the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Log, Sparkline, Static

from ..client import LlamaCppClient
from ..client.errors import LlamaError, NotSupported
from ..client.types import Props, Slot
from ..metrics import DecodeRates, MetricsHistory, MetricsSummary, SlotReading, format_count, format_rate
from ..sanitize import neutralize, one_line
from .monitor_caches import SHOWN, caches_content

if TYPE_CHECKING:
    from ..chat.slot_cache import SlotCache
    from ..server import ManagedServer

METRICS_DISABLED = "metrics disabled (start llama-server with --metrics)"
SLOTS_DISABLED = "slots disabled (llama-server was started with --no-slots)"
TEMPLATE_LINES = 6  # chat template lines shown

SLOT_COLUMNS = (("slot", "slot"), ("state", "state"), ("n_ctx", "n_ctx"), ("decoded", "decoded"),
                ("prompt", "prompt tokens"), ("task", "task"))  # fmt: skip


def _label(text: str) -> tuple[str, str]:
    return (f"{text:<12}", "$text-muted")


def slot_cells(slot: Slot) -> tuple[str, ...]:
    """One /slots entry as table cells: id, busy/idle, n_ctx, tokens decoded, prompt tokens, task."""
    raw = slot.raw
    task = raw.get("id_task")
    prompt = raw.get("n_prompt_tokens")
    return (
        str(slot.id),
        "busy" if slot.is_processing else "idle",
        format_count(slot.n_ctx),
        format_count(slot.n_decoded),
        format_count(prompt) if isinstance(prompt, int | float) and not isinstance(prompt, bool) else "-",
        str(task) if isinstance(task, int) and not isinstance(task, bool) and task >= 0 else "-",
    )


def slot_reading(slot: Slot) -> SlotReading:
    task = slot.raw.get("id_task")
    return SlotReading(
        slot.id,
        task if isinstance(task, int) and not isinstance(task, bool) else None,
        slot.is_processing,
        slot.n_decoded,
    )


def live_generation_line(rate: float | None) -> Content:
    """Generation speed now, from /slots (for a server without --metrics)."""
    return Content.assemble(_label("generating"), f"now {format_rate(rate)} (from /slots)")


def metrics_content(summary: MetricsSummary, history: MetricsHistory, live_generation: float | None = None) -> Content:
    """The metrics block: requests, token totals with current and average rates, KV cache.
    `live_generation` (from /slots) is the generation speed now: the counters only grow when a
    request ends, so theirs says 0 t/s all through a long generation."""
    latest = history.latest
    generation_now = live_generation if live_generation is not None else (latest.generation_tps if latest else None)
    parts: list[Content | str | tuple[str, str]] = [
        _label("requests"),
        f"processing {format_count(summary.requests_processing)} · deferred {format_count(summary.requests_deferred)}",
        "\n",
        _label("prompt"),
        f"{format_count(summary.prompt_tokens_total)} tokens",
        f" · now {format_rate(latest.prompt_tps if latest else None)}",
        f" · speed {format_rate(history.last_prompt_busy_tps)}",
        f" · avg {format_rate(summary.prompt_tps_avg)}",
        "\n",
        _label("generated"),
        f"{format_count(summary.tokens_predicted_total)} tokens",
        f" · now {format_rate(generation_now)}",
        f" · speed {format_rate(history.last_generation_busy_tps)}",
        f" · avg {format_rate(summary.predicted_tps_avg)}",
    ]
    if summary.prompt_tokens_cached_total is not None:
        parts += ["\n", _label("cached"), f"{format_count(summary.prompt_tokens_cached_total)} prompt tokens reused"]
    if summary.kv_usage_ratio is not None or summary.kv_tokens is not None:
        kv = []
        if summary.kv_usage_ratio is not None:
            kv.append(f"{summary.kv_usage_ratio:.0%} used")
        if summary.kv_tokens is not None:
            kv.append(f"{format_count(summary.kv_tokens)} tokens")
        parts += ["\n", _label("KV cache"), " · ".join(kv)]
    return Content.assemble(*parts)


def props_content(props: Props, template_lines: int = TEMPLATE_LINES) -> Content:
    """The facts from /props, every server string neutralised."""
    modalities = ", ".join(sorted(k for k, v in props.modalities.items() if v)) or "text only"
    parts: list[Content | str | tuple[str, str]] = [_label("model"), neutralize(props.model_path or "-")]
    if props.model_alias and props.model_alias != props.model_path:
        parts += [" (", one_line(props.model_alias), ")"]
    parts += [
        "\n",
        _label("build"),
        one_line(props.build_info) or "-",
        "\n",
        _label("context"),
        f"{format_count(props.n_ctx)} tokens per slot",
        "\n",
        _label("slots"),
        str(props.total_slots),
        "\n",
        _label("modalities"),
        modalities,
        "\n",
        _label("sleeping"),
        "yes" if props.is_sleeping else "no",
        "\n",
        _label("chat template"),
    ]
    lines = neutralize(props.chat_template).splitlines()
    if not lines:
        parts.append("(none)")
    for line in lines[:template_lines]:
        parts += ["\n  ", (line, "$text-accent")]
    if len(lines) > template_lines:
        parts += ["\n  ", (f"… {len(lines) - template_lines} more lines", "$text-muted")]
    return Content.assemble(*parts)


class ServerMonitorScreen(Screen[None]):
    """Live view of the server: slots, metrics with sparklines, props, and (for a server llama-tui
    started itself) its log. Refreshes every `interval` seconds; Escape closes, r refreshes now."""

    DEFAULT_CSS = """
    ServerMonitorScreen {
        layout: vertical;
        #monitor-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
        #monitor-status { height: auto; padding: 0 1; color: $text-warning; }
        #monitor-body { height: 1fr; }
        #monitor-left { width: 3fr; height: 100%; padding: 0 1; }
        #monitor-right { width: 2fr; height: 100%; padding: 0 1; border-left: vkey $panel; }
        .monitor-heading { text-style: bold; color: $text-primary; margin-top: 1; }
        #slots { height: auto; max-height: 12; }
        #metrics { height: auto; }
        #sparklines { height: auto; }
        #sparklines.-hidden { display: none; }
        .spark-label { color: $text-muted; margin-top: 1; }
        Sparkline { height: 2; }
        #server-log { height: 10; border-top: hkey $panel; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(
        self,
        client: LlamaCppClient,
        *,
        server: ManagedServer | None = None,
        interval: float = 1.0,
        history_seconds: float = 300.0,
        props_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.client = client
        self.server = server
        self.interval = interval
        self.props_interval = props_interval
        self._clock = clock
        points = max(2, int(history_seconds / interval) + 1)
        self.history = MetricsHistory(window=history_seconds, max_points=points)
        self.decode = DecodeRates(window=history_seconds, max_points=points)  # live, from /slots
        self.slots: list[Slot] = []
        self.metrics: dict[str, float] | None = None
        self.metrics_supported: bool | None = None  # None until /metrics answered once
        self.props: Props | None = None
        self.errors: dict[str, str] = {}
        self.updates = 0  # completed refreshes (tests wait on it)
        self._props_at: float | None = None
        self._wake = asyncio.Event()
        self.slot_cache: SlotCache | None = None
        self._session_title: Callable[[int], str] = str
        self._gain: Callable[[], str] = str

    def show_caches(self, cache: SlotCache | None, title: Callable[[int], str], gain: Callable[[], str]) -> None:
        """Also show the saved session caches (before the screen is shown): `title(session_id)`,
        and `gain()`, what saving would spare the current session when it is off."""
        self.slot_cache, self._session_title, self._gain = cache, title, gain

    def compose(self) -> ComposeResult:
        title = f"Server monitor · {one_line(self.client.display_url)}"
        yield Static(Content(title), id="monitor-title", markup=False)
        status = Static("", id="monitor-status", markup=False)
        status.display = False
        yield status
        with Horizontal(id="monitor-body"):
            with VerticalScroll(id="monitor-left"):
                yield Static("Slots", id="slots-heading", classes="monitor-heading", markup=False)
                table: DataTable[Text] = DataTable(id="slots", cursor_type="none", zebra_stripes=True)
                yield table
                yield Static("Metrics", classes="monitor-heading", markup=False)
                yield Static(Content("loading…"), id="metrics", markup=False)
                with Vertical(id="sparklines", classes="-hidden"):
                    yield Static("", id="spark-prompt-label", classes="spark-label", markup=False)
                    yield Sparkline([0.0], id="spark-prompt")
                    yield Static("", id="spark-gen-label", classes="spark-label", markup=False)
                    yield Sparkline([0.0], id="spark-gen")
            with VerticalScroll(id="monitor-right"):
                yield Static("Server", classes="monitor-heading", markup=False)
                yield Static(Content("loading…"), id="props", markup=False)
                if self.slot_cache is not None:
                    yield Static("Session caches", classes="monitor-heading", markup=False)
                    yield Static(Content("loading…"), id="slot-caches", markup=False)
        if self.server is not None:
            yield Log(max_lines=2000, id="server-log")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#slots", DataTable)
        for key, label in SLOT_COLUMNS:
            table.add_column(label, key=key)
        self._poll()
        if self.server is not None:
            self._follow_log()

    # -- actions ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_refresh_now(self) -> None:
        self._props_at = None
        self._wake.set()

    # -- polling ---------------------------------------------------------------------------------

    @work(exclusive=True, group="monitor", exit_on_error=False)
    async def _poll(self) -> None:
        while True:
            await self.refresh_once()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    async def refresh_once(self) -> None:
        """Fetch /slots, /metrics (and /props every props_interval) together and show them."""
        want_props = self._props_at is None or self._clock() - self._props_at >= self.props_interval
        calls: list[Any] = [self.client.slots(), self.client.metrics()]
        if want_props:
            calls.append(self.client.props())
        results = await asyncio.gather(*calls, return_exceptions=True)
        now = self._clock()
        self._show_slots(results[0], now)
        self._show_metrics(results[1], now)
        if want_props:
            self._show_props(results[2], now)
            await self._show_caches()
        self._show_status()
        self.updates += 1

    def _error(self, what: str, error: BaseException | None) -> None:
        if error is None:
            self.errors.pop(what, None)
        else:
            message = error.message if isinstance(error, LlamaError) else str(error) or type(error).__name__
            self.errors[what] = f"{what}: {one_line(message, 200)}"

    def _show_slots(self, result: object, now: float) -> None:
        table: DataTable[Text] = self.query_one("#slots", DataTable)
        if isinstance(result, NotSupported):
            self._error("/slots", None)
            if self.slots or table.row_count:
                table.clear()
            self.slots = []
            self.decode.reset()
            table.display = False
            self._slots_note(SLOTS_DISABLED)
            return
        if isinstance(result, BaseException):
            self._error("/slots", result)
            return
        self._error("/slots", None)
        assert isinstance(result, list)
        slots: list[Slot] = result
        self.decode.add(now, [slot_reading(slot) for slot in slots])
        table.display = True
        self._slots_note("" if slots else "no slots")
        keys = [str(s.id) for s in slots]
        if keys != [str(s.id) for s in self.slots] or table.row_count != len(keys):
            table.clear()
            for slot in slots:
                table.add_row(*(Text(cell) for cell in slot_cells(slot)), key=str(slot.id))
        else:
            for slot in slots:
                for (column, _), cell in zip(SLOT_COLUMNS, slot_cells(slot), strict=True):
                    table.update_cell(str(slot.id), column, Text(cell))
        self.slots = slots

    def _slots_note(self, text: str) -> None:
        heading = self.query_one("#slots-heading", Static)
        heading.update(Content.assemble("Slots", (f"  {text}", "$text-muted") if text else ""))

    def _show_metrics(self, result: object, now: float) -> None:
        box = self.query_one("#metrics", Static)
        if isinstance(result, NotSupported):
            self._error("/metrics", None)
            self.metrics_supported = False
            self.metrics = None
            self.history.reset()
            text = Content.styled(METRICS_DISABLED, "$text-muted")
            if self.decode.seen_busy:  # /slots still tells how fast it generates
                text = Content.assemble(text, "\n", live_generation_line(self.decode.latest))
            box.update(text)
            self._show_sparklines()
            return
        if isinstance(result, BaseException):
            self._error("/metrics", result)
            return
        self._error("/metrics", None)
        assert isinstance(result, dict)
        self.metrics_supported = True
        self.metrics = result
        self.history.add(now, result)
        live = self.decode.latest if self.slots else None
        box.update(metrics_content(MetricsSummary.from_metrics(result), self.history, live))
        self._show_sparklines()

    def _show_sparklines(self) -> None:
        """Prompt speed from /metrics; generation speed from /slots when it answers (live), else
        from /metrics (known only when each request ends)."""
        sparks = self.query_one("#sparklines")
        live = bool(self.slots) and self.decode.seen_busy
        sparks.set_class(not (self.metrics_supported or live), "-hidden")
        minutes = self.history.window / 60
        span = f"last {minutes:g} min" if minutes >= 1 else f"last {self.history.window:g} s"
        points = self.history.capacity
        generation = self.decode.series(points) if live else self.history.generation_series(points)
        for name, series, shown in (
            ("prompt", self.history.prompt_series(points), bool(self.metrics_supported)),
            ("gen", generation, True),
        ):
            title = "prompt tokens/s" if name == "prompt" else "generated tokens/s"
            peak = max(series, default=0.0)
            label = f"{title} · {span} · peak {format_rate(peak)}"
            self.query_one(f"#spark-{name}-label", Static).update(Content(label))
            self.query_one(f"#spark-{name}-label").display = shown
            spark = self.query_one(f"#spark-{name}", Sparkline)
            spark.display = shown
            spark.data = series or [0.0]

    def _show_props(self, result: object, now: float) -> None:
        if isinstance(result, BaseException):
            self._error("/props", result)
            self._props_at = None  # ask again next time
            return
        self._error("/props", None)
        assert isinstance(result, Props)
        self.props = result
        self._props_at = now
        self.query_one("#props", Static).update(props_content(result))

    async def _show_caches(self) -> None:
        cache = self.slot_cache
        if cache is None:
            return
        saved = await cache.saved_caches()
        content = caches_content(
            cache.support,
            saved,
            title={row.session_id: self._session_title(row.session_id) for row in saved[:SHOWN]},
            gain=self._gain(),
            max_bytes=cache.max_bytes,
            now=time.time(),
            events=cache.recent,
        )
        self.query_one("#slot-caches", Static).update(content)

    def _show_status(self) -> None:
        text = "\n".join(f"⚠ {message}" for message in self.errors.values())
        status = self.query_one("#monitor-status", Static)
        status.update(Content(text))
        status.display = bool(text)

    # -- managed server log ----------------------------------------------------------------------

    @work(exclusive=True, group="monitor-log", exit_on_error=False)
    async def _follow_log(self) -> None:
        server = self.server
        if server is None:
            return
        log = self.query_one("#server-log", Log)
        async for batch in server.line_batches():
            log.write_lines([neutralize(line) for line in batch])
        # The output can end a little before the process does (or long before, if it hangs).
        code = await server.wait()
        how = f"with code {code}" if code is None or code >= 0 else f"by signal {-code}"
        log.write_line(f"--- llama-server exited {how} (log: {server.log_path}) ---")
