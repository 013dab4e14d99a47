"""The settings pane's building blocks: one row per knob (name, input, changed mark, inline error),
a group of rows under a title, the base class of every message the pane posts, and how a server
default and a "differs from the server" line are shown. Attributes down, messages up: the rows
post nothing themselves (the pane handles their Input events)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from ..knobs import Knob, SettingError, format_knob, parse_knob
from ..sanitize import one_line

CHANGED_MARK = "●"


class PaneEdit(Message):
    """Base of every message the settings pane and its editors post: the screen handles them all
    in one place (each subclass is a dataclass saying what changed or what is asked)."""


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


def differs(applied: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """One line per knob the session sets, with the server's default beside it ("= server" when
    the value is the default anyway, e.g. after a preset)."""
    lines: list[str] = []
    for name, value in applied.items():
        if value is None:
            continue
        shown = one_line(format_knob(value), 40) if not isinstance(value, dict | list) or name == "samplers" else ""
        if name == "logit_bias":
            shown = f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
        elif name in ("grammar", "json_schema"):
            count = len(str(value).splitlines())
            shown = f"{count} line{'s' if count != 1 else ''}"
        elif name == "lora":
            shown = ", ".join(f"#{e['id']}×{e['scale']:g}" for e in value)
        default = defaults.get(name) if name != "lora" else None  # the adapters section shows the server's
        if default is None:
            lines.append(f"{name} {shown}")
        elif _same(value, default):
            lines.append(f"{name} {shown} (= server)")
        else:
            lines.append(f"{name} {shown} (server {format_default(default)})")
    return lines


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, float | int) and isinstance(default, float | int) and not isinstance(value, bool):
        return format(float(value), ".6g") == format(float(default), ".6g")  # float32 defaults
    return bool(value == default)


class KnobValidator(Validator):
    """Lets the Input itself keep its `-invalid` class in step with knobs.parse_knob."""

    def __init__(self, knob: str) -> None:
        super().__init__()
        self.knob = knob

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_knob(self.knob, value)
        except SettingError as error:
            return self.failure(str(error), value)
        return self.success()


class KnobRow(Vertical):
    """name | input | changed mark, and an error line under them (shown only when there is one)."""

    DEFAULT_CSS = """
    KnobRow { height: auto; }
    KnobRow .knob-line { height: 1; }
    KnobRow .knob-name { width: 19; }
    KnobRow.-changed .knob-name { color: $accent; text-style: bold; }
    KnobRow .knob-input { width: 1fr; }
    KnobRow .marker { width: 2; padding-left: 1; color: $accent; }
    KnobRow .error { color: $error; padding-left: 19; display: none; }
    KnobRow .error.-shown { display: block; }
    """

    def __init__(self, knob: Knob) -> None:
        super().__init__(classes="knob-row", id=f"row-{knob.name}")
        self.knob = knob
        self.tooltip = Content(f"{knob.name}: {knob.help}")  # ancestors' tooltips show over the Input too

    def compose(self) -> ComposeResult:
        with Horizontal(classes="knob-line"):
            yield Label(self.knob.name, classes="knob-name")
            yield Input(
                id=f"knob-{self.knob.name}",
                classes="knob-input",
                placeholder="server default",
                validators=[KnobValidator(self.knob.name)],
                compact=True,
            )
            yield Static("", classes="marker", markup=False)
        yield Static("", classes="error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def show(self, value: Any, default: Any) -> None:
        """The session's value (None: the server's default, shown as the placeholder)."""
        self.input.value = format_knob(value)
        self.input.placeholder = f"{format_default(default)} (server)" if default is not None else "server default"
        self.show_error("")
        self.mark(value is not None)

    def mark(self, changed: bool) -> None:
        self.set_class(changed, "-changed")
        self.query_one(".marker", Static).update(CHANGED_MARK if changed else "")

    def show_error(self, message: str) -> None:
        error = self.query_one(".error", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")


class KnobGroup(Vertical):
    """A titled section of the pane (Sampling, Penalties, ...); hidden when a filter leaves nothing."""

    DEFAULT_CSS = """
    KnobGroup { height: auto; }
    KnobGroup > .group-title { color: $text-muted; margin-top: 1; text-style: bold; }
    """

    def __init__(self, key: str, title: str) -> None:
        super().__init__(id=f"group-{key}", classes="knob-group")
        self.key = key
        self.title = title


def matches(query: str, *names: str) -> bool:
    """Whether a knob (or editor) named `names` is shown for the filter `query`: every word of the
    query is part of a name ("rep pen" finds repeat_penalty; "dry" every DRY knob)."""
    words = query.lower().replace("-", "_").split()
    return all(any(word in name.lower() for name in names) for word in words)
