"""Per-session settings, edited live: prompt template, system prompt, sampling knobs, presets.

The pane only shows values and posts messages; the screen owns the session and decides what to
store and send. `set_values` fills the pane without posting anything, so a session switch or a
/props refresh never looks like an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..domain import KNOBS, SamplingSettings, SettingError, format_knob, parse_knob
from ..sanitize import one_line

CHANGED_MARK = "●"


def format_default(value: Any) -> str:
    """A server default as shown in a placeholder. The server reports float32 values, so 0.8
    arrives as 0.800000011920929: six significant digits are plenty."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, list):
        return ", ".join(format_default(v) for v in value) if value else "none"
    return one_line(str(value), 60)


class KnobValidator(Validator):
    """Lets the Input itself keep its `-invalid` class in step with domain.parse_knob."""

    def __init__(self, knob: str) -> None:
        super().__init__()
        self.knob = knob

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_knob(self.knob, value)
        except SettingError as error:
            return self.failure(str(error), value)
        return self.success()


class SettingsPane(VerticalScroll):
    DEFAULT_CSS = """
    SettingsPane { height: 1fr; padding: 0 1; }
    SettingsPane .section { color: $text-muted; margin-top: 1; }
    SettingsPane #system-prompt { height: 6; }
    SettingsPane .presets { height: auto; }
    SettingsPane .presets Select { width: 1fr; }
    SettingsPane .knob-row { height: auto; }
    SettingsPane .knob-line { height: 1; }
    SettingsPane .knob-name { width: 19; }
    SettingsPane .knob-row.-changed .knob-name { color: $accent; text-style: bold; }
    SettingsPane .knob-input { width: 1fr; }
    SettingsPane .marker { width: 2; padding-left: 1; color: $accent; }
    SettingsPane .error { color: $error; padding-left: 19; display: none; }
    SettingsPane .error.-shown { display: block; }
    SettingsPane #reset-all { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+r", "reset_knob", "Reset knob")]

    @dataclass
    class SettingChanged(Message):
        """A knob got a valid new value; None means "back to the server default"."""

        name: str
        value: Any

    class ResetAll(Message):
        """The user asked to drop every override of this session."""

    @dataclass
    class TemplateChanged(Message):
        name: str

    @dataclass
    class SystemPromptChanged(Message):
        text: str

    @dataclass
    class PresetApplied(Message):
        name: str

    class SavePresetRequested(Message):
        """The screen asks for a name and saves the current settings as a preset."""

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
        yield Label("System prompt", classes="section")
        yield TextArea(id="system-prompt", soft_wrap=True, show_line_numbers=False, compact=True)
        yield Label("Presets", classes="section")
        with Horizontal(classes="presets"):
            yield Select[str]([], prompt="Apply preset…", id="preset", compact=True)
            yield Button("Save as preset", id="save-preset", compact=True)
        yield Label("Sampling (empty = server default)", classes="section")
        for knob in KNOBS:
            with Vertical(classes="knob-row", id=f"row-{knob.name}") as row:
                row.tooltip = Content(knob.help)  # ancestors' tooltips show over the Input too
                with Horizontal(classes="knob-line"):
                    yield Label(knob.name, classes="knob-name")
                    yield Input(
                        id=f"knob-{knob.name}",
                        classes="knob-input",
                        placeholder="server default",
                        validators=[KnobValidator(knob.name)],
                        compact=True,
                    )
                    yield Static("", classes="marker", markup=False)
                yield Static("", classes="error", markup=False)
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

    async def focus_knob(self, name: str) -> None:
        await self.build()
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
                field = self.query_one(f"#knob-{knob.name}", Input)
                field.value = format_knob(value)
                default = self._defaults.get(knob.name)
                field.placeholder = f"{format_default(default)} (server)" if default is not None else "server default"
                self._show_error(knob.name, "")
                self._mark(knob.name, value is not None)

    def _mark(self, name: str, changed: bool) -> None:
        row = self.query_one(f"#row-{name}", Vertical)
        row.set_class(changed, "-changed")
        row.query_one(".marker", Static).update(CHANGED_MARK if changed else "")

    def _show_error(self, name: str, message: str) -> None:
        error = self.query_one(f"#row-{name}", Vertical).query_one(".error", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")

    # -- messages up -------------------------------------------------------------------------

    def _apply(self, name: str, value: Any, *, force: bool = False) -> None:
        self._mark(name, value is not None)
        if not force and value == self._applied.get(name):
            return  # e.g. "0.5" -> "0.50": nothing new to tell the screen
        if value is None:
            self._applied.pop(name, None)
        else:
            self._applied[name] = value
        self.post_message(self.SettingChanged(name, value))

    @on(Input.Changed, ".knob-input")
    def _knob_typed(self, event: Input.Changed) -> None:
        """While typing, only say what is wrong: "1" on the way to "1.5" is not a value to use."""
        event.stop()
        name = (event.input.id or "").removeprefix("knob-")
        try:
            parse_knob(name, event.value)
        except SettingError as error:
            self._show_error(name, str(error))
            return
        self._show_error(name, "")

    @on(Input.Submitted, ".knob-input")
    @on(Input.Blurred, ".knob-input")
    def _knob_done(self, event: Input.Submitted | Input.Blurred) -> None:
        """Enter, or leaving the field: apply the value if it is valid, whole."""
        event.stop()
        name = (event.input.id or "").removeprefix("knob-")
        try:
            value = parse_knob(name, event.value)
        except SettingError as error:
            # Never applied: say what is in effect instead.
            current = self._applied.get(name)
            kept = f"still {format_knob(current)}" if current is not None else "still the server default"
            self._show_error(name, f"{error} (not applied: {kept})")
            return
        self._show_error(name, "")
        self._apply(name, value)

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

    def _focused_knob(self) -> Input | None:
        focused = self.screen.focused
        if isinstance(focused, Input) and (focused.id or "").startswith("knob-") and self in focused.ancestors:
            return focused
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
        name = (field.id or "").removeprefix("knob-")
        with self.prevent(Input.Changed):
            field.value = ""
        self._show_error(name, "")
        self._apply(name, None, force=True)
