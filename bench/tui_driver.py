"""Runs the real llama-tui app headless (``App.run_test(size=(120, 40))``, as tests/tui do) in a process
of its own and measures it from inside; prints one JSON object on its last stdout line. Started by
the TUI benchmarks through ``tui_common.run_driver``; not a benchmark itself.

    python -m bench.tui_driver stream --url URL --tokens N      # one answer streamed from the replay server
    python -m bench.tui_driver burst  --url URL --levels 1000,10000 --burst 200
    python -m bench.tui_driver input  --url URL --tokens N --presses 50
    python -m bench.tui_driver scale  --url URL --data-dir DIR --big-session ID
    python -m bench.tui_driver hello                             # a bare Textual app (tmux baseline)

Nothing in llama_tui is changed. Instrumentation only observes:

- frames: ``App._display`` is wrapped to note the time of every compositor update (headless, Textual
  does all the work of a frame (layout, compositing, the update's strips) except encoding it for the
  terminal and writing it); a frame "shows" a state if the state held when the frame was made;
- ``MessageView.finish`` and ``MessageView.write`` and ``MessageBody.append`` are wrapped to note
  when they return / how often they run;
- CPU time is ``time.process_time()`` (all threads of this process, the layout thread included).

Times are ``time.monotonic()`` (CLOCK_MONOTONIC: the same clock as the replay server's
``last_event_sent``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

monotonic = time.monotonic
cpu = time.process_time


def rss_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


class Frames:
    """Wraps app._display: the monotonic time of every frame, and optional per-frame probes."""

    def __init__(self, app: Any) -> None:
        self.times: list[float] = []
        self.probes: list[Callable[[float], None]] = []
        original = app._display

        def _display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None and not app._batch_count:
                now = monotonic()
                self.times.append(now)
                for probe in list(self.probes):
                    probe(now)

        app._display = _display

    def after(self, t: float) -> float | None:
        for x in self.times:
            if x >= t:
                return x
        return None

    def count_between(self, a: float, b: float) -> int:
        return sum(1 for x in self.times if a <= x <= b)

    async def next_frame(self, after: float, timeout: float = 0.5) -> float | None:
        deadline = monotonic() + timeout
        while monotonic() < deadline:
            t = self.after(after)
            if t is not None:
                return t
            await asyncio.sleep(0.001)
        return None


class Hooks:
    """Class-level wrappers on MessageView.write/finish and MessageBody.append (observe only)."""

    def __init__(self) -> None:
        from llama_tui.widgets.message_body import MessageBody
        from llama_tui.widgets.message_view import MessageView

        self.finished: list[float] = []
        self.writes = 0
        self.first_write: float | None = None
        self.write_marks: list[tuple[int, float, float]] = []  # (writes, monotonic, cpu) every 100 writes
        self.appends = 0  # updates of the message's text on screen
        hooks = self

        orig_finish = MessageView.finish
        orig_write = MessageView.write
        orig_append = MessageBody.append

        async def finish(view: Any, message: Any) -> None:
            await orig_finish(view, message)
            hooks.finished.append(monotonic())

        async def write(view: Any, text: str) -> None:
            hooks.writes += 1
            if hooks.first_write is None:
                hooks.first_write = monotonic()
            if hooks.writes % 100 == 0:
                hooks.write_marks.append((hooks.writes, monotonic(), cpu()))
            await orig_write(view, text)

        def append(body: Any, markdown: str) -> None:
            hooks.appends += 1
            orig_append(body, markdown)

        MessageView.finish = finish  # type: ignore[method-assign]
        MessageView.write = write  # type: ignore[method-assign]
        MessageBody.append = append  # type: ignore[method-assign]

    def marks(self, t0: float, c0: float) -> list[tuple[int, float, float]]:
        """(writes, seconds, CPU seconds) since (t0, c0), every 100 writes."""
        return [(n, round(t - t0, 4), round(c - c0, 4)) for n, t, c in self.write_marks]


def make_app(url: str, data_dir: Path, **kwargs: Any) -> Any:
    """The app as tests/tui/conftest.py builds it (the way launch.py does)."""
    from llama_tui.app import LlamaTui
    from llama_tui.client import LlamaCppClient
    from llama_tui.config import Config
    from llama_tui.store import Store

    store = Store.open(data_dir / "sessions.sqlite3")
    store.mark_streaming_interrupted()
    cfg = Config(server_url=url)
    client = LlamaCppClient(url, None, read_timeout=cfg.read_timeout)
    return LlamaTui(config=cfg, client=client, store=store, config_path=data_dir / "config.toml", **kwargs)


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.01) -> None:
    deadline = monotonic() + timeout
    while not predicate():
        if monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(step)


async def ready(app: Any, *, server: bool = True) -> Any:
    from llama_tui.server_state import ServerState

    await wait_until(lambda: len(app.screen_stack) > 1 and app.main.session is not None, 30, "a session")
    screen = app.main
    if server:
        await wait_until(lambda: screen.server_state is ServerState.OK, 30, "the server to be OK")
    await asyncio.sleep(0.2)
    return screen


def replay_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/replay-stats", timeout=10) as resp:
        return json.loads(resp.read())


async def submit(pilot: Any, screen: Any, text: str) -> float:
    from llama_tui.widgets.composer import Composer

    composer = screen.query_one(Composer)
    composer.focus()
    composer.set_text(text)
    await pilot.pause()
    t0 = monotonic()
    send_key(pilot.app, "enter")  # what pilot.press sends, without its wait for the app to look idle
    return t0


def send_key(app: Any, key: str) -> None:
    """Queue a key press exactly as Pilot.press does (App._press_keys: driver.send_message)."""
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


async def settle(frames: Frames, quiet: float = 0.3, limit: float = 3.0) -> float:
    """Wait until no frame came for ``quiet`` seconds (or ``limit``); returns the last frame's time."""
    start = monotonic()
    while monotonic() - start < limit:
        last = frames.times[-1] if frames.times else start
        if monotonic() - max(last, start) >= quiet:
            break
        await asyncio.sleep(0.02)
    return frames.times[-1] if frames.times else start


