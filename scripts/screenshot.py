#!/usr/bin/env python3
"""Make the README screenshots: the app headless at 120x36 against a scripted fake llama-server.

    .venv/bin/python scripts/screenshot.py [--scene main|compare] [--out FILE]

main (assets/screenshot.svg): a few sessions in the sidebar (one pinned), a question answered with
a fixed markdown answer (heading, list, Python code) and realistic server figures, and the
settings pane open. compare (assets/compare.svg): after that exchange, the compare screen (ctrl+o)
with a temperature sweep answered side by side, its figures and the summary table. The output is
reproducible: fixed clock, fixed answers and timings, a fixed time to first token and shared seed,
the fake server's random port shown as http://127.0.0.1:8080, and a fixed SVG id.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.widgets import Input, TextArea  # noqa: E402

import llama_tui.chat.compare as compare_module  # noqa: E402
import llama_tui.client.api as client_api  # noqa: E402
from llama_tui.app import LlamaTui  # noqa: E402
from llama_tui.client import LlamaCppClient  # noqa: E402
from llama_tui.config import Config  # noqa: E402
from llama_tui.domain import ChatMessage, SamplingSettings, Session  # noqa: E402
from llama_tui.screens.compare import CompareScreen  # noqa: E402
from llama_tui.server_state import ServerState  # noqa: E402
from llama_tui.store import Store  # noqa: E402
from llama_tui.widgets.composer import Composer  # noqa: E402
from llama_tui.widgets.message_view import MessageView  # noqa: E402
from llama_tui.widgets.status_bar import StatusBar  # noqa: E402
from tests.harness.demo_server import COMPARE_SPEC, COMPARE_VARIANTS, DemoServer  # noqa: E402

SIZE = (120, 36)
NOW = 1_790_000_000.0
SHOWN_URL = "http://127.0.0.1:8080"
TTFT_MS = 41.0

QUESTION = "Tell me about llamas, briefly"
ANSWER = """\
## Llamas in a nutshell

Domesticated South American camelids, kept for wool and as pack animals.

- **Social**: keep two or more
- **Diet**: grass hay, fresh water
- **Size**: 1.7–1.8 m, 130–200 kg

```python
herd = ["Dolly", "Pedro"]
for name in herd:
    print(f"{name}: hay ✓")
```
"""
TIMINGS = {
    "cache_n": 0,
    "prompt_n": 48,
    "prompt_ms": 39.9,
    "prompt_per_token_ms": 0.83,
    "prompt_per_second": 1204.3,
    "predicted_n": 512,
    "predicted_ms": 5864.8,
    "predicted_per_token_ms": 11.45,
    "predicted_per_second": 87.3,
}
# (title, age in seconds, pinned), oldest last.
SESSIONS = [
    ("Prompt templates cheat sheet", 6 * 86400, True),
    ("Rust lifetimes, explained simply", 2 * 3600, False),
    ("Q4_K_M vs Q8_0 quantization", 26 * 3600, False),
    ("Three days in Lisbon", 3 * 86400, False),
    ("Regex for ISO 8601 dates", 15 * 86400, False),
    ("SQL window functions", 40 * 86400, False),
]
SYSTEM_PROMPT = "You are a friendly expert on camelids. Answer briefly."
SETTINGS = {"temperature": 0.7, "min_p": 0.1, "n_predict": 1024}


def seed_store(path: Path) -> tuple[Store, int]:
    """The sidebar's sessions with fixed ages, and an empty newest session to chat in."""
    now = [0.0]
    store = Store.open(path, clock=lambda: now[0])
    for title, age, pinned in reversed(SESSIONS):
        now[0] = NOW - age
        session = store.create_session(Session(title=title, template="chatml", pinned=pinned))
        store.add_message(ChatMessage(role="user", content=title, session_id=session.id))
    now[0] = NOW - 20
    chat = store.create_session(
        Session(template="chatml", system_prompt=SYSTEM_PROMPT, settings=SamplingSettings.from_dict(SETTINGS))
    )
    now[0] = NOW
    assert chat.id is not None
    return store, chat.id


def make_deterministic(server_url: str) -> None:
    """Fixed time to first token, and the fixed URL instead of the fake server's random port."""
    ticks = itertools.count()
    perf_counter = lambda: next(ticks) * TTFT_MS / 1000.0  # noqa: E731
    client_api.time = types.SimpleNamespace(**{**vars(time), "perf_counter": perf_counter})  # type: ignore[assignment]
    real_set_server = StatusBar.set_server

    def set_server(bar: StatusBar, url: str, state: ServerState, detail: str = "") -> None:
        real_set_server(bar, SHOWN_URL if url == server_url else url, state, detail.replace(server_url, SHOWN_URL))

    StatusBar.set_server = set_server  # type: ignore[method-assign]


