"""What the fault tests look at: what the user sees (screen text, the bytes a terminal would get,
notifications) and small steps of driving the app."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from llama_tui.screens.main import MainScreen
from llama_tui.server_state import ServerState
from llama_tui.widgets.composer import Composer
from llama_tui.widgets.message_view import MessageView
from tests.harness.app import wait_for


class Notes:
    """Every notification the app shows, kept (toasts expire; this list does not). Install before
    the app runs: screens and widgets notify through `app.notify`."""

    def __init__(self, app: Any) -> None:
        self.items: list[tuple[str, str, str]] = []  # (severity, title, message)
        real = app.notify

        def notify(
            message: str, *, title: str = "", severity: str = "information", timeout: Any = None, markup: bool = True
        ) -> None:
            self.items.append((severity, title, str(message)))
            real(message, title=title, severity=severity, timeout=timeout, markup=markup)

        app.notify = notify

    def errors(self) -> list[str]:
        return [message for severity, _, message in self.items if severity == "error"]

    def text(self) -> str:
        return "\n".join(f"{title}: {message}" for _, title, message in self.items)


def _render(app: Any) -> tuple[Console, Any]:
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return console, update


def terminal_output(app: Any) -> str:
    """Exactly what a real terminal would be sent to draw the current screen (what Textual's
    Linux driver writes), after every line filter of the app."""
    console, update = _render(app)
    return str(update.render_segments(console))


def screen_text(app: Any) -> str:
    """The current screen as plain text."""
    console, update = _render(app)
    console.print(update)
    return console.export_text(styles=False)


# Textual's own sequences: cursor moves and colours (CSI ... H / m), and its hyperlinks (OSC 8
# with an id= parameter, as Rich writes them).
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*[Hm]|\x1b\]8;id=[^;\x1b\x07]*;[^\x1b\x07]*\x1b\\")


def stray_controls(output: str) -> list[str]:
    """Control characters in terminal output that Textual did not put there itself: anything here
    came from content and would drive the terminal."""
    rest = _OWN_SEQUENCES.sub("", output)
    return [repr(ch) for ch in rest if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]


def main_screen(app: Any) -> MainScreen:
    screen: MainScreen = app.main
    return screen


async def ready(pilot: Any, state: ServerState = ServerState.OK) -> MainScreen:
    screen = main_screen(pilot.app)
    await wait_for(pilot, lambda: screen.session is not None and screen.server_state is state)
    return screen


def settled(screen: MainScreen, count: int) -> Callable[[], bool]:
    """`count` messages on screen, no answer being generated or still marked streaming."""

    def check() -> bool:
        views = screen.query(MessageView)
        return len(views) == count and not screen.is_generating and all(v.message.state != "streaming" for v in views)

    return check


async def type_and_send(pilot: Any, text: str) -> None:
    composer = pilot.app.main.query_one(Composer)
    composer.focus()
    composer.insert(text)
    await pilot.press("enter")


def views(screen: MainScreen) -> list[MessageView]:
    return list(screen.query(MessageView))


def footer(view: MessageView) -> str:
    return str(view.query_one(".footer").render())


def status_text(screen: MainScreen) -> str:
    return str(screen.query_one("#status-server").render())


def integrity(path: Path) -> str:
    """PRAGMA integrity_check of a store file, from a connection of its own."""
    conn = sqlite3.connect(path)
    try:
        return ", ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


class RequestCounter:
    """Counts the requests the client sends, by path (every attempt, retries included)."""

    def __init__(self, client: Any) -> None:
        self.counts: dict[str, int] = {}
        real = client._open

        async def counting(method: str, path: str, **kw: Any) -> Any:
            self.counts[path] = self.counts.get(path, 0) + 1
            return await real(method, path, **kw)

        client._open = counting

    def __getitem__(self, path: str) -> int:
        return self.counts.get(path, 0)