# -- stream ------------------------------------------------------------------------------------------------------


async def mode_stream(args: argparse.Namespace) -> dict[str, Any]:
    """Submit a prompt; the replay server streams the markdown answer (at its --rate). Reports the lag
    from the server's last event to the frame showing the settled answer, and CPU over the stream."""
    from llama_tui.sanitize import neutralize
    from llama_tui.widgets.chat_pane import ChatPane
    from llama_tui.widgets.message_view import MessageView

    from .tui_common import markdown_pieces

    expected = "".join(markdown_pieces(args.tokens))
    hooks = Hooks()
    data = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    app = make_app(args.url, data)
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        screen = await ready(app)
        chat = screen.query_one(ChatPane)
        # The replay server may have served earlier runs: only a new last_event_sent is this stream's.
        stale_last_event = replay_stats(args.url).get("last_event_sent")
        # Complete on screen: the first frame after MessageView.finish (which awaits the final
        # update of the document) that shows the answer at its final size and scroll position
        # (the values of the settled screen), i.e. no later layout pass changes it.
        after_finish: list[tuple[float, tuple[int, float]]] = []

        def geometry() -> tuple[int, float]:
            return screen.query(MessageView).last().outer_size.height, chat.scroll_y

        def probe(now: float) -> None:
            if hooks.finished:
                after_finish.append((now, geometry()))

        frames.probes.append(probe)
        t_submit = await submit(pilot, screen, "Write a long markdown answer, please.")
        cpu_submit = cpu()
        # Bounded: a stream the app cannot keep up with is reported as "not finished within max_wait
        # seconds of the last event" instead of holding the benchmark up for minutes.
        deadline: list[float] = []
        while not hooks.finished:
            stats = replay_stats(args.url) if not deadline else None
            if stats and stats.get("last_event_sent") not in (None, stale_last_event):
                deadline.append(stats["last_event_sent"] + args.max_wait)
            if deadline and monotonic() > deadline[0]:
                view = screen.query(MessageView).last()
                timed_out = {
                    "finished": False,
                    "max_wait_s": args.max_wait,
                    "tokens": args.tokens,
                    "writes_at_timeout": hooks.writes,
                    "chars_shown_at_timeout": len(view.shown_markdown),
                    "appends": hooks.appends,
                    "cpu_s": cpu() - cpu_submit,
                    "wall_s": monotonic() - t_submit,
                    "write_marks": [
                        (n, round(t - t_submit, 4), round(c - cpu_submit, 4)) for n, t, c in hooks.write_marks
                    ],
                }
                screen.action_stop()
                return timed_out
            # Polled rarely: the poll is a blocking HTTP request in the app's process (its CPU counts
            # as the app's); the finish time comes from the hook, not from this loop.
            await asyncio.sleep(0.5 if not deadline else 0.05)
        t_finish = hooks.finished[0]
        cpu_finish = cpu()
        t_frame = await frames.next_frame(t_finish)
        t_settled = await settle(frames)
        frames.probes.remove(probe)
        final = geometry()
        complete = [t for t, g in after_finish if g == final][:1]
        view = screen.query(MessageView).last()
        source = view.shown_markdown
        stats = replay_stats(args.url)
        t_sent = stats["last_event_sent"]
        first = hooks.first_write or t_submit
        marks = hooks.write_marks
        out = {
            "finished": True,
            "tokens": args.tokens,
            "chars": len(expected),
            "submit_to_first_token_s": first - t_submit,
            "stream_s": t_sent - first,
            "last_event_to_finish_s": t_finish - t_sent,
            "last_event_to_frame_s": (t_frame - t_sent) if t_frame else None,
            "last_event_to_complete_s": (complete[0] - t_sent) if complete else None,
            "last_event_to_settled_s": t_settled - t_sent,
            "finish_to_frame_s": (t_frame - t_finish) if t_frame else None,
            "cpu_submit_to_finish_s": cpu_finish - cpu_submit,
            "wall_submit_to_finish_s": t_finish - t_submit,
            "cpu_stream_s": cpu_finish - (marks[0][2] if marks else cpu_submit),
            "wall_stream_s": t_finish - (marks[0][1] if marks else t_submit),
            "write_marks": hooks.marks(t_submit, cpu_submit),
            "writes": hooks.writes,
            "appends": hooks.appends,
            "frames_during": frames.count_between(t_submit, t_finish),
            "source_complete": source == neutralize(expected),
            "content_complete": view.message.content == expected,
            "state": view.message.state,
            "footer": str(view.query_one(".footer").render()),
            "replay": stats,
            "rss_kb": rss_kb(),
        }
    app.store.close()
    return out


