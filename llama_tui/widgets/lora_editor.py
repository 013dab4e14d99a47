"""The LoRA adapters the server has (GET /lora-adapters, given by the screen), each with the scale
this session asks for; empty means the server's own scale. Says plainly when the server has none.
A scale applies on Enter or leaving its field, and only a valid one (-10 to 10)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePath

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from ..knobs import LORA_SCALE_LIMIT
from ..sanitize import one_line
from .knob_fields import CHANGED_MARK, PaneEdit, format_default

Adapter = tuple[int, str, float]  # id, path, the server's scale

NO_ADAPTERS = (
    "This server has no LoRA adapters. Start llama-server with --lora FILE.gguf (or --lora-scaled FILE SCALE) "
    "to load some; each session can then set its own scales here."
)


def parse_scale(text: str) -> float | None:
    """A typed scale: None for empty (the server's scale); ValueError says what is wrong."""
    text = text.strip()
    if not text:
        return None
    try:
        scale = float(text)
    except ValueError:
        raise ValueError(f"a scale is a number, not {text!r}") from None
    if not math.isfinite(scale) or abs(scale) > LORA_SCALE_LIMIT:
        raise ValueError("a scale is from -10 to 10 (0 turns the adapter off)")
    return scale


class LoraEditor(Vertical):
    DEFAULT_CSS = """
    LoraEditor { height: auto; }
    LoraEditor .lora-info { color: $text-muted; }
    LoraEditor .lora-line { height: 1; }
    LoraEditor .lora-name { width: 1fr; }
    LoraEditor .lora-scale { width: 8; padding-left: 2; }
    LoraEditor .lora-line.-changed .lora-scale { color: $accent; text-style: bold; }
    LoraEditor .lora-input { width: 16; }
    LoraEditor .marker { width: 2; padding-left: 1; color: $accent; }
    LoraEditor .error { color: $error; }
    """

    @dataclass
    class ScaleChanged(PaneEdit):
        """Adapter `adapter_id` gets `scale` in this session's requests (None: the server's)."""

        adapter_id: int
        scale: float | None

    def __init__(self) -> None:
        super().__init__(id="editor-lora")
        self.adapters: list[Adapter] | None = None  # None: not known yet
        self.scales: dict[int, float] = {}
        self.tooltip = Content("Per-request LoRA scales (the request's `lora`); empty uses the server's scale.")

    def compose(self) -> ComposeResult:
        if self.adapters is None:
            yield Static("Adapters: asking the server…", classes="lora-info", markup=False)
            return
        if not self.adapters:
            yield Static(NO_ADAPTERS, classes="lora-info", id="lora-none", markup=False)
            return
        yield Static("Scale per adapter (empty = the server's).", classes="lora-info", markup=False)
        for ident, path, scale in self.adapters:
            changed = ident in self.scales and self.scales[ident] != scale  # the server's own: no override
            name = one_line(PurePath(path).name or path, 36)
            yield Label(f"#{ident} {name}", classes="lora-name", markup=False).with_tooltip(Content(path))
            with Horizontal(classes="lora-line" + (" -changed" if changed else ""), id=f"lora-row-{ident}"):
                yield Label("scale", classes="lora-scale")
                yield Input(
                    str(self.scales[ident]) if changed else "",
                    placeholder=f"{format_default(scale)} (server)",
                    id=f"lora-{ident}",
                    classes="lora-input",
                    compact=True,
                )
                yield Static(CHANGED_MARK if changed else "", classes="marker", markup=False)
        yield Static("", classes="error", id="lora-error", markup=False)

    async def set_adapters(self, adapters: list[Adapter] | None, scales: dict[int, float]) -> None:
        """The server's adapters (None: unknown, e.g. unreachable) and this session's scales."""
        if adapters == self.adapters and scales == self.scales:
            return
        self.adapters, self.scales = adapters, dict(scales)
        await self.recompose()

    @on(Input.Submitted, ".lora-input")
    @on(Input.Blurred, ".lora-input")
    def _scale_done(self, event: Input.Submitted | Input.Blurred) -> None:
        event.stop()
        ident = int((event.input.id or "lora--1").removeprefix("lora-"))
        error = self.query_one("#lora-error", Static)
        try:
            scale = parse_scale(event.value)
        except ValueError as e:
            kept = f"still {self.scales[ident]:g}" if ident in self.scales else "still the server's scale"
            error.update(f"#{ident}: {e} (not applied: {kept})")
            return
        error.update("")
        if scale == self.scales.get(ident):
            return
        if scale is None:
            self.scales.pop(ident, None)
        else:
            self.scales[ident] = scale
        row = self.query_one(f"#lora-row-{ident}", Horizontal)
        row.set_class(scale is not None, "-changed")
        row.query_one(".marker", Static).update(CHANGED_MARK if scale is not None else "")
        self.post_message(self.ScaleChanged(ident, scale))
