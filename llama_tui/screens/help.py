"""Key bindings, read live from the screen underneath so the list can never go stale."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def readable(binding: Binding) -> str:
    """A binding's name in the help: its tooltip when it has one (the footer's description is
    kept short, e.g. "‹ Alt" for "Previous alternative"), else its description."""
    return binding.tooltip or binding.description


def binding_rows(screen: Screen[object]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section title, [(keys, description)]) for the bindings active on `screen`.

    Uses `Screen.active_bindings` (focused widget → its ancestors → screen → app, with shadowed keys
    and disabled actions already removed). Screen and app bindings are listed even when hidden from
    the footer (show=False); bindings of the focused widget only if shown, to skip the cursor-key
    plumbing of inputs and lists. Keys of the same action are merged ("esc / f1"). The widget
    classes in the screen's HELP_ALSO (e.g. a message's keys) are listed too, focused or not.
    """
    app = screen.app
    groups: dict[DOMNode | type, dict[tuple[str, str], list[str]]] = {}
    for active in screen.active_bindings.values():
        if not _listed(active, screen):
            continue
        binding = active.binding
        rows = groups.setdefault(active.node, {})
        rows.setdefault((binding.action, readable(binding)), []).append(app.get_key_display(binding))
    for cls in getattr(screen, "HELP_ALSO", ()):
        if any(isinstance(node, cls) for node in groups):
            continue  # focused: listed above
        rows = groups.setdefault(cls, {})
        for binding in Binding.make_bindings(getattr(cls, "BINDINGS", [])):
            if binding.description:
                rows.setdefault((binding.action, readable(binding)), []).append(app.get_key_display(binding))

    def title(node: DOMNode | type) -> str:
        if node is app:
            return "Everywhere"
        if node is screen:
            return "This screen"
        cls = node if isinstance(node, type) else type(node)
        return str(getattr(cls, "HELP_TITLE", "") or f"In {cls.__name__}")

    # Screen first, then app, then the focused widget and its containers, then HELP_ALSO.
    def rank(node: DOMNode | type) -> int:
        return 0 if node is screen else 1 if node is app else 3 if isinstance(node, type) else 2

    order = sorted(groups, key=rank)
    return [
        (title(node), [(" / ".join(dict.fromkeys(keys)), desc) for (_, desc), keys in groups[node].items()])
        for node in order
    ]


def _listed(active: ActiveBinding, screen: Screen[object]) -> bool:
    binding: Binding = active.binding
    if not binding.description:
        return False
    return binding.show or active.node is screen or active.node is screen.app


def _table(sections: Iterable[tuple[str, list[tuple[str, str]]]]) -> Content:
    sections = list(sections)
    key_width = max((len(keys) for _, rows in sections for keys, _ in rows), default=0)
    parts: list[Content | str | tuple[str, str]] = []
    for index, (title, rows) in enumerate(sections):
        if index:
            parts.append("\n")
        parts.append((title, "bold"))
        for keys, description in rows:
            # Plain tuples, not markup: a key display such as "[" must not start a tag.
            parts += ["\n  ", (keys.ljust(key_width), "$text-accent"), "  ", description]
    if not sections:
        parts.append("No key bindings.")
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    """Lists the key bindings of the screen below (and the app). Escape, F1 or q closes."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #dialog {
            width: auto;
            min-width: 50;
            max-width: 90%;
            height: auto;
            max-height: 90%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #help-title { text-style: bold; margin-bottom: 1; }
        & #help-scroll { height: auto; max-height: 100%; width: auto; }
        & #help-table { width: auto; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close help", show=False)]

    def __init__(self, target: Screen[object] | None = None) -> None:
        """`target`: the screen whose bindings to list; default the screen below this one."""
        super().__init__()
        self._target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content("Keys  (Escape, F1 or q to close)"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(id="help-table")

    def on_mount(self) -> None:
        target = self._target or self._screen_below()
        table = _table(binding_rows(target)) if target is not None else Content("No key bindings.")
        self.query_one("#help-table", Static).update(table)
        self.query_one("#help-scroll").focus()  # so up/down/pageup scroll a long list

    def _screen_below(self) -> Screen[object] | None:
        stack = [screen for screen in self.app.screen_stack if screen is not self]
        return stack[-1] if stack else None

    def action_close(self) -> None:
        self.dismiss(None)