# -- burst ------------------------------------------------------------------------------------------------------


async def mode_burst(args: argparse.Namespace) -> dict[str, Any]:
    """Grow one answer's document (through MessageView.write, as the stream does) and, when it holds
    each of ``levels`` characters, time how long the app takes to absorb a burst of ``burst`` tokens
    written back to back: until the PacedMarkdownStream has nothing pending and a frame shows it.

    Every burst is the same text (the first ``burst`` tokens of the document: a heading, a paragraph,
    a list...), written at a section boundary (the fill goes on past the level to the next blank
    line before a heading), so the levels differ only in how much is already shown, not in what
    kind of markdown the burst holds (a code fence costs more per token than a paragraph)."""
    from llama_tui.domain import ChatMessage
    from llama_tui.widgets.chat_pane import ChatPane

    from .tui_common import markdown_pieces

    levels = sorted(int(x) for x in args.levels.split(","))
    pieces = markdown_pieces(max(args.tokens, int(levels[-1] / 3.5) + 3000))
    hooks = Hooks()
    data = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    app = make_app(args.url, data)
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        screen = await ready(app)
        chat = screen.query_one(ChatPane)
        sid = screen.session.id
        # Warm-up (not measured): one answer with every kind of block, so first-use costs (CSS for new
        # widget types, the code highlighter) are paid before the bursts; then removed.
        warm = await chat.add(ChatMessage(role="assistant", content="", state="streaming", session_id=sid))
        warm.start_stream()
        for p in pieces[:700]:
            await warm.write(p)
        await warm._stream.stop()
        await warm.remove()
        await settle(frames, quiet=0.1, limit=2.0)
        user = ChatMessage(role="user", content="Write a long markdown answer, please.", session_id=sid)
        await chat.add(user)
        view = await chat.add(ChatMessage(role="assistant", content="", state="streaming", session_id=sid))
        view.start_stream()

        def busy() -> bool:
            return view._stream.busy

        async def absorbed(since: float) -> float:
            while busy():
                await asyncio.sleep(0.0005)
            assert len(view.shown_markdown) == shown, (len(view.shown_markdown), shown)
            t_abs = monotonic()
            # The frame that shows it: the first one after the last append returned.
            t = await frames.next_frame(t_abs, timeout=0.2)
            return t if t is not None else t_abs

        burst_pieces = pieces[: args.burst]
        written: list[str] = []

        def at_section_start() -> bool:
            return pieces[i] == "#" and "".join(written[-2:]).endswith("\n\n")

        i = 0
        shown = 0
        for level in levels:
            while shown < level or not at_section_start():  # fill, letting the app keep up
                for p in pieces[i : i + 1000]:
                    await view.write(p)
                    written.append(p)
                    shown += len(p)
                    i += 1
                    if shown >= level and at_section_start():
                        break
                await absorbed(monotonic())
            await asyncio.sleep(0.15)
            await settle(frames, quiet=0.1, limit=1.0)
            appends0, frames0 = hooks.appends, len(frames.times)
            c0, t0 = cpu(), monotonic()
            before = shown
            for p in burst_pieces:
                await view.write(p)
                shown += len(p)
            t_end = await absorbed(t0)
            c1 = cpu()
            written.extend(burst_pieces)
            # Close the burst's section so the fill resumes at a block boundary.
            for p in ("\n", "\n"):
                await view.write(p)
                written.append(p)
                shown += len(p)
            burst_chars = shown - before
            results.append(
                {
                    "level_chars": level,
                    "chars_before": before,
                    "burst_tokens": args.burst,
                    "burst_chars": burst_chars,
                    "wall_s": t_end - t0,
                    "cpu_s": c1 - c0,
                    "appends": hooks.appends - appends0,
                    "frames": len(frames.times) - frames0,
                    "sections": len(view.markdown.document.sections()),
                }
            )
        await view._stream.stop()
        del pilot
    app.store.close()
    return {"bursts": results, "rss_kb": rss_kb()}


