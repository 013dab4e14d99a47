"""One line above the Footer: server, state, model, what the model's template is, context meter,
slots, live generation speed.

Everything shown here that comes from the server (URL, model name, error detail) is plain text:
the segments are Statics with markup off, and control characters are neutralised.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from ..sanitize import one_line
from ..server_state import ServerState

WARN_FRACTION = 0.8  # context use above this is shown as a warning
METER_CELLS = 8


def context_meter(used: int | None, n_ctx: int) -> str:
    """E.g. "████░░░░ 2,048 / 4,096"; just the numbers when either is unknown."""
    if used is None:
        return f"– / {n_ctx:,}" if n_ctx > 0 else "–"
    if n_ctx <= 0:
        return f"{used:,}"
    filled = min(METER_CELLS, round(METER_CELLS * used / n_ctx))
    return f"{'█' * filled}{'░' * (METER_CELLS - filled)} {used:,} / {n_ctx:,}"


class StatusBar(Horizontal):
    # Fixed-size figures (context, slots, speed) never get cut; the server and model texts shrink
    # with an ellipsis when the terminal is narrow.
    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; background: $panel; color: $text-muted; }
    StatusBar > Static { width: auto; height: 1; padding: 0 1 0 0; text-wrap: nowrap; text-overflow: ellipsis; }
    StatusBar > #status-dot { padding: 0 1; }
    StatusBar > #status-dot.-ok { color: $success; }
    StatusBar > #status-dot.-loading { color: $warning; }
    StatusBar > #status-dot.-sleeping { color: $secondary; }
    StatusBar > #status-dot.-unreachable, StatusBar > #status-dot.-auth-error { color: $error; }
    StatusBar > #status-dot.-unknown { color: $text-disabled; }
    StatusBar > #status-server { max-width: 50%; }
    StatusBar > #status-model { width: 1fr; color: $text; }
    StatusBar > #status-template { max-width: 45; display: none; }
    StatusBar > #status-template.-warn { color: $warning; }
    StatusBar > #status-context.-warn { color: $warning; }
    StatusBar > #status-context.-full { color: $error; text-style: bold; }
    StatusBar > #status-unsaved { display: none; color: $error; text-style: bold; }
    StatusBar > #status-unsaved.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state = ServerState.UNKNOWN
        self.n_ctx = 0
        self.context_used: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("●", id="status-dot", classes=ServerState.UNKNOWN.css_class, markup=False)
        yield Static("", id="status-server", markup=False)
        yield Static("", id="status-model", markup=False)
        yield Static("", id="status-template", markup=False)  # hidden until set_template_note
        yield Static(context_meter(None, 0), id="status-context", markup=False)
        yield Static("", id="status-slots", markup=False)
        yield Static("", id="status-generation", markup=False)
        yield Static("⚠ unsaved changes", id="status-unsaved", markup=False)

    def _segment(self, name: str) -> Static:
        return self.query_one(f"#status-{name}", Static)

    def set_server(self, url: str, state: ServerState, detail: str = "") -> None:
        """The server's address and state; `detail` (e.g. the error) is shortened here and shown
        whole in the tooltip."""
        self.state = state
        dot = self._segment("dot")
        for other in ServerState:
            dot.set_class(other is state, other.css_class)
        text = f"{one_line(url, 40)} {state.label}"
        if detail:
            text += f": {one_line(detail, 60)}"
        server = self._segment("server")
        server.update(text)
        # A str tooltip would be parsed as markup; Content is taken as plain text.
        server.tooltip = Content(one_line(detail)) if detail else None

    def set_model(self, name: str, n_ctx: int) -> None:
        self.n_ctx = n_ctx
        self._segment("model").update(one_line(name, 48) if name else "no model")
        self.set_context(self.context_used, n_ctx)

    def set_template_note(self, text: str, detail: str, *, warn: bool = False) -> None:
        """What the model's own template is ("renders like qwen3.5"); `detail` is the tooltip."""
        segment = self._segment("template")
        segment.display = bool(text)  # no empty cell when there is nothing to say
        segment.update(one_line(text, 45))
        segment.tooltip = Content(detail) if detail else None
        segment.set_class(warn, "-warn")

    def set_context(self, used: int | None, n_ctx: int, *, note: str = "") -> None:
        """Tokens the next request holds (the conversation and the unsent message); `-warn` over
        80 %, `-full` at 100 % or more. `note` (e.g. why it is not counted) is the tooltip."""
        self.context_used, self.n_ctx = used, n_ctx
        fraction = used / n_ctx if used is not None and n_ctx > 0 else 0.0
        segment = self._segment("context")
        segment.update(f"ctx {context_meter(used, n_ctx)}")
        segment.tooltip = Content(note) if note else None
        segment.set_class(WARN_FRACTION < fraction < 1.0, "-warn")
        segment.set_class(fraction >= 1.0, "-full")

    def set_slots(self, busy: int, total: int) -> None:
        self._segment("slots").update(f"slots {busy}/{total}" if total > 0 else "")

    def set_unsaved(self, unsaved: bool) -> None:
        """Show (until saving works again) that changes exist only in memory: the store refused a
        write (disk full, read-only)."""
        self._segment("unsaved").set_class(unsaved, "-shown")

    @property
    def unsaved(self) -> bool:
        return self._segment("unsaved").has_class("-shown")

    def set_generation(self, text: str) -> None:
        """A short live figure such as "gen 87 t/s"; "" clears it."""
        self._segment("generation").update(one_line(text, 40))
