"""The settings pane's template section below the template picker: what the model's own template is
(renders like a family, or none in the GGUF, with a button for the suggested family) and the options
the session's template takes (thinking on/off, reasoning effort, the date it writes).

Attributes down, messages up: `set_info` and `set_options` show what the screen says without posting
anything; a change the user makes posts `OptionChanged` (None: back to the template's default) or
`UseSuggested`. A date is applied only whole and valid (on Enter or leaving the field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from ..sanitize import one_line
from ..templates import TemplateError, TemplateOption
from ..templates.base import OptionValue

DEFAULT = ""  # the Select value that means "the template's default" (nothing stored)
_BOOL_VALUES: dict[str, bool] = {"on": True, "off": False}


def default_label(option: TemplateOption) -> str:
    """The first choice of an option's picker, e.g. "default (on)", "default (medium)"."""
    if option.default is None:
        return "default (the template's)"
    if isinstance(option.default, bool):
        return f"default ({'on' if option.default else 'off'})"
    return f"default ({option.default})"


def choices(option: TemplateOption) -> list[tuple[str, str]]:
    """(label, value) pairs of a bool or choice option's picker."""
    values = list(_BOOL_VALUES) if option.kind == "bool" else list(option.choices)
    return [(default_label(option), DEFAULT), *((v, v) for v in values)]


def picked(option: TemplateOption, value: str) -> OptionValue | None:
    """The option value a picker value stands for (None: the default)."""
    if value == DEFAULT:
        return None
    return _BOOL_VALUES[value] if option.kind == "bool" else value


def shown(option: TemplateOption, value: object) -> str:
    """The picker value or field text for a stored option value."""
    if value is None:
        return DEFAULT
    if option.kind == "bool":
        return "on" if value is True else "off" if value is False else DEFAULT
    if option.kind == "choice":
        return value if isinstance(value, str) and value in option.choices else DEFAULT
    return value if isinstance(value, str) else DEFAULT


