"""Per-session settings, edited live: prompt template, system prompt, presets, and every /completion
knob by group (sampling, penalties, DRY/XTC, mirostat, output limits, constraints, adapters,
advanced), with the server's defaults, a filter box, and what differs from the server's defaults.

The pane only shows values and posts messages (all `PaneEdit`s); the screen owns the session and
decides what to store and send. `set_values` fills the pane without posting anything, so a session
switch or a /props refresh never looks like an edit. A one-line knob applies on Enter or leaving
its field, and only a valid, whole value; the multi-line editors (constraint_editors.py) and the
adapters (lora_editor.py) have their own ways. Parameters the server reports that llama-tui does
not edit are listed read-only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..domain import SamplingSettings
from ..knobs import (
    APP_OWNED,
    GROUPS,
    KNOBS,
    KNOBS_BY_NAME,
    SettingError,
    check_value,
    format_knob,
    knobs_in,
    parse_knob,
)
from .constraint_editors import ConstraintEditor, TokenRow
from .knob_fields import KnobGroup, KnobRow, PaneEdit, differs, format_default, matches
from .lora_editor import Adapter, LoraEditor
from .template_options import TemplateOptionsBox


class SettingsPane(VerticalScroll):
    DEFAULT_CSS = """
    SettingsPane { height: 1fr; padding: 0 1; }
    SettingsPane .section { color: $text-muted; margin-top: 1; }
    SettingsPane #system-prompt { height: 6; }
    SettingsPane .presets { height: auto; }
    SettingsPane .presets Select { width: 1fr; }
    SettingsPane #knob-filter { margin-top: 1; }
    SettingsPane #differs { color: $text-muted; }
    SettingsPane #context-shift, SettingsPane #server-only { color: $text-muted; }
    SettingsPane #reset-all { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reset_knob", "Reset knob"),
        Binding("slash", "focus_filter", "Find a knob", tooltip="Find a knob by name (/ in the settings pane)"),
    ]

    @dataclass
    class SettingChanged(PaneEdit):
        """A knob got a valid new value; None means "back to the server default"."""

        name: str
        value: Any

    class ResetAll(PaneEdit):
        """The user asked to drop every override of this session."""

    @dataclass
    class TemplateChanged(PaneEdit):
        name: str

    @dataclass
    class SystemPromptChanged(PaneEdit):
        text: str

    @dataclass
    class PresetApplied(PaneEdit):
        name: str

    class SavePresetRequested(PaneEdit):
        """The screen asks for a name and saves the current settings as a preset."""

    class ImportPresetsRequested(PaneEdit):
        """The screen asks for a TOML file and adds its presets to the config."""

    class ExportPresetRequested(PaneEdit):
        """The screen asks for a file and writes the session's settings to it as a TOML preset."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._template = ""
        self._template_names: list[str] = []
        self._system_prompt = ""
        self._applied: dict[str, Any] = {}  # the values the screen knows of, to post only changes
        self._defaults: dict[str, Any] = {}
        self._presets: list[str] = []
        self._filled = False  # set_values came: fill in when built
        # The ~150 widgets of the pane cost a tenth of a second at start-up and most start-ups
        # never show them: they are made the first time the pane is shown (`build`).
        self.built = False
        # What the model's template is, and the session's template options (the screen fills it).
        self.template_box = TemplateOptionsBox(id="template-box")

    async def build(self) -> None:
        """Make the pane's widgets (once) and fill them in."""
        if self.built:
            return
        self.built = True
        await self.recompose()
        if self._filled:
            self._fill()

    def compose(self) -> ComposeResult:
        if not self.built:
            return
        yield Label("Template", classes="section")
        yield Select[str]([], prompt="Template", id="template", compact=True)
        yield self.template_box
        yield Label("System prompt", classes="section")
        yield TextArea(id="system-prompt", soft_wrap=True, show_line_numbers=False, compact=True)
        yield Label("Presets", classes="section")
        with Horizontal(classes="presets"):
            yield Select[str]([], prompt="Apply preset…", id="preset", compact=True)
            yield Button("Save as preset", id="save-preset", compact=True)
        with Horizontal(classes="presets"):
            yield Button("Import presets…", id="import-presets", compact=True)
            yield Button("Export as file…", id="export-preset", compact=True)
        yield Input(placeholder="/ find a knob (e.g. dry, rep pen)", id="knob-filter", compact=True)
        yield Static("", id="differs", markup=False)
        for key, title in GROUPS:
            with KnobGroup(key, title):
                yield Label(title, classes="group-title")
                for knob in knobs_in(key):
                    if knob.kind == "lora":
                        yield LoraEditor()
                    elif knob.editor:
                        yield ConstraintEditor(knob.name)
                    else:
                        yield KnobRow(knob)
                if key == "advanced":
                    yield Static("", id="context-shift", markup=False)
        with KnobGroup("server-only", "Reported by the server, not edited here"):
            yield Label("Reported by the server, not edited here", classes="group-title")
            yield Static("", id="server-only", markup=False)
        yield Button("Reset all", id="reset-all", compact=True)

    # -- attributes down ---------------------------------------------------------------------

    def set_values(
        self,
        *,
        template: str,
        template_names: list[str],
        system_prompt: str,
        settings: SamplingSettings,
        server_defaults: dict[str, Any],
    ) -> None:
        """Show a session's settings (and the server's defaults) without posting any message."""
        self._template = template
        self._template_names = list(template_names)
        self._system_prompt = system_prompt
        self._applied = settings.to_dict()
        self._defaults = dict(server_defaults)
        self._filled = True
        if self.built:
            self._fill()

    def set_presets(self, names: list[str]) -> None:
        self._presets = list(names)
        if self.built:
            with self.prevent(Select.Changed):
                self.query_one("#preset", Select).set_options((Text(n), n) for n in self._presets)

    async def set_adapters(self, adapters: list[Adapter] | None) -> None:
        """The server's LoRA adapters (None: not known); the session's scales come from set_values."""
        if self.built:
            await self.query_one(LoraEditor).set_adapters(adapters, self._lora_scales())

    def _lora_scales(self) -> dict[int, float]:
        return {e["id"]: e["scale"] for e in self._applied.get("lora") or []}

    def set_editor_status(self, name: str, message: str, *, error: bool = False) -> None:
        """What the screen found about a constraint (the server's error, or "applied")."""
        if self.built:
            self.query_one(f"#editor-{name}", ConstraintEditor).set_status(message, error=error)

    def show_bias_tokens(self, rows: list[TokenRow]) -> None:
        if self.built:
            self.query_one("#editor-logit_bias", ConstraintEditor).show_tokens(rows)

    def load_editor_text(self, name: str, text: str) -> None:
        if self.built:
            self.query_one(f"#editor-{name}", ConstraintEditor).load_text(text)

    def set_context_note(self, text: str) -> None:
        """What happens when the context fills (shown under n_keep and n_discard)."""
        if self.built:
            self.query_one("#context-shift", Static).update(text)

    async def focus_knob(self, name: str) -> None:
        await self.build()
        if KNOBS_BY_NAME[name].editor and name != "lora":
            self.query_one(f"#text-{name}", TextArea).focus()
        else:
            self.query_one(f"#knob-{name}", Input).focus()

    def _fill(self) -> None:
        with self.prevent(Select.Changed, Input.Changed, TextArea.Changed):
            names = list(self._template_names)
            if self._template and self._template not in names:
                names.append(self._template)  # e.g. a user template since removed from the config
            select = self.query_one("#template", Select)
            select.set_options((Text(n), n) for n in names)
            if self._template in names:
                select.value = self._template
            self.query_one("#preset", Select).set_options((Text(n), n) for n in self._presets)
            area = self.query_one("#system-prompt", TextArea)
            if area.text != self._system_prompt:
                area.load_text(self._system_prompt)
            for knob in KNOBS:
                value = self._applied.get(knob.name)
                if knob.editor and knob.kind != "lora":
                    self.query_one(f"#editor-{knob.name}", ConstraintEditor).show(value)
                elif not knob.editor:
                    row = self.query_one(f"#row-{knob.name}", KnobRow)
                    row.show(value, self._defaults.get(knob.name))
                    self._flag_stored(row, value)
        self._show_differs()
        self.query_one("#server-only", Static).update(self._server_only())
        lora = self.query_one(LoraEditor)
        if lora.adapters is not None:  # e.g. a preset or "Reset all" changed the scales
            self.call_after_refresh(lora.set_adapters, lora.adapters, self._lora_scales())

    def _flag_stored(self, row: KnobRow, value: Any) -> None:
        """A stored value this build refuses (e.g. an older llama-tui allowed repeat_last_n = -1)."""
        if value is None:
            return
        try:
            check_value(row.knob.name, value)
        except SettingError as error:
            row.show_error(f"stored value not valid here: {error}; ctrl+r resets it")

    def _show_differs(self) -> None:
        lines = differs(self._applied, self._defaults)
        text = "Differs from the server's defaults: " + "; ".join(lines) if lines else "All knobs at server defaults."
        self.query_one("#differs", Static).update(text)

    def _server_only(self) -> str:
        lines = []
        for name, value in sorted(self._defaults.items()):
            if name not in KNOBS_BY_NAME:
                owner = " (set by llama-tui)" if name in APP_OWNED else ""
                lines.append(f"{name} = {format_default(value)}{owner}")
        return "\n".join(lines) if lines else "(the server reported no other parameters)"

    # -- the filter ----------------------------------------------------------------------------

    @on(Input.Changed, "#knob-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        query = event.value.strip()
        for group in self.query(KnobGroup):
            whole = matches(query, group.title, group.key)  # "dry", "penalties": the whole group
            shown = 0
            for child in group.children:
                name = _knob_of(child)
                if name is not None:
                    child.display = whole or matches(query, name)
                    shown += child.display
            if group.key == "advanced":
                note = self.query_one("#context-shift")
                note.display = whole or matches(query, "n_keep", "n_discard", "context")
            if group.key == "server-only":
                shown = int(any(matches(query, n) for n in self._defaults if n not in KNOBS_BY_NAME))
            group.display = whole or shown > 0

    def action_focus_filter(self) -> None:
        self.query_one("#knob-filter", Input).focus()

    # -- messages up -------------------------------------------------------------------------

    def _apply(self, name: str, value: Any, *, force: bool = False) -> None:
        self.query_one(f"#row-{name}", KnobRow).mark(value is not None)
        if not force and value == self._applied.get(name):
            return  # e.g. "0.5" -> "0.50": nothing new to tell the screen
        if value is None:
            self._applied.pop(name, None)
        else:
            self._applied[name] = value
        self._show_differs()
        self.post_message(self.SettingChanged(name, value))

    def _row(self, field: Input) -> KnobRow:
        return self.query_one(f"#row-{(field.id or '').removeprefix('knob-')}", KnobRow)

    @on(Input.Changed, ".knob-input")
    def _knob_typed(self, event: Input.Changed) -> None:
        """While typing, only say what is wrong: "1" on the way to "1.5" is not a value to use."""
        event.stop()
        row = self._row(event.input)
        try:
            parse_knob(row.knob.name, event.value)
        except SettingError as error:
            row.show_error(str(error))
            return
        row.show_error("")

    @on(Input.Submitted, ".knob-input")
    @on(Input.Blurred, ".knob-input")
    def _knob_done(self, event: Input.Submitted | Input.Blurred) -> None:
        """Enter, or leaving the field: apply the value if it is valid, whole."""
        event.stop()
        row = self._row(event.input)
        name = row.knob.name
        try:
            value = parse_knob(name, event.value)
        except SettingError as error:
            # Never applied: say what is in effect instead.
            current = self._applied.get(name)
            kept = f"still {format_knob(current)}" if current is not None else "still the server default"
            row.show_error(f"{error} (not applied: {kept})")
            return
        row.show_error("")
        self._apply(name, value)

    def note_applied(self, name: str, value: Any) -> None:
        """The screen applied an editor's value (after the server's check): shown as applied."""
        if value is None:
            self._applied.pop(name, None)
        else:
            self._applied[name] = value
        if self.built:
            if name != "lora":
                self.query_one(f"#editor-{name}", ConstraintEditor).show(value)
            self._show_differs()

    @on(Select.Changed, "#template")
    def _template_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value != self._template:
            self._template = event.value
            self.post_message(self.TemplateChanged(event.value))

    @on(Select.Changed, "#preset")
    def _preset_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(self.PresetApplied(event.value))
            with self.prevent(Select.Changed):
                event.select.clear()  # so the same preset can be applied again later

    @on(TextArea.Changed, "#system-prompt")
    def _system_prompt_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        text = event.text_area.text
        if text != self._system_prompt:
            self._system_prompt = text
            self.post_message(self.SystemPromptChanged(text))

    @on(Button.Pressed, "#reset-all")
    def _reset_all(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ResetAll())  # the screen answers with set_values

    @on(Button.Pressed, "#save-preset")
    def _save_preset(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.SavePresetRequested())

    @on(Button.Pressed, "#import-presets")
    def _import_presets(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ImportPresetsRequested())

    @on(Button.Pressed, "#export-preset")
    def _export_preset(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ExportPresetRequested())

    def _focused_knob(self) -> Input | None:
        focused = self.screen.focused
        if isinstance(focused, Input) and (focused.id or "").startswith("knob-") and self in focused.ancestors:
            return focused if focused.id != "knob-filter" else None
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reset_knob":
            return self._focused_knob() is not None
        return True

    def action_reset_knob(self) -> None:
        """Drop the focused knob's override: it goes back to the server default."""
        field = self._focused_knob()
        if field is None:
            return
        row = self._row(field)
        with self.prevent(Input.Changed):
            field.value = ""
        row.show_error("")
        self._apply(row.knob.name, None, force=True)


def _knob_of(widget: object) -> str | None:
    """The knob a row or editor of the pane edits (None for a title or note)."""
    if isinstance(widget, KnobRow):
        return widget.knob.name
    if isinstance(widget, ConstraintEditor):
        return widget.knob
    if isinstance(widget, LoraEditor):
        return "lora"
    return None