# -- input ------------------------------------------------------------------------------------------------------


async def mode_input(args: argparse.Namespace) -> dict[str, Any]:
    """Key press -> echo: send the Key event pilot.press sends (driver.send_message), time the first
    frame whose Composer text holds the new character. First with no stream (baseline), then while
    the replay server streams the answer."""
    from llama_tui.widgets.composer import Composer

    hooks = Hooks()
    data = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    app = make_app(args.url, data)
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        screen = await ready(app)
        composer = screen.query_one(Composer)
        composer.focus()
        await pilot.pause()

        async def press_x(timeout: float = 10.0) -> dict[str, Any]:
            want = composer.text.count("x") + 1
            seen: list[float] = []

            def probe(now: float) -> None:
                if not seen and composer.text.count("x") >= want:
                    seen.append(now)

            frames.probes.append(probe)
            t0 = monotonic()
            send_key(app, "x")
            deadline = t0 + timeout
            while not seen and monotonic() < deadline:
                await asyncio.sleep(0.001)
            frames.probes.remove(probe)
            if not seen:
                raise TimeoutError(f"no echo after {timeout}s")
            return {"latency_s": seen[0] - t0, "at_s": t0}

        async def series(n: int, gap: float, until: Callable[[], bool] | None = None) -> list[dict[str, Any]]:
            out = []
            for _ in range(n):
                if until is not None and until():
                    break
                r = await press_x()
                r["writes"] = hooks.writes
                out.append(r)
                await asyncio.sleep(max(0.0, gap - r["latency_s"]))
            return out

        baseline = await series(args.presses, args.gap)
        composer.set_text("")
        await pilot.pause()
        t_submit = await submit(pilot, screen, "Write a long markdown answer, please.")
        await wait_until(lambda: hooks.writes > 0, 30, "the first token", 0.002)
        assert hooks.first_write is not None
        t_first = hooks.first_write
        t_presses = monotonic()
        # --whole-stream: press until the answer is complete (however many presses that takes).
        count = 100_000 if args.whole_stream else args.presses
        during = await series(count, args.gap, until=lambda: bool(hooks.finished))
        stream_finished = bool(hooks.finished)
        t_finish = hooks.finished[0] if hooks.finished else monotonic()
        if not stream_finished:  # do not wait for an app that lags far behind: stop the answer
            screen.action_stop()
            await wait_until(lambda: bool(hooks.finished), 120, "the stopped answer to finish", 0.01)
        stats = replay_stats(args.url)
        in_stream = [r for r in during if r["at_s"] + r["latency_s"] <= t_finish]
    app.store.close()
    return {
        "baseline": [r["latency_s"] for r in baseline],
        "during": [r["latency_s"] for r in in_stream],
        "during_all": [r["latency_s"] for r in during],
        "during_writes": [r["writes"] for r in in_stream],
        "during_at_s": [r["at_s"] - t_first for r in in_stream],
        "stream_s": stats["last_event_sent"] - t_first if stats.get("last_event_sent") else None,
        "finish_after_first_token_s": t_finish - t_first,
        "stream_finished_before_presses_ended": stream_finished,
        "submit_to_first_token_s": t_first - t_submit,
        "presses_start_after_first_token_s": t_presses - t_first,
        "tokens_written": hooks.writes,
    }