class TemplateOptionsBox(Vertical):
    DEFAULT_CSS = """
    TemplateOptionsBox { height: auto; }
    TemplateOptionsBox #template-info { color: $text-muted; height: auto; }
    TemplateOptionsBox #template-info.-warn { color: $warning; }
    TemplateOptionsBox #use-suggested { display: none; margin-top: 1; }
    TemplateOptionsBox #use-suggested.-shown { display: block; }
    TemplateOptionsBox #options-heading { color: $text-muted; margin-top: 1; display: none; }
    TemplateOptionsBox #options-heading.-shown { display: block; }
    TemplateOptionsBox #option-rows { height: auto; }
    TemplateOptionsBox .option-row { height: auto; }
    TemplateOptionsBox .option-line { height: 1; }
    TemplateOptionsBox .option-name { width: 19; }
    TemplateOptionsBox .option-field { width: 1fr; }
    TemplateOptionsBox .option-error { color: $error; padding-left: 19; display: none; }
    TemplateOptionsBox .option-error.-shown { display: block; }
    """

    @dataclass
    class OptionChanged(Message):
        """The user set a template option; None means "back to the template's default"."""

        name: str
        value: OptionValue | None

    @dataclass
    class UseSuggested(Message):
        """The user asked for the suggested template family."""

        name: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._info = ("", False)
        self._suggestion: str | None = None
        self._options: tuple[TemplateOption, ...] = ()
        self._values: dict[str, OptionValue | None] = {}
        self._fields: dict[Widget, TemplateOption] = {}  # each option's Select or Input
        self._built: tuple[TemplateOption, ...] | None = None  # the options the rows were made for

    def compose(self) -> ComposeResult:
        yield Static("", id="template-info", markup=False)
        yield Button("", id="use-suggested", compact=True)
        yield Label("Template options", id="options-heading")
        yield Vertical(id="option-rows")

    def on_mount(self) -> None:
        self._show_info()
        self._show_options()

    # -- attributes down ---------------------------------------------------------------------

    def set_info(self, text: str, *, warn: bool = False, suggestion: str | None = None) -> None:
        """What the model's template is (plain text) and the family to offer, if any."""
        self._info, self._suggestion = (text, warn), suggestion
        if self.is_mounted:
            self._show_info()

    def set_options(self, options: Sequence[TemplateOption], values: Mapping[str, object]) -> None:
        """The session's template's options and the session's values (missing: the default)."""
        self._options = tuple(options)
        self._values = {o.name: self._valid(o, values.get(o.name)) for o in self._options}
        if self.is_mounted:
            self._show_options()

    @staticmethod
    def _valid(option: TemplateOption, value: object) -> OptionValue | None:
        try:
            return None if value is None else option.check(value)
        except TemplateError:
            return None  # e.g. an imported session's bad value: the default applies (as in chat/request.py)

    def _show_info(self) -> None:
        text, warn = self._info
        info = self.query_one("#template-info", Static)
        info.update(text)
        info.display = bool(text)
        info.set_class(warn, "-warn")
        button = self.query_one("#use-suggested", Button)
        button.set_class(self._suggestion is not None, "-shown")
        if self._suggestion is not None:
            button.label = Text(f"Use {one_line(self._suggestion, 30)} (alt+t)")

    def _show_options(self) -> None:
        self.query_one("#options-heading", Label).set_class(bool(self._options), "-shown")
        if self._built != self._options:
            self._built = self._options
            rows = self.query_one("#option-rows", Vertical)
            rows.remove_children()
            self._fields = {}
            rows.mount_all([self._row(option) for option in self._options])
            return
        with self.prevent(Select.Changed, Input.Changed):
            for field, option in self._fields.items():
                value = shown(option, self._values.get(option.name))
                if isinstance(field, Select) and field.value != value:
                    field.value = value
                elif isinstance(field, Input) and field.value != value:
                    field.value = value
                    self._show_error(field, "")

    def _row(self, option: TemplateOption) -> Vertical:
        value = shown(option, self._values.get(option.name))
        field: Widget
        if option.kind == "date":
            field = Input(value, placeholder="today (YYYY-MM-DD)", classes="option-field", compact=True)
        else:
            options = [(Text(label), v) for label, v in choices(option)]
            field = Select[str](options, value=value, allow_blank=False, classes="option-field", compact=True)
        self._fields[field] = option
        line = Horizontal(Label(option.name, classes="option-name"), field, classes="option-line")
        row = Vertical(line, Static("", classes="option-error", markup=False), classes="option-row")
        row.tooltip = Content(option.help)
        return row

    def _show_error(self, field: Widget, message: str) -> None:
        row = next((a for a in field.ancestors if isinstance(a, Vertical) and a.has_class("option-row")), None)
        if row is not None:
            error = row.query_one(".option-error", Static)
            error.update(message)
            error.set_class(bool(message), "-shown")

    # -- messages up -------------------------------------------------------------------------

    def _apply(self, option: TemplateOption, value: OptionValue | None) -> None:
        if value == self._values.get(option.name):
            return  # e.g. the picker showing a value set from above: nothing new to tell the screen
        self._values[option.name] = value
        self.post_message(self.OptionChanged(option.name, value))

    @on(Select.Changed, ".option-field")
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        option = self._fields.get(event.select)
        if option is not None and isinstance(event.value, str):
            self._apply(option, picked(option, event.value))

    @on(Input.Changed, ".option-field")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()  # applied whole, on Enter or leaving the field

    @on(Input.Submitted, ".option-field")
    @on(Input.Blurred, ".option-field")
    def _date_done(self, event: Input.Submitted | Input.Blurred) -> None:
        event.stop()
        option = self._fields.get(event.input)
        if option is None:
            return
        text = event.value.strip()
        try:
            value = option.check(text) if text else None
        except TemplateError as error:
            current = self._values.get(option.name)
            self._show_error(event.input, f"{error} (not applied: still {current or 'today'})")
            return
        self._show_error(event.input, "")
        self._apply(option, value)

    @on(Button.Pressed, "#use-suggested")
    def _use_suggested(self, event: Button.Pressed) -> None:
        event.stop()
        if self._suggestion is not None:
            self.post_message(self.UseSuggested(self._suggestion))
