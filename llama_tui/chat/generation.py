"""Stream one assistant answer into the store: the part of chatting that must never lose text.

The answer row exists (state "streaming") before the first byte is requested; its text is
checkpointed at once with the first token and then at most `checkpoint_interval` seconds apart,
and whatever happens (final event, server error, dead connection, cancel) the row ends in a state
that says what happened, with all the text received. Reasoning is split from the answer as it
streams (the request says the format and whether the output starts inside it), stored apart and
counted apart. "Stop thinking now" (`end_reasoning`) ends the reasoning where it is: the stream is
closed and the same answer goes on from the prompt, the output so far and the closing marker.
No Textual here: the TUI passes a sink that puts text on screen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..client import (
    AuthenticationError,
    ContextOverflow,
    FinalEvent,
    KeepAliveEvent,
    LlamaCppClient,
    LlamaError,
    ModelLoading,
    ProgressEvent,
    ProtocolError,
    RetryEvent,
    StreamEvent,
    TokenEvent,
)
from ..client.errors import API_KEY_HINT
from ..domain import CONTEXT_OVERFLOW_ADVICE, ChatMessage
from ..reasoning import THINK, Phase, ReasoningFormat, ReasoningStream, Start, stop_thinking
from ..sanitize import one_line
from ..store import Store, StoreError
from .constraints import answer_meta
from .request import CompletionRequest

log = logging.getLogger(__name__)

# What an answer says when something nobody expected broke it (a bug, a reply no parser
# expected): plain words on screen; the technical detail goes to the log and the message's meta.
UNEXPECTED = "the answer stopped because of an unexpected problem in llama-tui (what arrived is kept)"
DETAIL_LIMIT = 2_000


class GenerationSink(Protocol):
    """Where a generation reports what happens, as it happens (the chat pane, or a test)."""

    async def on_text(self, text: str) -> None: ...
    def on_reasoning(self, text: str) -> None: ...
    def on_tokens(self, count: int, thinking: bool) -> None: ...
    def on_progress(self, event: ProgressEvent) -> None: ...
    def on_status(self, text: str) -> None:
        """A passing state in plain words while no text comes: a retry after a 429 (and how long
        it waits), or the time waited while the server sends only keep-alive pings."""

    def on_store_error(self, error: StoreError) -> None: ...


def waiting_text(event: KeepAliveEvent, tokens: int) -> str:
    """What to show while llama-server sends keep-alive pings and no text."""
    so_far = f"{tokens:,} tokens so far" if tokens else "no text yet"
    return f"waiting for llama-server: {event.elapsed_s:.0f} s, {so_far} (it says it is still working)"


@dataclass
class GenerationResult:
    message: ChatMessage
    error: LlamaError | None = None
    saved: bool = True  # False if the store refused the last write (disk full, read-only)
    id_slot: int | None = None  # the slot that answered (the final event's id_slot), if it said


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
            message = f"{message} (prompt {n_prompt:,} tokens, context {n_ctx:,})"
        return f"{message}. {CONTEXT_OVERFLOW_ADVICE}"
    if isinstance(error, AuthenticationError):
        return f"{message}: the server refused the API key; {API_KEY_HINT}"
    if isinstance(error, ModelLoading):
        return f"{message}: llama-server is still loading the model; retry when the status bar says ok"
    return message


class AnswerText:
    """What an answer holds so far: its reasoning and its answer text apart, the raw output of
    this generation (markers included, for "stop thinking now"), probabilities and the tally."""

    def __init__(self, answer: ChatMessage, fmt: ReasoningFormat = THINK, start: Start = Start.OUTSIDE) -> None:
        self.answer_parts = [answer.content] if answer.content else []
        self.reasoning_parts = [answer.reasoning] if answer.reasoning else []
        self.answer_length = len(answer.content)
        self.probs: list[dict[str, Any]] = list(answer.probs or [])
        self.raw: list[str] = []
        self.fmt, self.start = fmt, start
        self.stream = ReasoningStream(fmt, start)

    def feed(self, text: str, tokens: int, now: float) -> tuple[str, str]:
        """(reasoning, answer) parts of streamed text, kept."""
        self.raw.append(text)
        reasoning, answer = self.stream.feed(text, tokens, now)
        self._keep(reasoning, answer)
        return reasoning, answer

    def finish(self) -> tuple[str, str]:
        reasoning, answer = self.stream.finish()
        self._keep(reasoning, answer)
        return reasoning, answer

    def _keep(self, reasoning: str, answer: str) -> None:
        if reasoning:
            self.reasoning_parts.append(reasoning)
        if answer:
            self.answer_parts.append(answer)
            self.answer_length += len(answer)

    @property
    def thinking(self) -> bool:
        """In the reasoning, or not yet known to be past it (it may still open)."""
        return self.stream.splitter.phase is not Phase.ANSWER

    @property
    def reasoning_now(self) -> bool:
        return self.stream.splitter.phase is Phase.REASONING

    def stop_text(self) -> str | None:
        """What ends the reasoning now (None if the answer has begun)."""
        return stop_thinking(self.fmt, self.start, "".join(self.raw))

    def fields(self) -> dict[str, Any]:
        """The message fields for a save: content, reasoning, probs and the reasoning tally."""
        tally = self.stream.tally
        fields: dict[str, Any] = {
            "content": "".join(self.answer_parts),
            "reasoning": "".join(self.reasoning_parts).strip("\n") or None,
            "probs": self.probs or None,
        }
        if tally.reasoning.tokens:
            fields["meta_update"] = {
                "reasoning_tokens": tally.reasoning.tokens,
                "reasoning_s": round(tally.reasoning.seconds, 3),
                "answer_tokens": tally.answer.tokens,
                "answer_s": round(tally.answer.seconds, 3),
            }
        return fields


RequestFactory = Callable[[], Awaitable[CompletionRequest]]


@dataclass
class Generation:
    client: LlamaCppClient
    store: Store
    checkpoint_interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _end_reasoning: bool = False

    def end_reasoning(self) -> None:
        """Stop thinking now: end the reasoning where it is and let the model answer."""
        self._end_reasoning = True

    async def run(self, answer: ChatMessage, request: RequestFactory, sink: GenerationSink) -> GenerationResult:
        """Stream into `answer` (already in the store, state "streaming"; its content is any text
        the answer starts with, e.g. a prefill or the part being continued). `request` builds the
        request (rendering may need the server: a failure there ends the answer as an error)."""
        text = AnswerText(answer)
        saved = True
        error: LlamaError | None = None
        state = "interrupted"
        final: FinalEvent | None = None
        stream: AsyncIterator[StreamEvent] | None = None
        meta = dict(answer.meta or {})
        body: dict[str, Any] = {}

        def save(**changes: Any) -> None:
            nonlocal answer, saved
            fields = text.fields()
            meta.update(fields.pop("meta_update", {}))
            answer = answer.replace(**fields, meta=meta or None, **changes)
            try:
                self.store.update_message(answer)
                saved = True
            except StoreError as e:
                saved = False
                sink.on_store_error(e)

        try:
            built = await request()
            text = AnswerText(answer, built.reasoning, built.start)
            body = built.body()
            meta.update(answer_meta(body, "", complete=False))  # constrained (grammar or schema)
            base = body.pop("prompt")
            prompt: Any = base
            last_save: float | None = None  # no checkpoint yet: the first token is saved at once
            tokens = 0
            while True:
                stream = self.client.stream_completion(prompt, **body)
                restarted = False
                async for event in stream:
                    if isinstance(event, TokenEvent):
                        now = self.clock()
                        reasoning, shown = text.feed(event.content, len(event.tokens), now)
                        if event.probs and isinstance(event.probs, list):  # untrusted: use only what fits
                            entries = [e for e in event.probs if isinstance(e, dict)]
                            text.probs.extend(with_text_ends(entries, text.answer_length))
                        if last_save is None or now - last_save >= self.checkpoint_interval:
                            last_save = now
                            save()  # before the screen: a busy UI must not hold up what is kept
                        tokens += len(event.tokens)
                        # Also while the server holds text back (a possible stop string): tokens arrive.
                        sink.on_tokens(tokens, text.reasoning_now)
                        if reasoning:
                            sink.on_reasoning(reasoning)
                        if shown:
                            await sink.on_text(shown)
                        if self._end_reasoning and (addition := self._stop_text(text)) is not None:
                            await _close(stream)  # the server stops; the answer goes on below
                            text.feed(addition, 0, self.clock())
                            meta["reasoning_stopped"] = True
                            prompt = _extended(base, "".join(text.raw))
                            body.pop("generation_prompt", None)  # a reasoning budget: it is over now
                            restarted = True
                            break
                    elif isinstance(event, ProgressEvent):
                        sink.on_progress(event)
                    elif isinstance(event, RetryEvent):
                        sink.on_status(event.describe())
                    elif isinstance(event, KeepAliveEvent):
                        sink.on_status(waiting_text(event, tokens))
                    elif isinstance(event, FinalEvent):
                        final = event
                if not restarted:
                    break
            reasoning, shown = text.finish()
            if reasoning:
                sink.on_reasoning(reasoning)
            if shown:
                await sink.on_text(shown)
            state = "complete"
        except LlamaError as e:
            error = e
            state = "interrupted" if text.answer_parts or text.reasoning_parts else "error"
        except asyncio.CancelledError:
            state = "interrupted"  # the user stopped it: keep what arrived, then let the cancel go on
            await _close(stream)
            save(state=state)
            raise
        except Exception as e:
            # Anything else (a reply no parser expected, a bug) must not leave the row "streaming"
            # or lose what arrived: end it like a broken stream, saying what happened in plain
            # words; the Python detail is for a bug report (the log, and the message's meta).
            log.error("unexpected failure while streaming answer %s", answer.id, exc_info=e)
            meta["failure_detail"] = f"{type(e).__name__}: {e}"[:DETAIL_LIMIT]
            error = ProtocolError(UNEXPECTED)
            state = "interrupted" if text.answer_parts or text.reasoning_parts else "error"
        finally:
            # Closing the stream closes the HTTP response, which stops the generation on the
            # server. Explicitly, every time: a cancel that lands in `sink.on_text` would
            # otherwise leave the response open until garbage collection (the slot stays busy).
            await _close(stream)
        if final is not None:
            if state == "complete" and meta.get("constrained") == "json_schema":
                meta.update(answer_meta(body, text.fields()["content"], complete=True))  # parses? validates?
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
        slot = final.id_slot if final is not None and final.id_slot is not None and final.id_slot >= 0 else None
        return GenerationResult(answer, error, saved, slot)

    def _stop_text(self, text: AnswerText) -> str | None:
        self._end_reasoning = False  # asked once; a second ask needs a second key press
        return text.stop_text() if text.thinking else None


def _extended(prompt: Any, output: str) -> Any:
    """The prompt followed by the output so far (text, or text and token ids)."""
    if isinstance(prompt, str):
        return prompt + output
    return [*prompt, output]


async def _close(stream: AsyncIterator[StreamEvent] | None) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        # Shielded: closing must finish even when the task is being cancelled again.
        await asyncio.shield(aclose())
