"""One message of the conversation: a role line, the text as markdown, and a footer of figures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Collapsible, ProgressBar, Static

from ..domain import CONTEXT_OVERFLOW_ADVICE, ChatMessage
from ..format import format_reasoning, format_slot_cache, format_timings
from ..reasoning import split_reasoning
from ..sanitize import neutralize, one_line
from .message_body import MessageBody
from .paced_stream import PacedStream

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}


class MessageAction(Enum):
    """What the user can ask of one message; the screen decides what each means."""

    EDIT = "edit"
    REGENERATE = "regenerate"
    CONTINUE = "continue"
    PREVIOUS_ALTERNATIVE = "previous_alternative"
    NEXT_ALTERNATIVE = "next_alternative"
    COPY = "copy"
    COPY_CODE = "copy_code"
    FORK = "fork"
    PROBABILITIES = "probabilities"

    @property
    def changes_conversation(self) -> bool:
        """Whether it must wait until no answer is streaming (copying never has to)."""
        return self not in (MessageAction.COPY, MessageAction.COPY_CODE)


# Laying out a megabyte of text takes seconds even in a thread; the rest stays in the store, in
# the copy (y) and in exports.
DISPLAY_LIMIT = 64_000


def shown_text(text: str) -> str:
    """What the view shows of a message: neutralised, and capped at DISPLAY_LIMIT characters."""
    if len(text) <= DISPLAY_LIMIT:
        return neutralize(text)
    more = len(text) - DISPLAY_LIMIT
    return neutralize(text[:DISPLAY_LIMIT]) + f"\n\n… {more:,} more characters not shown (y copies the whole message)"


def constraint_mark(meta: dict[str, Any]) -> str:
    """How an answer was constrained, and for a JSON schema whether it parses and validates."""
    if meta.get("constrained") == "grammar":
        return "⊨ grammar"
    if meta.get("schema_ok") is True:
        return "⊨ JSON schema: valid ✓"
    if meta.get("schema_ok") is False:
        return f"⊨ JSON schema: ✗ {one_line(str(meta.get('schema_error') or 'invalid'), 80)}"
    return "⊨ JSON schema"


def footer_text(message: ChatMessage) -> str:
    """Figures and markers under an answer: speed from the server's timings, and why it ended."""
    if message.role != "assistant":
        return ""
    parts: list[str] = []
    meta = message.meta or {}
    if meta.get("edited") is True:
        parts.append("✎ edited by hand")
    if meta.get("constrained") in ("grammar", "json_schema"):
        parts.append(constraint_mark(meta))
    figures = format_timings(message.timings, message.stop_type, message.ttft_ms, truncated=message.truncated)
    if figures:
        parts.append(figures)
    if restored := format_slot_cache(message.meta):
        parts.append(restored)
    reasoning = format_reasoning(message.meta)  # tokens and time of the reasoning apart from the answer's
    if reasoning:
        parts.append(reasoning)
    # The error text came from the server (or the network): shown as plain, neutralised text.
    if message.state == "streaming":
        parts.append("streaming…")
    elif message.state == "interrupted":
        parts.append("⚠ interrupted" + (f": {one_line(message.error)}" if message.error else ""))
        parts.append(RETRY_HINT + ", c continues")
    elif message.state == "error":
        parts.append(f"⚠ error: {one_line(message.error or 'unknown')}")
        if CONTEXT_OVERFLOW_ADVICE not in (message.error or ""):  # retrying would fail the same way
            parts.append(RETRY_HINT)
    if message.stop_type == "limit" and message.state == "complete":
        if message.truncated:  # the server stopped because the context was full, not n_predict
            parts.append("context full: answer cut off (start a new session or use a larger -c)")
        else:
            parts.append("cut off by n_predict (continue to resume)")
    return " · ".join(parts)


# How to ask again (the bindings below, on a message focused with alt+up).
RETRY_HINT = "alt+↑ then r retries"


