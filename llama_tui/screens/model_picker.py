"""Router mode: the server's models with their state; choose one, load or unload it."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..client import LlamaCppClient, LlamaError, ModelInfo
from ..sanitize import one_line

STATE_STYLES = {"loaded": "green", "loading": "yellow", "unloaded": "dim", "failed": "red"}


class ModelPickerScreen(ModalScreen[str | None]):
    """Enter picks the highlighted model for this session (it loads on first use if needed);
    l loads it now, u unloads it. The list refreshes twice a second while open."""

    DEFAULT_CSS = """
    ModelPickerScreen { align: center middle; }
    ModelPickerScreen > Vertical { width: 70; height: 24; border: round $primary; background: $surface; }
    ModelPickerScreen OptionList { height: 1fr; }
    ModelPickerScreen .hint, ModelPickerScreen #picker-status { color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss_none", "Close"),
        Binding("l", "load", "Load"),
        Binding("u", "unload", "Unload"),
    ]

    def __init__(self, client: LlamaCppClient, current: str | None = None) -> None:
        super().__init__()
        self.client = client
        self.current = current
        self.models: list[ModelInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Models (router mode) · Enter use · l load · u unload · Esc close", classes="hint", markup=False
            )
            yield OptionList(id="models")
            yield Static("", id="picker-status", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._refresh()
        # States change on the server's own time (a load starts after the request returns).
        self.set_interval(0.5, self._refresh)

    @work(exclusive=True, group="models", exit_on_error=False)
    async def _refresh(self) -> None:
        try:
            models = await self.client.models()
        except LlamaError as e:
            self.query_one("#picker-status", Static).update(f"Cannot list models: {e.message}")
            return
        self.models = models
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(
            Option(
                Content.assemble(
                    ("● " if m.id == self.current else "  ", "bold"),
                    one_line(m.id),
                    (f"  {m.status}", STATE_STYLES.get(m.status, "")),
                ),
                id=m.id,
            )
            for m in models
        )
        if models:
            ids = [m.id for m in models]
            listing.highlighted = (
                highlighted if highlighted is not None else (ids.index(self.current) if self.current in ids else 0)
            )

    def _highlighted(self) -> str | None:
        listing = self.query_one(OptionList)
        return self.models[listing.highlighted].id if listing.highlighted is not None and self.models else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @work(group="model-action", exit_on_error=False)
    async def action_load(self) -> None:
        await self._act("load")

    @work(group="model-action", exit_on_error=False)
    async def action_unload(self) -> None:
        await self._act("unload")

    async def _act(self, what: str) -> None:
        name = self._highlighted()
        if name is None:
            return
        status = self.query_one("#picker-status", Static)
        status.update(f"{what}ing {name}…")
        try:
            await (self.client.load_model(name) if what == "load" else self.client.unload_model(name))
        except LlamaError as e:
            status.update(f"Could not {what} {name}: {e.message}")
            return
        status.update(f"{name}: {what} requested")
        self._refresh()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
