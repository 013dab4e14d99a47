"""The in-process half of the ``big_open`` benchmark: the real app headless (``run_test``, 120x40,
as bench/tui_driver.py runs it), switching from a small session to one session of a store again and
again, timed from inside; prints one JSON object on its last stdout line. Started by
bench/big_open.py through ``tui_common.run_driver``; not a benchmark itself.

    python -m bench.big_open_driver open --url URL --data-dir DIR --home ID --target ID --rounds N

Each round: back to the home session (settled), then ``Sidebar.SessionSelected(target)`` is posted
from the sidebar (what Enter on a row, ctrl+k or alt+N do) while a thread of its own presses x in
the composer every GAP seconds (``Typist``). Times from the post:

- first frame: the first frame with the target session's structure shown: its last message's view
  mounted, the chat scrolled to the end, no layout pending; a message whose text is still laid out
  in its thread is blank there then (its "laying out…" line is at its top, off screen);
- painted: the first such frame on which, moreover, every mounted message's text is laid out at
  the chat's width: what the user came to see is on screen;
- settled: the screen's show_session returned, no context-meter count running (the prompt
  rendered and /tokenize answered) and no layout thread running; the next frame after that;
- key echo: for each press, from sending the Key event (as the terminal driver's thread does) to
  the first frame after the composer handled it (``Composer._on_key`` wrapped to note the time).

Nothing in llama_tui is changed. VmRSS/VmHWM at the end (one process per case).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .tui_driver import Frames, cpu, make_app, monotonic, ready, rss_kb, run_and_report, send_key, settle, wait_until

GAP = 0.03  # seconds between key presses (a fast typist: 33 keys/s)
TRACE = os.environ.get("BIG_OPEN_TRACE") == "1"  # every frame's conditions, for a look at one case
# Seconds a round may take before it is reported as not settled.
ROUND_LIMIT = float(os.environ.get("BIG_OPEN_ROUND_LIMIT", "120"))


class KeyLog:
    """Wraps Composer._on_key (class level, observe only): when each key was handled."""

    def __init__(self) -> None:
        from llama_tui.widgets.composer import Composer

        self.handled: list[float] = []
        original = Composer._on_key
        log = self

        async def _on_key(composer: Any, event: Any) -> None:
            await original(composer, event)
            if event.key == "x":
                log.handled.append(monotonic())

        Composer._on_key = _on_key  # type: ignore[method-assign]


class Typist(threading.Thread):
    """Presses x every GAP seconds from a thread of its own, as a terminal driver's input thread
    posts keys (Driver.send_message is thread-safe): a press made while the event loop is blocked
    waits in the queue, and its echo measures the block (a coroutine on the loop could not press
    then). Each press waits for the echo of the one before, as a typist watching the screen would."""

    def __init__(self, app: Any, frames: Frames, keys: KeyLog, t0: float) -> None:
        super().__init__(daemon=True)
        self.app, self.frames, self.keys, self.t0 = app, frames, keys, t0
        self.presses: list[list[float]] = []  # [seconds after t0, echo latency]
        self.halt = threading.Event()
        self._want = 0
        self._echo = threading.Event()
        self._echo_at = 0.0
        frames.probes.append(self._probe)

    def _probe(self, now: float) -> None:  # in the app's loop, after each frame
        if self._want and not self._echo.is_set() and len(self.keys.handled) >= self._want:
            self._echo_at = now
            self._echo.set()

    def run(self) -> None:
        while not self.halt.is_set():
            self._echo.clear()
            self._want = len(self.keys.handled) + 1
            sent = monotonic()
            send_key(self.app, "x")
            if not self._echo.wait(ROUND_LIMIT):
                self._echo_at = monotonic()
            latency = self._echo_at - sent
            self.presses.append([round(sent - self.t0, 4), round(latency, 4)])
            time.sleep(max(0.0, GAP - latency))

    def finish(self) -> list[list[float]]:
        self.halt.set()
        self.join()
        self.frames.probes.remove(self._probe)
        return self.presses


def context_busy(app: Any) -> bool:
    from textual.worker import WorkerState

    active = (WorkerState.PENDING, WorkerState.RUNNING)
    return any(w.group in ("context", "layout") and w.state in active for w in app.workers)


async def open_once(app: Any, frames: Frames, keys: KeyLog, target: int, last_id: int) -> dict[str, Any]:
    from llama_tui.widgets.chat_pane import ChatPane
    from llama_tui.widgets.composer import Composer
    from llama_tui.widgets.message_body import MessageBody
    from llama_tui.widgets.message_view import MessageView
    from llama_tui.widgets.sidebar import Sidebar

    screen = app.main
    chat = screen.query_one(ChatPane)
    composer = screen.query_one(Composer)
    composer.focus()
    composer.set_text("")
    returned: list[float] = []
    original = screen.show_session

    async def show_session(*a: Any, **kw: Any) -> None:
        await original(*a, **kw)
        returned.append(monotonic())

    screen.show_session = show_session
    await settle(frames, quiet=0.2)
    first: list[float] = []
    painted: list[float] = []

    def shown() -> bool:
        views = chat.views()
        return (
            screen.session is not None
            and screen.session.id == target
            and bool(views)
            and views[-1].message.id == last_id
            and (chat.scroll_y >= chat.max_scroll_y or chat.max_scroll_y == 0)  # short: Textual anchors it < 0
            and not screen._layout_required
        )

    def texts_laid_out() -> bool:
        """Every mounted message laid out at its width, with the height that gives it, and the last
        one's end in the viewport (the frame that adopts a thread's layout has the new lines but
        the chat's scroll and size of before: it is the next one that shows the end)."""
        for view in chat.query(MessageView):
            bodies = view.query(MessageBody)
            if not bodies:
                return False  # not composed yet
            body = bodies.first()
            if body._threaded is not None or body._shown_width != body.size.width:
                return False
            if (body.source and not body._shown) or body.size.height != len(body._shown):
                return False
        views = chat.views()
        bottom = views[-1].virtual_region.bottom if views else 0
        return chat.scroll_y <= bottom <= chat.scroll_y + chat.scrollable_content_region.height + 1

    def probe(now: float) -> None:
        if TRACE:
            views = chat.views()
            trace.append(
                [
                    round(now - t0, 4),
                    shown(),
                    texts_laid_out(),
                    screen.session.id if screen.session else None,
                    views[-1].message.id if views else None,
                    screen._layout_required,
                    chat.scroll_y,
                    chat.max_scroll_y,
                    views[-1].virtual_region.bottom if views else None,
                    [(b.size.height, len(b._shown)) for b in chat.query(MessageBody)],
                ]
            )
        if not first and shown():
            first.append(now)
        if first and not painted and shown() and texts_laid_out():
            painted.append(now)

    trace: list[list[Any]] = []
    frames.probes.append(probe)
    t0, c0 = monotonic(), cpu()
    typist = Typist(app, frames, keys, t0)
    typist.start()
    screen.query_one(Sidebar).post_message(Sidebar.SessionSelected(target))
    timed_out = False
    try:
        await wait_until(lambda: bool(painted) and bool(returned) and not context_busy(app), ROUND_LIMIT, "settled")
    except TimeoutError:
        timed_out = True
    t_settled = monotonic()
    t_frame = await frames.next_frame(t_settled, timeout=0.5)
    c1 = cpu()
    presses = await asyncio.to_thread(typist.finish)
    frames.probes.remove(probe)
    screen.show_session = original
    meter = screen.server.context
    views = chat.views()
    state = {  # what held at the end (says which condition a round that timed out was waiting for)
        "session": screen.session.id if screen.session else None,
        "last_view": views[-1].message.id if views else None,
        "scroll": [chat.scroll_y, chat.max_scroll_y],
        "layout_required": screen._layout_required,
        "laid_out": texts_laid_out(),
        "show_session_returned": bool(returned),
        "context_busy": context_busy(app),
    }
    return {
        "first_frame_s": first[0] - t0 if first else None,
        "painted_s": painted[0] - t0 if painted else None,
        "returned_s": returned[0] - t0 if returned else None,
        "settled_s": (t_frame or t_settled) - t0,
        "cpu_s": c1 - c0,
        "timed_out": timed_out,
        "presses": presses,
        "key_max_s": max((p[1] for p in presses), default=None),
        "context_tokens": meter.used if meter is not None and meter.session_id == target else None,
        "focus_on_composer": app.focused is composer,
        "state": state,
        **({"trace": trace} if TRACE else {}),
    }


