"""ServerMonitorScreen against the real llama-server: slot rows, /metrics figures, the
"metrics disabled" line, /props facts, the managed server's log, Escape; and markup safety."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

from textual.app import App
from textual.content import Content
from textual.widgets import DataTable, Log, Sparkline, Static

from llama_tui.client import LlamaCppClient
from llama_tui.client.types import Props, Slot, parse_metrics
from llama_tui.metrics import format_count
from llama_tui.screens.monitor import METRICS_DISABLED, ServerMonitorScreen, props_content, slot_cells
from llama_tui.server import ManagedServer
from tests.harness.app import wait_for


class MonitorApp(App[None]):
    """Opens the monitor over an empty default screen."""

    def __init__(self, client: LlamaCppClient, **kwargs: Any) -> None:
        super().__init__()
        self.client = client
        self.monitor = ServerMonitorScreen(client, interval=0.1, **kwargs)

    def on_mount(self) -> None:
        self.push_screen(self.monitor)


def text_of(screen: ServerMonitorScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    assert isinstance(content, Content)
    return content.plain


def table_rows(screen: ServerMonitorScreen) -> list[list[str]]:
    table = screen.query_one("#slots", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def server_metrics(server: Any) -> dict[str, float]:
    status, body = server.request("GET", "/metrics")
    assert status == 200
    return parse_metrics(body.decode())


async def test_monitor_shows_slots_metrics_and_props(llama_server_metrics: Any) -> None:
    async with LlamaCppClient(llama_server_metrics.url) as client:
        await client.complete("<|im_start|>user\nhi<|im_end|>\n", n_predict=12, ignore_eos=True)
        slots = await client.slots()
        props = await client.props()
        app = MonitorApp(client)
        async with app.run_test(size=(140, 45)) as pilot:
            screen = app.monitor
            await wait_for(pilot, lambda: screen.updates >= 1 and screen.query_one("#slots", DataTable).row_count > 0)
            # One row per slot the server reports, with its id, state and context size.
            assert table_rows(screen) == [list(slot_cells(s)) for s in slots]
            assert [row[1] for row in table_rows(screen)] == ["idle"] * len(slots)
            assert table_rows(screen)[0][2] == format_count(slots[0].n_ctx)

            # /metrics: the figures the server reports right now.
            before = server_metrics(llama_server_metrics)
            predicted = before["llamacpp:tokens_predicted_total"]
            pattern = rf"generated\s+{re.escape(format_count(predicted))} tokens"
            await wait_for(pilot, lambda: re.search(pattern, text_of(screen, "#metrics")) is not None)
            metrics_text = text_of(screen, "#metrics")
            assert "processing 0 · deferred 0" in metrics_text
            assert screen.metrics_supported is True
            assert screen.query_one("#sparklines").display

            # A completion while the screen is open shows up in the totals and the sparkline.
            await client.complete("<|im_start|>user\nmore<|im_end|>\n", n_predict=16, ignore_eos=True)
            after = server_metrics(llama_server_metrics)["llamacpp:tokens_predicted_total"]
            assert after == predicted + 16
            pattern = rf"generated\s+{re.escape(format_count(after))} tokens"
            await wait_for(pilot, lambda: re.search(pattern, text_of(screen, "#metrics")) is not None)
            await wait_for(pilot, lambda: max(screen.history.generation_series(), default=0) > 0)
            spark = screen.query_one("#spark-gen", Sparkline)
            assert spark.data is not None and max(spark.data) > 0
            assert "peak 0 t/s" not in text_of(screen, "#spark-gen-label")

            # /props facts.
            await wait_for(pilot, lambda: screen.props is not None)
            facts = text_of(screen, "#props")
            assert props.model_path in facts
            assert props.build_info in facts
            assert f"{format_count(props.n_ctx)} tokens per slot" in facts
            assert "<|im_start|>" in facts  # first lines of the chat template
            assert re.search(r"sleeping\s+no", facts)
            assert not screen.errors

            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is not screen)


async def test_monitor_says_metrics_are_disabled(llama_server: Any) -> None:
    async with LlamaCppClient(llama_server.url) as client:
        slots = await client.slots()
        app = MonitorApp(client)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.monitor
            await wait_for(pilot, lambda: screen.metrics_supported is False)
            assert text_of(screen, "#metrics") == METRICS_DISABLED
            assert not screen.query_one("#sparklines").display
            await wait_for(pilot, lambda: len(table_rows(screen)) == len(slots) == 2)
            assert not screen.errors  # disabled is not an error
            # The refresh loop keeps going without blocking the UI.
            seen = screen.updates
            await wait_for(pilot, lambda: screen.updates >= seen + 3)


async def generate_long(client: LlamaCppClient, seen: Any) -> bool:
    """One long generation (until the context is full), streamed until `seen()` is true; False
    if it ended first."""
    async for _ in client.stream_completion("<|im_start|>user\ncount<|im_end|>\n", n_predict=100_000, ignore_eos=True):
        if seen():
            return True
    return False


def generated_now(screen: ServerMonitorScreen) -> float:
    match = re.search(r"(?:generated|generating)\s.*?now ([\d,.]+) t/s", text_of(screen, "#metrics"))
    return float(match.group(1).replace(",", "")) if match else 0.0


async def test_the_monitor_shows_the_live_generation_speed_without_metrics(big_context_server: Any) -> None:
    """#13.10: without --metrics the monitor had no rate at all during a generation."""
    async with LlamaCppClient(big_context_server.url) as client:
        app = MonitorApp(client)
        async with app.run_test(size=(140, 45)) as pilot:
            screen = app.monitor
            await wait_for(pilot, lambda: screen.metrics_supported is False)
            assert await generate_long(client, lambda: generated_now(screen) > 0)
            assert "(from /slots)" in text_of(screen, "#metrics")
            assert screen.query_one("#sparklines").display
            assert max(screen.query_one("#spark-gen", Sparkline).data or [0]) > 0
            assert not screen.query_one("#spark-prompt", Sparkline).display  # that one needs --metrics