# -- scale ------------------------------------------------------------------------------------------------------


async def mode_scale(args: argparse.Namespace) -> dict[str, Any]:
    """A store of N sessions (a copy, in --data-dir) with one big session. Starts on the newest small
    session; times (a) switching to the big session until the frame that shows its last screen,
    (b) refresh_sessions (store query + Sidebar.set_sessions) until the frame that shows it;
    (c) VmRSS after all that; (d) ctrl+f search: the search screen, a query started (no debounce)
    until the frame that shows its hits, for a rare word (one session holds it: a specific message,
    as users search) and for two common words (thousands of hits to rank)."""
    from llama_tui.widgets.chat_pane import ChatPane
    from llama_tui.widgets.message_view import MessageView
    from llama_tui.widgets.sidebar import Sidebar

    from .tui_common import BIG_SESSION_MESSAGES

    data = Path(args.data_dir)
    add_rare_session(data)
    t_start, cpu_start = monotonic(), cpu()
    rss_start = rss_kb()
    app = make_app(args.url, data, initial_session=args.small_session)
    out: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        screen = await ready(app, server=False)
        out["ready_s"] = monotonic() - t_start
        out["ready_cpu_s"] = cpu() - cpu_start
        await settle(frames, quiet=0.2)
        chat = screen.query_one(ChatPane)
        sidebar = screen.query_one(Sidebar)
        out["sidebar_options"] = sidebar.session_list.option_count

        def at_bottom() -> bool:
            return chat.max_scroll_y > 0 and chat.scroll_y >= chat.max_scroll_y

        switches = []
        for _ in range(args.repeats):
            await screen.open_session(args.small_session)
            await settle(frames, quiet=0.15)
            c0, t0 = cpu(), monotonic()
            await screen.open_session(args.big_session)
            t_ret = monotonic()
            # The last screen: the newest messages mounted, scrolled to the end, a frame showing it.
            shown: list[float] = []

            def probe(now: float, shown: list[float] = shown) -> None:
                if (
                    not shown
                    and screen.session.id == args.big_session
                    and at_bottom()
                    and not screen._layout_required
                    and chat.query(MessageView)
                ):
                    shown.append(now)

            frames.probes.append(probe)
            await wait_until(lambda shown=shown: bool(shown), 10, "the big session's last screen", 0.001)
            frames.probes.remove(probe)
            switches.append({"wall_s": shown[0] - t0, "returned_s": t_ret - t0, "cpu_s": cpu() - c0})
            await settle(frames, quiet=0.15)
        out["switch"] = switches
        out["big_session_views"] = len(chat.query(MessageView))
        out["big_session_messages"] = BIG_SESSION_MESSAGES

        refreshes = []
        for _ in range(args.repeats):
            await settle(frames, quiet=0.1)
            c0, t0 = cpu(), monotonic()
            sessions = screen.refresh_sessions()
            t_call = monotonic()
            t_frame = await frames.next_frame(t_call, timeout=2.0)
            refreshes.append(
                {
                    "wall_s": (t_frame or t_call) - t0,
                    "call_s": t_call - t0,
                    "cpu_s": cpu() - c0,
                    "sessions": len(sessions),
                }
            )
        # The store query alone, for the split.
        store_q = []
        for _ in range(args.repeats):
            t0 = monotonic()
            app.store.list_sessions()
            store_q.append(monotonic() - t0)
        out["refresh"] = refreshes
        out["list_sessions_s"] = store_q
        out["search"] = {name: await _search_times(app, frames, q, args.repeats) for name, q in SEARCHES.items()}
        await settle(frames, quiet=0.2)
        out["rss_kb"] = rss_kb()
        out["rss_start_kb"] = rss_start
        del pilot
    app.store.close()
    return out