async def go_home(app: Any, frames: Frames, home: int) -> None:
    screen = app.main
    await screen.open_session(home)
    await wait_until(lambda: screen.session.id == home and not context_busy(app), ROUND_LIMIT, "home")
    await settle(frames, quiet=0.2)


async def mode_open(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data_dir)
    keys = KeyLog()
    app = make_app(args.url, data, initial_session=args.home)
    rounds: list[dict[str, Any]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        await ready(app)
        await wait_until(lambda: not context_busy(app), ROUND_LIMIT, "the home session's context meter")
        for _ in range(args.rounds):
            await go_home(app, frames, args.home)
            rounds.append(await open_once(app, frames, keys, args.target, args.last_id))
        await go_home(app, frames, args.home)
        out = {"rounds": rounds, "rss_kb": rss_kb()}
        del pilot
    app.store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.big_open_driver")
    p.add_argument("mode", choices=("open",))
    p.add_argument("--url", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--home", type=int, required=True)
    p.add_argument("--target", type=int, required=True)
    p.add_argument("--last-id", type=int, required=True, help="the id of the target session's last message")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", metavar="FILE", help="cProfile the run into FILE (pstats format)")
    args = p.parse_args(argv)
    return run_and_report(mode_open(args), args.profile)


if __name__ == "__main__":
    sys.exit(main())
