"""Prompt preview: the exact request the next answer sends (chat/request.py builds it): the prompt
string, its token count and boundaries, and every other parameter of the body."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..chat.request import CompletionRequest
from ..client import LlamaCppClient, LlamaError, Token
from ..format import readable_bytes
from ..sanitize import neutralize

# Alternating backgrounds show where one token ends and the next begins.
TOKEN_STYLES = ("on #264f78", "on #4b3b63")


def visible_piece(piece: str) -> str:
    """A token's text with whitespace made visible (so template mistakes show)."""
    return neutralize(piece).replace(" ", "·").replace("\t", "→").replace("\n", "↵\n")


def token_content(tokens: Sequence[Token]) -> Content:
    parts: list[tuple[str, str]] = []
    for i, token in enumerate(tokens):
        # A piece that is part of a character comes as bytes: shown as <0xF0>..., not as "�".
        piece = (
            token.piece
            if isinstance(token.piece, str)
            else (readable_bytes(token.piece) if token.piece is not None else f"<{token.id}>")
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
        self, client: LlamaCppClient, template: str, request: Callable[[], Awaitable[CompletionRequest]]
    ) -> None:
        super().__init__()
        self.client = client
        self.template = template
        self._request = request
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
            yield Static("The rest of the request body:", classes="heading", markup=False)
            yield Static("", id="params", markup=False)

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        summary = self.query_one("#summary", Static)
        try:
            request = await self._request()
        except LlamaError as e:
            summary.update(f"Could not render the prompt: {e.message}")
            return
        prompt = request.prompt_text
        stops = request.params.get("stop", [])
        self.prompt = prompt
        params = {k: v for k, v in request.params.items() if k != "stop"}
        self.query_one("#params", Static).update(neutralize(json.dumps(params, indent=2, ensure_ascii=False)))
        self.query_one("#prompt", Static).update(neutralize(prompt))
        try:
            self.tokens = await self.client.tokenize(prompt, with_pieces=True, add_special=True)
        except LlamaError as e:
            summary.update(f"{len(prompt):,} characters · tokenizing failed: {e.message}")
            return
        stop_text = ", ".join(repr(s) for s in stops) or "none"
        summary.update(
            f"{len(self.tokens):,} tokens (with the BOS the server adds) · {len(prompt):,} characters"
            f" · stop strings: {stop_text}"
        )
        self.query_one("#tokens", Static).update(token_content(self.tokens))