SEARCHES = {"rare": "zygomorphic", "common": "compositor latency"}
RARE_TEXT = "Which flowers are zygomorphic, and why do bees like them?"


def add_rare_session(data_dir: Path) -> None:
    """One more session whose question holds a word no other message has (before the app starts)."""
    from llama_tui.domain import ChatMessage, Session
    from llama_tui.store import Store

    store = Store.open(data_dir / "sessions.sqlite3")
    try:
        store.import_session(
            Session(title="Flowers", created_at=1_600_000_000.0, updated_at=1_600_000_000.0, head_id=1),
            [ChatMessage(id=1, role="user", content=RARE_TEXT, created_at=1_600_000_000.0)],
        )
    finally:
        store.close()


async def _search_times(app: Any, frames: Frames, query: str, repeats: int) -> list[dict[str, Any]]:
    """ctrl+f's screen: from starting the query to the frame that shows its hits."""
    from textual.widgets import Input

    from llama_tui.screens.search import SearchScreen

    out = []
    for _ in range(repeats):
        screen = SearchScreen(app.store)
        await app.push_screen(screen)
        await settle(frames, quiet=0.1)
        field = screen.query_one("#search-input", Input)
        with field.prevent(Input.Changed):
            field.value = query
        c0, t0 = cpu(), monotonic()
        screen._start(query)
        await wait_until(lambda screen=screen: screen._shown_query == query, 60, "search hits", 0.001)
        t_hits = monotonic()
        t_frame = await frames.next_frame(t_hits, timeout=2.0)
        out.append({"wall_s": (t_frame or t_hits) - t0, "cpu_s": cpu() - c0, "hits": screen.results.option_count})
        app.pop_screen()
        await settle(frames, quiet=0.1)
    t0 = monotonic()
    app.store.search(query, limit=100)
    out.append({"store_only_s": monotonic() - t0})
    return out


# -- hello -----------------------------------------------------------------------------------------------------


def mode_hello() -> int:
    """A minimal Textual app (tmux start-up baseline): a Static, a Footer."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello from textual")
            yield Footer()

    Hello().run()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tui_driver")
    p.add_argument("mode", choices=("stream", "burst", "input", "scale", "hello"))
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--tokens", type=int, default=10_000)
    p.add_argument("--levels", default="1000,10000")
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--presses", type=int, default=50)
    p.add_argument("--gap", type=float, default=0.09)
    p.add_argument("--whole-stream", action="store_true", help="input: press until the answer is complete")
    p.add_argument("--data-dir")
    p.add_argument("--big-session", type=int)
    p.add_argument("--small-session", type=int)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--max-wait", type=float, default=60.0, help="stream: give up this long after the last event")
    p.add_argument("--profile", metavar="FILE", help="cProfile the run into FILE (pstats format)")
    args = p.parse_args(argv)
    if args.mode == "hello":
        return mode_hello()
    fn = {"stream": mode_stream, "burst": mode_burst, "input": mode_input, "scale": mode_scale}[args.mode]
    return run_and_report(fn(args), args.profile)


def run_and_report(mode: Coroutine[Any, Any, dict[str, Any]], profile: str | None) -> int:
    """Run a driver mode (under cProfile into `profile` if given) and print its result as the
    last JSON line, which run_driver reads."""
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, mode)
        profiler.dump_stats(profile)
    else:
        result = asyncio.run(mode)
    result["pid"] = os.getpid()
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
