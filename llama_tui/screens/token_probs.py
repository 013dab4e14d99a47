"""Token probabilities of an answer (n_probs): move through its tokens, see each one's top
alternatives, and pick one to regenerate the answer from that point."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..format import readable_bytes
from ..sanitize import neutralize


@dataclass(frozen=True)
class TokenChoice:
    """Regenerate from token `index`, using `token_id` / `text` in place of what was sampled."""

    index: int
    token_id: int
    text: str


def probability(entry: dict[str, Any]) -> float:
    """Probability of one entry: newer servers send logprob, older ones prob."""
    if "logprob" in entry:
        return math.exp(float(entry["logprob"]))
    return float(entry.get("prob", 0.0))


def token_text(entry: dict[str, Any]) -> str:
    token = entry.get("token")
    if isinstance(token, str):
        return token
    raw = entry.get("bytes")
    return bytes(raw).decode("utf-8", "replace") if isinstance(raw, list) else ""


def token_label(entry: dict[str, Any]) -> str:
    """A token as shown: from its bytes (part of a character shows as <0xF0>, not "�"), else its text."""
    raw = entry.get("bytes")
    if isinstance(raw, list) and raw and all(isinstance(b, int) and 0 <= b < 256 for b in raw):
        return readable_bytes(bytes(raw))
    return token_text(entry)


def alternatives(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return list(entry.get("top_logprobs") or entry.get("top_probs") or entry.get("probs") or [])


def shown(text: str) -> str:
    return neutralize(text).replace("\n", "↵").replace(" ", "·") or "∅"


class TokenProbsScreen(ModalScreen[TokenChoice | None]):
    DEFAULT_CSS = """
    TokenProbsScreen { align: center middle; }
    TokenProbsScreen > Vertical { width: 90%; height: 85%; border: round $primary; background: $surface; }
    TokenProbsScreen Horizontal { height: 1fr; }
    TokenProbsScreen OptionList { width: 1fr; height: 1fr; }
    TokenProbsScreen .hint { color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close"), Binding("tab", "switch", "Tokens / alternatives")]

    def __init__(self, probs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.probs = probs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Tokens of this answer: up/down to move, Tab to its alternatives, Enter on an "
                "alternative regenerates from there. Esc closes.",
                classes="hint",
                markup=False,
            )
            with Horizontal():
                yield OptionList(*(self._token_option(i, e) for i, e in enumerate(self.probs)), id="tokens")
                yield OptionList(id="alternatives")

    def _token_option(self, index: int, entry: dict[str, Any]) -> Option:
        p = probability(entry)
        return Option(Content.assemble((f"{index + 1:>5} ", "dim"), shown(token_label(entry)), (f"  {p:6.1%}", "dim")))

    def on_mount(self) -> None:
        tokens = self.query_one("#tokens", OptionList)
        tokens.focus()
        if self.probs:
            tokens.highlighted = 0

    @on(OptionList.OptionHighlighted, "#tokens")
    def _show_alternatives(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.probs[event.option_index]
        chosen = entry.get("id")
        alts = self.query_one("#alternatives", OptionList)
        alts.clear_options()
        alts.add_options(
            Option(
                Content.assemble(
                    shown(token_label(alt)),
                    (f"  {probability(alt):6.1%}", "dim"),
                    ("  ◀ sampled" if alt.get("id") == chosen else "", "bold"),
                )
            )
            for alt in alternatives(entry)
        )
        if alts.option_count:
            alts.highlighted = 0

    @on(OptionList.OptionSelected, "#tokens")
    def _to_alternatives(self) -> None:
        self.query_one("#alternatives", OptionList).focus()

    @on(OptionList.OptionSelected, "#alternatives")
    def _choose(self, event: OptionList.OptionSelected) -> None:
        index = self.query_one("#tokens", OptionList).highlighted
        if index is None:
            return
        alt = alternatives(self.probs[index])[event.option_index]
        self.dismiss(TokenChoice(index, int(alt["id"]), token_text(alt)))

    def action_switch(self) -> None:
        tokens, alts = self.query_one("#tokens", OptionList), self.query_one("#alternatives", OptionList)
        (alts if tokens.has_focus else tokens).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