async def test_the_monitor_shows_the_live_generation_speed_with_metrics(fresh_llama_server: Any) -> None:
    """#13.10: with --metrics it said `now 0 t/s` (and the sparkline stayed flat) all through a
    generation: the counters grow only when a request ends."""
    server = fresh_llama_server(metrics=True, ctx_size=4096)
    async with LlamaCppClient(server.url) as client:
        app = MonitorApp(client)
        async with app.run_test(size=(140, 45)) as pilot:
            screen = app.monitor
            await wait_for(pilot, lambda: screen.metrics_supported is True)
            assert await generate_long(client, lambda: generated_now(screen) > 0 and screen.slots[0].is_processing)
            assert max(screen.query_one("#spark-gen", Sparkline).data or [0]) > 0


async def test_monitor_shows_the_managed_servers_log(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> None:
    args = ["-t", "1", "-c", "2048", "--metrics"]
    server = ManagedServer(chatml_model, binary=llama_server_bin, args=args, log_path=tmp_path / "server.log")
    try:
        await server.wait_healthy(60)
        async with LlamaCppClient(server.url) as client:
            app = MonitorApp(client, server=server)
            async with app.run_test(size=(140, 45)) as pilot:
                log = app.monitor.query_one("#server-log", Log)
                await wait_for(pilot, lambda: any("listening on" in line for line in log.lines))
                assert server.pid is not None
                os.kill(server.pid, signal.SIGKILL)  # a crash
                await wait_for(pilot, lambda: "llama-server exited by signal 9" in log.lines[-1])
                # The server is gone: the monitor says so instead of failing.
                await wait_for(pilot, lambda: "/slots" in app.monitor.errors)
                status = text_of(app.monitor, "#monitor-status")
                assert "cannot reach llama-server" in status
    finally:
        await server.stop()


def test_server_text_is_never_markup() -> None:
    hostile = "[b]bold[/b] [link=http://x]y[/link] \x1b]52;c;AAAA\x07 \x9b2J"
    props = Props(
        n_ctx=4096,
        total_slots=1,
        model_path=f"/models/{hostile}.gguf",
        model_alias="",
        chat_template=f"{{{{ messages }}}}\n{hostile}\n" + "\n".join(f"line {i}" for i in range(20)),
        bos_token="<s>",
        eos_token="</s>",
        build_info=hostile,
        is_sleeping=True,
        modalities={"vision": True, "audio": False},
        default_params={},
    )
    plain = props_content(props).plain
    assert "[b]bold[/b] [link=http://x]y[/link]" in plain  # shown literally
    assert "\x1b" not in plain and "\x07" not in plain and "\x9b" not in plain
    assert "␛]52;c;AAAA␇" in plain
    assert "modalities  vision" in plain
    assert re.search(r"sleeping\s+yes", plain)
    assert "… 16 more lines" in plain  # 22 template lines, 6 shown
    slot = Slot.from_json({"id": 3, "n_ctx": 512, "is_processing": True, "id_task": 7, "n_prompt_tokens": 9,
                           "next_token": [{"n_decoded": 42}]})  # fmt: skip
    assert slot_cells(slot) == ("3", "busy", "512", "42", "9", "7")
    assert slot_cells(Slot.from_json({"id": 0, "n_ctx": 512})) == ("0", "idle", "512", "0", "-", "-")
