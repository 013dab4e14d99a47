"""Prompt preview: the exact prompt string that will be sent, its token count and boundaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..client import LlamaCppClient, LlamaError, Token
from ..domain import ChatMessage
from ..sanitize import neutralize

# Alternating backgrounds show where one token ends and the next begins.
TOKEN_STYLES = ("on #264f78", "on #4b3b63")


def visible_piece(piece: str) -> str:
    """A token's text with whitespace made visible (so template mistakes show)."""
    return neutralize(piece).replace(" ", "·").replace("\t", "→").replace("\n", "↵\n")


def token_content(tokens: Sequence[Token]) -> Content:
    parts: list[tuple[str, str]] = []
    for i, token in enumerate(tokens):
        piece = (
            token.piece
            if isinstance(token.piece, str)
            else (token.piece.decode("utf-8", "replace") if token.piece is not None else f"<{token.id}>")
        )
        parts.append((visible_piece(piece), TOKEN_STYLES[i % 2]))
    return Content.assemble(*parts)


class PromptPreviewScreen(ModalScreen[None]):
    """Shows the prompt as rendered by the session's template (the server's rendering for the
    `server` template), then the same text split into the model's tokens."""

    DEFAULT_CSS = """
    PromptPreviewScreen { align: center middle; }
    PromptPreviewScreen > VerticalScroll { width: 90%; height: 90%; border: round $primary; padding: 0 1;
        background: $surface; }
    PromptPreviewScreen .heading { text-style: bold; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,q,f6", "dismiss", "Close")]

    def __init__(
        self, client: LlamaCppClient, history: list[ChatMessage], template: str, custom_templates: Mapping[str, Any]
    ) -> None:
        super().__init__()
        self.client = client
        self.history = history
        self.template = template
        self.custom_templates = custom_templates
        self.prompt: str | None = None
        self.tokens: list[Token] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"Prompt preview · template: {self.template}  (Esc closes)", classes="heading", markup=False)
            yield Static("Rendering…", id="summary", markup=False)
            yield Static("Exact prompt text (special tokens as the model sees them):", classes="heading", markup=False)
            yield Static("", id="prompt", markup=False)
            yield Static("Tokens (alternating colours; · = space):", classes="heading", markup=False)
            yield Static("", id="tokens", markup=False)

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        summary = self.query_one("#summary", Static)
        try:
            prompt, stops = await self.client.render_chat(
                self.history, self.template, custom_templates=self.custom_templates
            )
        except (LlamaError, KeyError, ValueError) as e:
            summary.update(f"Could not render the prompt: {e}")
            return
        self.prompt = prompt
        self.query_one("#prompt", Static).update(neutralize(prompt))
        try:
            self.tokens = await self.client.tokenize(prompt, with_pieces=True, add_special=True)
        except LlamaError as e:
            summary.update(f"{len(prompt):,} characters · tokenizing failed: {e.message}")
            return
        stop_text = ", ".join(repr(s) for s in stops) or "none added"
        summary.update(
            f"{len(self.tokens):,} tokens (with the BOS the server adds) · {len(prompt):,} characters"
            f" · stop strings: {stop_text}"
        )
        self.query_one("#tokens", Static).update(token_content(self.tokens))
