"""Multi-line editors for the constraints: a GBNF grammar, a JSON schema and the logit bias by text.

Each has a text area, Apply (ctrl+s) and Clear; the grammar and schema editors also insert a
built-in example and load a file. A value is checked here first (the grammar by a port of the
server's parser, the schema by JSON Schema's rules, the bias lines by their syntax) and posted only
when it passes; the screen then asks the server and answers with `set_status` (its error, or
"applied"). Edited text that is not applied says so. The bias editor also shows which token ids
each text becomes (`show_tokens`, from the screen's /tokenize).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Label, Select, Static, TextArea

from ..grammar import EXAMPLES, SCHEMA_EXAMPLES
from ..knobs import SettingError, format_knob, parse_knob
from ..sanitize import neutralize
from .knob_fields import CHANGED_MARK, PaneEdit

TokenRow = tuple[str, float | bool, list[tuple[int, str]]]  # text, bias (False: ban), [(id, piece)]

_TITLES = {
    "grammar": "grammar (GBNF)",
    "json_schema": "json_schema",
    "logit_bias": "logit_bias: one TEXT = BIAS a line",
}
_HELP = {
    "grammar": 'The output must match `root`, e.g. root ::= "yes" | "no". Checked before it is used.',
    "json_schema": "The output must be JSON this schema accepts (the server turns it into a grammar; "
    "it wins over a grammar). Each answer is checked against it.",
    "logit_bias": 'e.g. " hello" = -inf (never), world = 2 (more likely). Quote a text for spaces at its '
    "ends: mid-sentence words usually start with a space. Every token of the text gets the bias.",
}


class ConstraintEditor(Vertical):
    """The editor of one constraint knob: grammar, json_schema or logit_bias."""

    DEFAULT_CSS = """
    ConstraintEditor { height: auto; margin-top: 1; }
    ConstraintEditor .editor-head { height: 1; }
    ConstraintEditor .editor-name { width: 1fr; }
    ConstraintEditor.-changed .editor-name { color: $accent; text-style: bold; }
    ConstraintEditor .marker { width: 2; color: $accent; }
    ConstraintEditor .editor-buttons { height: auto; }
    ConstraintEditor .editor-buttons Button { margin-right: 1; }
    ConstraintEditor TextArea { height: 8; }
    ConstraintEditor .editor-status { color: $text-muted; }
    ConstraintEditor .editor-status.-error { color: $error; }
    ConstraintEditor .editor-tokens { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "apply", "Apply", tooltip="Apply the edited text")]

    @dataclass
    class Submitted(PaneEdit):
        """Text that passed the local check, as a knob value (None: cleared). Not yet applied:
        the screen checks it with the server first."""

        name: str
        value: Any

    @dataclass
    class LoadRequested(PaneEdit):
        """The user wants the editor's text from a file (the screen asks which)."""

        name: str

    def __init__(self, name: str) -> None:
        super().__init__(id=f"editor-{name}", classes="constraint-editor")
        self.knob = name
        self.applied: Any = None
        self._note = ""  # what to say after the next edit (an example inserted)
        self.tooltip = Content(_HELP[name])

    def compose(self) -> ComposeResult:
        examples = EXAMPLES if self.knob == "grammar" else SCHEMA_EXAMPLES if self.knob == "json_schema" else {}
        with Horizontal(classes="editor-head"):
            yield Label(_TITLES[self.knob], classes="editor-name")
            yield Static("", classes="marker", markup=False)
        if examples:
            yield Select[str](
                [(Text(n), n) for n in examples], prompt="Insert an example…", id=f"example-{self.knob}", compact=True
            )
        yield TextArea(  # before the buttons: Tab reaches the text first
            id=f"text-{self.knob}",
            soft_wrap=self.knob == "logit_bias",
            show_line_numbers=self.knob != "logit_bias",
            compact=True,
        )
        with Horizontal(classes="editor-buttons"):
            yield Button("Apply", id=f"apply-{self.knob}", compact=True, variant="primary")
            if examples:
                yield Button("Load file…", id=f"load-{self.knob}", compact=True)
            yield Button("Clear", id=f"clear-{self.knob}", compact=True)
        yield Static("", classes="editor-status", markup=False)
        if self.knob == "logit_bias":
            yield Static("", classes="editor-tokens", id="bias-tokens", markup=False)

    @property
    def area(self) -> TextArea:
        return self.query_one(TextArea)

    # -- attributes down ---------------------------------------------------------------------

    def show(self, value: Any) -> None:
        """The session's value, applied (no message)."""
        self.applied = value
        text = format_knob(value)
        if self.area.text != text:
            with self.prevent(TextArea.Changed):
                self.area.load_text(text)
        self.set_class(value is not None, "-changed")
        self.query_one(".marker", Static).update(CHANGED_MARK if value is not None else "")
        self.set_status("")
        if self.knob == "logit_bias":
            self.query_one("#bias-tokens", Static).update("")  # shown again after the next Apply

    def set_status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one(".editor-status", Static)
        status.update(neutralize(message))  # may hold the server's words
        status.set_class(error, "-error")

    def load_text(self, text: str) -> None:
        """Text from a file: put in the editor, then applied as if the user pressed Apply."""
        self.area.load_text(text)
        self.action_apply()

    def show_tokens(self, rows: list[TokenRow]) -> None:
        """Which token ids each bias text becomes (the server's tokenizer, no special tokens)."""
        lines: list[str] = []
        for text, bias, tokens in rows:
            shown = "ban" if bias is False else f"{bias:+g}"
            pieces = " ".join(f"{token_id} {piece!r}" for token_id, piece in tokens[:12])
            more = f" … ({len(tokens)} tokens)" if len(tokens) > 12 else ""
            lines.append(f"{text!r} {shown} → {pieces or 'no tokens'}{more}")
            if len(tokens) > 1:
                lines.append(f"   ⚠ {len(tokens)} tokens: each gets the bias wherever it appears, not only in {text!r}")
        tokens_view = self.query_one("#bias-tokens", Static)
        tokens_view.update(neutralize("\n".join(lines)))

    # -- messages up -------------------------------------------------------------------------

    def action_apply(self) -> None:
        text = self.area.text
        try:
            value = parse_knob(self.knob, text)
        except SettingError as error:
            self.set_status(f"{error} (not applied)", error=True)
            return
        self.set_status("checking…")
        self.post_message(self.Submitted(self.knob, value))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id or ""
        if button.startswith("apply-"):
            self.action_apply()
        elif button.startswith("clear-"):
            self.area.load_text("")
            self.action_apply()
        elif button.startswith("load-"):
            self.post_message(self.LoadRequested(self.knob))

    @on(Select.Changed)
    def _example(self, event: Select.Changed) -> None:
        event.stop()
        examples = EXAMPLES if self.knob == "grammar" else SCHEMA_EXAMPLES
        if isinstance(event.value, str) and event.value in examples:
            self._note = f"Example “{event.value}” inserted: Apply (ctrl+s) to use it."
            self.area.load_text(examples[event.value])
            with self.prevent(Select.Changed):
                event.select.clear()
            self.area.focus()

    @on(TextArea.Changed)
    def _edited(self, event: TextArea.Changed) -> None:
        event.stop()
        note, self._note = self._note, ""
        if event.text_area.text != format_knob(self.applied):
            self.set_status(note or "Edited, not applied: Apply (ctrl+s).")
        else:
            self.set_status("")