async def wait_for(pilot: Any, predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the app")
        await pilot.pause(0.02)


async def shoot_compare(out: Path) -> None:
    """The compare screen after a first exchange: three temperatures, one seed, side by side."""
    compare_module.SEEDS = random.Random(7)  # type: ignore[assignment]
    async with DemoServer(ANSWER, TIMINGS) as server:
        server.variants = COMPARE_VARIANTS
        make_deterministic(server.url)
        with tempfile.TemporaryDirectory() as tmp:
            store, chat_id = seed_store(Path(tmp) / "sessions.sqlite3")
            store.rename_session(chat_id, QUESTION)
            user = store.add_message(ChatMessage(role="user", content=QUESTION, session_id=chat_id))
            store.add_message(
                ChatMessage(
                    role="assistant", content=ANSWER, session_id=chat_id, parent_id=user.id, timings=TIMINGS,
                    stop_type="eos", ttft_ms=TTFT_MS,
                )
            )  # fmt: skip
            config = Config(server_url=server.url, default_template="chatml")
            app = LlamaTui(
                config=config,
                client=LlamaCppClient(server.url),
                store=store,
                config_path=Path(tmp) / "config.toml",
                initial_session=chat_id,
                clock=lambda: NOW,
            )
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: app.screen_stack and app.main.session is not None)
                screen = app.main
                await wait_for(pilot, lambda: screen.props is not None)
                composer = screen.query_one(Composer)
                composer.focus()
                composer.insert("And what do they eat?")
                await pilot.press("ctrl+o")
                await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.is_mounted)
                compare = app.screen
                assert isinstance(compare, CompareScreen)
                compare.query_one("#compare-targets", Input).value = COMPARE_SPEC
                await pilot.press("enter")
                await wait_for(pilot, lambda: compare.ended)
                await pilot.press("2")
                await pilot.pause(0.3)
                await pilot.wait_for_scheduled_animations()
                out.parent.mkdir(parents=True, exist_ok=True)
                saved = Path(app.save_screenshot(filename=out.name, path=str(out.parent)))
            store.close()
    saved.write_text(re.sub(r"\bterminal-\d+-", "terminal-llama-tui-", saved.read_text(encoding="utf-8")))
    print(saved)


async def shoot(out: Path) -> None:
    async with DemoServer(ANSWER, TIMINGS) as server:
        make_deterministic(server.url)
        with tempfile.TemporaryDirectory() as tmp:
            store, chat_id = seed_store(Path(tmp) / "sessions.sqlite3")
            config = Config(server_url=server.url, default_template="chatml", presets={"precise": {"temperature": 0.2}})
            app = LlamaTui(
                config=config,
                client=LlamaCppClient(server.url),
                store=store,
                config_path=Path(tmp) / "config.toml",
                initial_session=chat_id,
                clock=lambda: NOW,
            )
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: app.screen_stack and app.main.session is not None)
                screen = app.main
                status = screen.query_one(StatusBar)
                await wait_for(pilot, lambda: screen.props is not None and status.context_used is not None)
                await pilot.press("ctrl+t")
                composer = screen.query_one(Composer)
                composer.focus()
                composer.insert(QUESTION)
                await pilot.press("enter")
                await wait_for(pilot, lambda: len(screen.query(MessageView)) == 2)

                def done() -> bool:
                    pending = [w for w in app.workers if w.group == "context" and not w.is_finished]
                    return (
                        not screen.is_generating
                        and screen.query(MessageView)[-1].message.state == "complete"
                        and not pending
                        and status.context_used == server.last_token_count
                    )

                await wait_for(pilot, done)
                for widget in screen.query("Input, TextArea"):
                    assert isinstance(widget, Input | TextArea)
                    widget.cursor_blink = False  # a steady cursor, whatever the moment
                await pilot.pause(0.3)
                await pilot.wait_for_scheduled_animations()
                out.parent.mkdir(parents=True, exist_ok=True)
                saved = Path(app.save_screenshot(filename=out.name, path=str(out.parent)))
            store.close()
    # Rich gives every export a random id; a fixed one keeps the file unchanged between runs.
    saved.write_text(re.sub(r"\bterminal-\d+-", "terminal-llama-tui-", saved.read_text(encoding="utf-8")))
    print(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", choices=("main", "compare"), default="main", help="which picture")
    parser.add_argument("--out", type=Path, help="SVG file to write (default: assets/screenshot.svg or compare.svg)")
    args = parser.parse_args()
    if args.scene == "compare":
        asyncio.run(shoot_compare(args.out or ROOT / "assets" / "compare.svg"))
    else:
        asyncio.run(shoot(args.out or ROOT / "assets" / "screenshot.svg"))


if __name__ == "__main__":
    main()