class MessageView(Vertical):
    """Shows a ChatMessage. Text is neutralised (no terminal controls) and rendered as markdown by
    a MessageBody, which never interprets Textual markup and never follows links. A streaming
    answer grows through a PacedStream: an update lays out only the end of the answer."""

    DEFAULT_CSS = """
    MessageView { height: auto; padding: 0 1; margin-bottom: 1; border-left: blank; }
    MessageView:focus { border-left: thick $accent; background: $boost; }
    MessageView .role { text-style: bold; height: 1; }
    MessageView.-user .role { color: $accent; }
    MessageView.-assistant .role { color: $success; }
    MessageView .footer { color: $text-muted; height: auto; }
    MessageView .footer.-error, MessageView .footer.-interrupted { color: $warning; }
    MessageView ProgressBar { height: 1; }
    """

    # Keys that act on the focused message (shift+tab from the composer, or alt+up, focuses one).
    # Descriptions are short for the footer; the help lists the tooltips.
    HELP_TITLE = "On a message (alt+↑ or shift+tab reaches them)"
    BINDINGS = [
        Binding("up", "focus_sibling(-1)", "Previous message", show=False),
        Binding("down", "focus_sibling(1)", "Next message", show=False),
        Binding("e", "request('edit')", "Edit", tooltip="Edit (a question: resend as a new branch)"),
        Binding("r", "request('regenerate')", "Regenerate", tooltip="Regenerate the answer"),
        Binding("c", "request('continue')", "Continue", tooltip="Continue the answer"),
        Binding("left,[", "request('previous_alternative')", "‹ Alt", tooltip="Previous alternative"),
        Binding("right,]", "request('next_alternative')", "Alt ›", tooltip="Next alternative"),
        Binding("y", "request('copy')", "Copy", tooltip="Copy the message"),
        Binding("b", "request('copy_code')", "Copy code", tooltip="Copy a code block (again: the next one)"),
        Binding("f", "request('fork')", "Fork here", tooltip="Fork: a new session up to here"),
        Binding("p", "request('probabilities')", "Probabilities", tooltip="Token probabilities"),
    ]

    @dataclass
    class EdgeReached(Message):
        """Up on the first message shown, or down on the last: the chat may page more in."""

        view: MessageView
        step: int

    @dataclass
    class ActionRequested(Message):
        """The user asked for `action` on this message; the screen decides what it means."""

        view: MessageView
        action: MessageAction

    def __init__(self, message: ChatMessage) -> None:
        super().__init__(classes=f"-{message.role}")
        self.can_focus = True
        self.message = message
        self._stream: PacedStream | None = None
        self._shown_chars = 0  # characters of the answer streamed into the body (up to DISPLAY_LIMIT)
        self._text_parts: list[str] = [message.content]
        self.alternatives: tuple[int, int] = (1, 1)  # (this one, of how many) among its siblings
        self._reasoning_parts: list[str] = [message.reasoning] if message.reasoning else []
        self._live = (0, False)  # (tokens, thinking) of the answer streaming
        self._live_dirty = False
        self._reasoning_dirty = False
        # Made on first use: most messages never need them, and every widget costs mount time.
        self._progress: ProgressBar | None = None
        self._reasoning_box: Collapsible | None = None
        self._reasoning_text: Static | None = None

    def _shown(self) -> tuple[str | None, str]:
        """(reasoning, answer) to show: stored apart, or still inside the text (interrupted)."""
        if self.message.reasoning is not None:
            return self.message.reasoning, self.message.content
        if self.message.role == "assistant":
            return split_reasoning(self.message.content)
        return None, self.message.content

    def compose(self) -> ComposeResult:
        reasoning, answer = self._shown()
        yield Static(self._role_text(), classes="role", markup=False)
        if reasoning is not None:
            yield self._make_reasoning_box(reasoning)
        yield MessageBody(shown_text(answer))
        yield Static(footer_text(self.message), classes="footer", markup=False)

    def _make_reasoning_box(self, reasoning: str) -> Collapsible:
        self._reasoning_text = Static(shown_text(reasoning.strip("\n")), classes="reasoning", markup=False)
        self._reasoning_box = Collapsible(
            self._reasoning_text, collapsed=True, title=f"Reasoning ({len(reasoning):,} characters)"
        )
        return self._reasoning_box

    def _set_reasoning(self, reasoning: str | None) -> None:
        if reasoning is None:
            if self._reasoning_box is not None:
                self._reasoning_box.display = False
            return
        if self._reasoning_box is None:
            self.mount(self._make_reasoning_box(reasoning), after=self.query_one(".role"))
            return
        assert self._reasoning_text is not None
        self._reasoning_box.display = True
        self._reasoning_box.title = f"Reasoning ({len(reasoning):,} characters)"
        self._reasoning_text.update(shown_text(reasoning.strip("\n")))

    def on_mount(self) -> None:
        self._set_state_class()

    def _role_text(self) -> str:
        label = ROLE_LABELS.get(self.message.role, self.message.role)
        index, total = self.alternatives
        return f"{label}   ‹ {index}/{total} ›" if total > 1 else label

    def set_alternatives(self, index: int, total: int) -> None:
        self.alternatives = (index, total)
        for role in self.query_children(".role"):  # none yet (compose reads alternatives) or any more
            cast(Static, role).update(self._role_text())

    def action_request(self, action: str) -> None:
        # Binding actions are strings by Textual's design; the enum turns a typo into an error here.
        self.post_message(self.ActionRequested(self, MessageAction(action)))

    def action_focus_sibling(self, step: int) -> None:
        views = [v for v in self.parent.children if isinstance(v, MessageView) and v.display] if self.parent else []
        index = views.index(self) + step if self in views else -1
        if 0 <= index < len(views):
            views[index].focus()
            views[index].scroll_visible(animate=False)
        elif self in views:
            self.post_message(self.EdgeReached(self, step))

    @property
    def markdown(self) -> MessageBody:
        """The widget showing the text."""
        return self.query_one(MessageBody)

    @property
    def shown_markdown(self) -> str:
        """The markdown source on screen."""
        return self.markdown.source

    @property
    def text(self) -> str:
        return "".join(self._text_parts)

    @property
    def reasoning_text(self) -> str:
        """The reasoning shown (or about to be: it is redrawn ten times a second)."""
        return "".join(self._reasoning_parts)

    def start_stream(self) -> None:
        body = self.markdown
        self._shown_chars = len(body.source)
        body.start_streaming()
        self._stream = PacedStream(body)

    def write_reasoning(self, text: str) -> None:
        """More reasoning of the answer being streamed (shown collapsed above the answer)."""
        self._hide_progress()
        self._reasoning_parts.append(text)
        if not self._reasoning_dirty:  # redraw the reasoning at most ten times a second
            self._reasoning_dirty = True
            self.set_timer(0.1, self._show_reasoning)

    async def write(self, text: str) -> None:
        """More answer text of the answer being streamed (reasoning is split off before)."""
        self._text_parts.append(text)
        self._hide_progress()
        if self._stream is None:
            self.start_stream()
        assert self._stream is not None
        if self._shown_chars < DISPLAY_LIMIT:  # past it, finish shows the capped text and a note
            piece = text[: DISPLAY_LIMIT - self._shown_chars]
            self._shown_chars += len(piece)
            self._stream.write(neutralize(piece))
        # Let the UI in between tokens: a fast stream arrives in buffered bursts that never wait.
        await asyncio.sleep(0)

    def _hide_progress(self) -> None:
        if self._progress is not None and self._progress.display:
            self._progress.display = False

    def _show_reasoning(self) -> None:
        self._reasoning_dirty = False
        self._set_reasoning("".join(self._reasoning_parts))

    def show_live(self, tokens: int, thinking: bool) -> None:
        """While streaming: tokens arrived so far (they arrive even while the server holds text
        back) and whether the model is thinking; painted at most four times a second."""
        self._live = (tokens, thinking)
        if not self._live_dirty:
            self._live_dirty = True
            self.set_timer(0.25, self._paint_live)

    def _paint_live(self) -> None:
        self._live_dirty = False
        if self.message.state != "streaming" or self._stream is None:
            return  # ended meanwhile: the footer shows the figures
        tokens, thinking = self._live
        what = "thinking… " if thinking else "streaming… "
        self.show_status(what + f"{tokens:,} tokens" + (" · ctrl+g: answer now" if thinking else ""))

    def show_status(self, text: str) -> None:
        """A passing state shown in the footer until the answer ends (e.g. "waking model…")."""
        footer = self.query_one(".footer", Static)
        # Still one line that fits: no layout pass (the live token count changes 4 times a second,
        # and a layout pass costs more than the repaint of that line).
        fits = footer.size.height == 1 and cell_len(text) < footer.size.width
        footer.update(text, layout=not fits)

    def show_progress(self, fraction: float) -> None:
        """Prompt processing: `fraction` of the prompt done (0..1)."""
        if self._progress is None:
            self._progress = ProgressBar(total=100, show_eta=False, show_percentage=True)
            self.mount(self._progress, before=self.query_one(".footer"))
        self._progress.display = True
        self._progress.update(progress=round(fraction * 100))

    async def finish(self, message: ChatMessage) -> None:
        """The answer ended (any way): show what was left, then the stored text if it differs
        (capped, or neutralised differently across token boundaries)."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if self._progress is not None:
            self._progress.display = False
        self.message = message
        self._text_parts = [message.content]
        self._reasoning_parts = [message.reasoning] if message.reasoning else []
        reasoning, answer = self._shown()
        self._set_reasoning(reasoning)
        shown = shown_text(answer)
        body = self.markdown
        if body.source != shown:
            body.update(shown)
        body.stop_streaming()
        self.update_footer()

    def update_footer(self) -> None:
        self.query_one(".footer", Static).update(footer_text(self.message))
        self._set_state_class()

    def _set_state_class(self) -> None:
        # On the footer, not the view: a class change restyles every widget below the node.
        footer = self.query_one(".footer", Static)
        for state in ("error", "interrupted", "streaming"):
            footer.set_class(self.message.state == state, f"-{state}")
