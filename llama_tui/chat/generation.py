"""Stream one assistant answer into the store: the part of chatting that must never lose text.

The answer row exists (state "streaming") before the first byte is requested; its text is
checkpointed at most `checkpoint_interval` seconds apart, and whatever happens (final event,
server error, dead connection, cancel) the row ends in a state that says what happened, with all
the text received. No Textual here: the TUI passes a sink that puts text on screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..client import (
    AuthenticationError,
    ContextOverflow,
    FinalEvent,
    LlamaCppClient,
    LlamaError,
    ModelLoading,
    ProgressEvent,
    ProtocolError,
    StreamEvent,
    TokenEvent,
)
from ..client.errors import API_KEY_HINT
from ..domain import ChatMessage
from ..reasoning import split_reasoning
from ..sanitize import one_line
from ..store import Store, StoreError
from .request import CompletionRequest


class GenerationSink(Protocol):
    """Where a generation reports what happens, as it happens (the chat pane, or a test)."""

    async def on_text(self, text: str) -> None: ...
    def on_progress(self, event: ProgressEvent) -> None: ...
    def on_store_error(self, error: StoreError) -> None: ...


@dataclass
class GenerationResult:
    message: ChatMessage
    error: LlamaError | None = None
    saved: bool = True  # False if the store refused the last write (disk full, read-only)


def answered_settings(final: FinalEvent, asked: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the server says it used (complete, with its defaults), plus which model answered."""
    settings = dict(final.generation_settings or asked or {})
    if final.model and "model" not in settings:
        settings["model"] = final.model
    return settings or None


def with_text_ends(entries: list[dict[str, Any]], end: int) -> list[dict[str, Any]]:
    """Mark each probability entry with where its token ends in the answer text ("text_end"). The
    server joins a token that ends mid-character with the next one, so entries can be fewer than
    tokens; the offsets keep "regenerate from this token" exact about the text before it."""
    out: list[dict[str, Any]] = []
    for entry in reversed(entries):
        out.append({**entry, "text_end": end})
        end -= len(str(entry.get("token", "")))
    return out[::-1]


def describe_error(error: LlamaError) -> str:
    """One line for the user: token counts for a context overflow, what to do about a refused key
    or a loading model. The server's words are untrusted text: control characters are made
    visible, so an error message can never drive the terminal."""
    message = one_line(error.message) or type(error).__name__
    if isinstance(error, ContextOverflow):
        n_prompt, n_ctx = error.n_prompt_tokens, error.n_ctx
        if isinstance(n_prompt, int) and isinstance(n_ctx, int) and n_prompt and n_ctx:
            return f"{message} (prompt {n_prompt:,} tokens, context {n_ctx:,})"
    if isinstance(error, AuthenticationError):
        return f"{message}: the server refused the API key; {API_KEY_HINT}"
    if isinstance(error, ModelLoading):
        return f"{message}: llama-server is still loading the model; retry when the status bar says ok"
    return message


RequestFactory = Callable[[], Awaitable[CompletionRequest]]


@dataclass
class Generation:
    client: LlamaCppClient
    store: Store
    checkpoint_interval: float = 1.0
    clock: Callable[[], float] = time.monotonic

    async def run(self, answer: ChatMessage, request: RequestFactory, sink: GenerationSink) -> GenerationResult:
        """Stream into `answer` (already in the store, state "streaming"; its content is any text
        the answer starts with, e.g. a prefill or the part being continued). `request` builds the
        request (rendering may need the server: a failure there ends the answer as an error)."""
        parts: list[str] = [answer.content] if answer.content else []
        length = len(answer.content)
        probs: list[dict[str, Any]] = list(answer.probs or [])
        last_save: float | None = None  # no checkpoint yet: the first token is saved at once
        saved = True
        error: LlamaError | None = None
        state = "interrupted"
        final: FinalEvent | None = None
        stream: AsyncIterator[StreamEvent] | None = None

        def save(**changes: Any) -> None:
            nonlocal answer, saved
            content = "".join(parts)
            if "state" in changes:  # the last save: keep <think> reasoning apart from the answer
                reasoning, rest = split_reasoning(content)
                if reasoning is not None:
                    content, changes["reasoning"] = rest, reasoning
            answer = answer.replace(content=content, probs=probs or None, **changes)
            try:
                self.store.update_message(answer)
                saved = True
            except StoreError as e:
                saved = False
                sink.on_store_error(e)

        try:
            body = (await request()).body()
            stream = self.client.stream_completion(body.pop("prompt"), **body)
            async for event in stream:
                if isinstance(event, TokenEvent):
                    parts.append(event.content)
                    length += len(event.content)
                    if event.probs and isinstance(event.probs, list):  # untrusted: use only what fits
                        probs.extend(with_text_ends([e for e in event.probs if isinstance(e, dict)], length))
                    now = self.clock()
                    if last_save is None or now - last_save >= self.checkpoint_interval:
                        last_save = now
                        save()  # before the screen: a busy UI must not hold up what is kept
                    await sink.on_text(event.content)
                elif isinstance(event, ProgressEvent):
                    sink.on_progress(event)
                elif isinstance(event, FinalEvent):
                    final = event
            state = "complete"
        except LlamaError as e:
            error = e
            state = "interrupted" if any(parts) else "error"
        except asyncio.CancelledError:
            state = "interrupted"  # the user stopped it: keep what arrived, then let the cancel go on
            await _close(stream)
            save(state=state)
            raise
        except Exception as e:
            # Anything else (a reply no parser expected, a bug) must not leave the row "streaming"
            # or lose what arrived: end it like a broken stream, saying what happened.
            error = ProtocolError(f"unexpected failure while streaming: {type(e).__name__}: {e}")
            state = "interrupted" if any(parts) else "error"
        finally:
            # Closing the stream closes the HTTP response, which stops the generation on the
            # server. Explicitly, every time: a cancel that lands in `sink.on_text` would
            # otherwise leave the response open until garbage collection (the slot stays busy).
            await _close(stream)
        if final is not None:
            save(
                state=state,
                timings=final.timings.raw if final.timings else None,
                stop_type=final.stop_type,
                stopping_word=final.stopping_word or None,
                truncated=final.truncated,
                tokens_cached=final.tokens_cached,
                ttft_ms=final.ttft_ms,
                # What the server says it used (complete, with its defaults), not just what we asked.
                settings=answered_settings(final, answer.settings),
            )
        else:
            save(state=state, error=describe_error(error) if error else None)
        return GenerationResult(answer, error, saved)


async def _close(stream: AsyncIterator[StreamEvent] | None) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        # Shielded: closing must finish even when the task is being cancelled again.
        await asyncio.shield(aclose())
