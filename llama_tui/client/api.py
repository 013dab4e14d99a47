"""LlamaCppClient: an async client for llama-server's native HTTP API (aiohttp only)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from .errors import (
    ConnectTimeout,
    LlamaError,
    ProtocolError,
    ReadTimeout,
    ServerUnreachable,
    StreamCutOff,
    cap,
    error_from_response,
    error_from_stream,
    plain_reason,
)
from .replies import ERROR_BODY_LIMIT, json_kind, not_a_stream, not_json, read_some, redirect_refused
from .retry import retry_event
from .slot_actions import SlotFileActions
from .sse import EventTooLarge, SSEDecoder
from .urls import redact_url

if TYPE_CHECKING:
    # Imported where used, not with the module: aiohttp is ~70 ms of the TUI's start-up, and the
    # first request comes after the first frame.
    import aiohttp

from .types import (
    Completion,
    FinalEvent,
    Health,
    KeepAliveEvent,
    LoraAdapter,
    ModelInfo,
    ProgressEvent,
    Props,
    RetryEvent,
    Slot,
    StreamEvent,
    Token,
    TokenEvent,
    _float,
    _int,
    finite_json,
    parse_metrics,
)

T = TypeVar("T")


class LlamaCppClient(SlotFileActions):
    """One aiohttp session to one llama-server. Use as `async with LlamaCppClient(url) as c:`.

    Streams have no total timeout (a 20-minute generation is fine); `connect_timeout` bounds
    connecting and `read_timeout` bounds silence between bytes. Requests are retried (at most
    `max_retries` times, jittered exponential backoff, honouring Retry-After up to 120 s) only for
    connection failures, 429 and 5xx, and only before any byte of a response has been read.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        api_key: str | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        retry_after_cap: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_retry: Callable[[RetryEvent], object] | None = None,
        max_event_bytes: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
        self.on_retry = on_retry
        """Called (with a RetryEvent: what failed, the delay, which retry) before every retry of
        any request, e.g. to show "rate limited, retrying in 120 s". Streams also yield it."""
        self.max_event_bytes = max_event_bytes
        """Largest SSE event accepted (None: the decoder's default, 32 MiB)."""
        self._session: aiohttp.ClientSession | None = None
        self._props: Props | None = None
        # Router mode (llama-server --models-dir): the model every request is routed to.
        self.model: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> LlamaCppClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=self.read_timeout)
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            # auto_decompress off is not needed: llama-server does not compress.
            self._session = aiohttp.ClientSession(timeout=timeout, headers=headers)
        return self._session

    @property
    def display_url(self) -> str:
        """The server's address fit to show anywhere: a password (or token) in it is ***."""
        return redact_url(self.base_url)

    def __repr__(self) -> str:  # never show the key, nor a password inside the URL
        return f"LlamaCppClient({self.display_url!r}, api_key={'***' if self.api_key else None})"

    # -- plumbing ----------------------------------------------------------------------------

    def _retry_event(self, attempt: int, limit: int, error: LlamaError) -> RetryEvent:
        event = retry_event(error, attempt, limit, self.backoff_base, self.retry_after_cap)
        if self.on_retry is not None:
            self.on_retry(event)
        return event

    async def _with_retries(self, attempt_fn: Callable[[], Awaitable[T]], retries: int | None) -> T:
        limit = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return await attempt_fn()
            except LlamaError as error:
                if not error.retryable or attempt >= limit:
                    raise
                await self._sleep(self._retry_event(attempt, limit, error).delay_s)
                attempt += 1

    async def _open(self, method: str, path: str, *, json_body: Any = None) -> aiohttp.ClientResponse:
        """Send a request and return the response once its status is 2xx; map every failure
        before that point to a typed error (the response is closed on error)."""
        import aiohttp

        if self.model is not None and path != "/health" and not path.startswith("/models"):
            if method == "GET":
                path += ("&" if "?" in path else "?") + urlencode({"model": self.model})
            elif isinstance(json_body, dict) and "model" not in json_body:
                json_body = {**json_body, "model": self.model}
        url = self.base_url + path
        shown = self.display_url
        try:
            # Redirects are never followed: a 307 would re-send the prompt and the key elsewhere.
            resp = await self._http().request(method, url, json=json_body, allow_redirects=False)
        except aiohttp.ConnectionTimeoutError as e:
            raise ConnectTimeout(f"could not connect to {shown} within {self.connect_timeout:g}s") from e
        except (TimeoutError, aiohttp.SocketTimeoutError) as e:
            raise ReadTimeout(f"{shown} did not answer within {self.read_timeout:g}s") from e
        except aiohttp.InvalidURL as e:
            raise ServerUnreachable(f"invalid server URL {shown!r}") from e
        except (aiohttp.ClientError, OSError) as e:
            raise ServerUnreachable(f"cannot reach llama-server at {shown}: {plain_reason(e)}") from e
        if resp.status < 300:
            return resp
        if resp.status < 400:
            resp.release()
            raise redirect_refused(self.base_url, self.display_url, path, resp.status, resp.headers.get("Location"))
        try:
            raw = await read_some(resp, ERROR_BODY_LIMIT)
            text = raw.decode(resp.charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset
            text = raw.decode("utf-8", errors="replace")
        finally:
            resp.release()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        raise error_from_response(resp.status, body, resp.headers)

    async def _json(self, method: str, path: str, json_body: Any = None, *, retries: int | None = None) -> Any:
        import aiohttp

        async def attempt() -> Any:
            resp = await self._open(method, path, json_body=json_body)
            try:
                text = await resp.text(errors="replace")
            except (TimeoutError, aiohttp.SocketTimeoutError) as e:
                raise ReadTimeout(f"{self.display_url}{path} went silent mid-response") from e
            except (aiohttp.ClientError, LookupError) as e:
                raise ServerUnreachable(f"connection lost reading {path}: {plain_reason(e)}") from e
            finally:
                resp.release()
            try:
                return json.loads(text)
            except (ValueError, RecursionError) as e:
                raise ProtocolError(f"{path}: {not_json(text)}", body=cap(text, ERROR_BODY_LIMIT)) from e

        return await self._with_retries(attempt, retries)

    # -- simple endpoints ----------------------------------------------------------------------

    async def health(self) -> Health:
        """GET /health. Raises ModelLoading (503) while the model loads. Never retried: callers
        poll it themselves."""
        data = await self._json("GET", "/health", retries=0)
        return Health(status=str(data.get("status", "")) if isinstance(data, dict) else "", raw=data)

    async def _object(self, method: str, path: str, json_body: Any = None) -> dict[str, Any]:
        """A JSON object from `path`; ProtocolError for anything else (a list, a string, null)."""
        data = await self._json(method, path, json_body)
        if not isinstance(data, dict):
            raise ProtocolError(f"{path}: expected a JSON object from llama-server, got {json_kind(data)}")
        return data

    async def props(self) -> Props:
        props = Props.from_json(await self._object("GET", "/props"))
        self._props = props
        return props

    async def tokenize(
        self, text: str, *, with_pieces: bool = False, add_special: bool = False, parse_special: bool = True
    ) -> list[Token]:
        """POST /tokenize. parse_special=False reads control-token texts as plain text, as the
        server does with a logit_bias text."""
        body = {"content": text, "with_pieces": with_pieces, "add_special": add_special}
        if not parse_special:
            body["parse_special"] = False
        data = await self._object("POST", "/tokenize", body)
        tokens = data.get("tokens", [])
        if not isinstance(tokens, list):
            raise ProtocolError(f"/tokenize: expected a list of tokens, got {json_kind(tokens)}")
        out: list[Token] = []
        for item in tokens:
            if isinstance(item, dict):
                piece = item.get("piece")
                if isinstance(piece, list):
                    piece = bytes(b for b in piece if isinstance(b, int) and 0 <= b < 256)
                out.append(Token(_int(item.get("id"), -1), piece if isinstance(piece, str | bytes) else None))
            else:
                out.append(Token(_int(item, -1)))
        return out

    async def count_tokens(self, text: str) -> int:
        """How many tokens `text` is (POST /tokenize, as `tokenize(text)` counts them). Only the
        length of the server's list: a long prompt is millions of tokens, and a Token object each
        would take seconds (with the event loop held) and hundreds of MB."""
        data = await self._object("POST", "/tokenize", {"content": text, "with_pieces": False, "add_special": False})
        tokens = data.get("tokens", [])
        if not isinstance(tokens, list):
            raise ProtocolError(f"/tokenize: expected a list of tokens, got {json_kind(tokens)}")
        return len(tokens)

    async def detokenize(self, tokens: Sequence[int]) -> str:
        data = await self._object("POST", "/detokenize", {"tokens": list(tokens)})
        content = data.get("content", "")
        return content if isinstance(content, str) else ""

    async def apply_template(
        self, messages: Sequence[Mapping[str, Any]], *, template_kwargs: Mapping[str, Any] | None = None
    ) -> str:
        """The model's own chat template applied by the server (POST /apply-template);
        `template_kwargs` are the template's own options (e.g. enable_thinking)."""
        body: dict[str, Any] = {"messages": [dict(m) for m in messages]}
        if template_kwargs:
            body["chat_template_kwargs"] = dict(template_kwargs)
        data = await self._object("POST", "/apply-template", body)
        prompt = data.get("prompt", "")
        if not isinstance(prompt, str):
            raise ProtocolError(f"/apply-template: expected the prompt as text, got {json_kind(prompt)}")
        return prompt

    async def slots(self) -> list[Slot]:
        data = await self._json("GET", "/slots")
        return [Slot.from_json(s) for s in data] if isinstance(data, list) else []

    async def metrics(self) -> dict[str, float]:
        """GET /metrics (Prometheus text). NotSupported unless the server runs with --metrics."""

        async def attempt() -> str:
            resp = await self._open("GET", "/metrics")
            try:
                return await resp.text(errors="replace")
            finally:
                resp.release()

        return parse_metrics(await self._with_retries(attempt, None))

    async def load_model(self, name: str) -> None:
        """Router mode: start serving model `name` (POST /models/load). Returns once accepted;
        poll models() for its status."""
        await self._json("POST", "/models/load", {"model": name})

    async def unload_model(self, name: str) -> None:
        """Router mode: stop serving model `name` (POST /models/unload)."""
        await self._json("POST", "/models/unload", {"model": name})

    async def lora_adapters(self) -> list[LoraAdapter]:
        """GET /lora-adapters: the adapters the server loaded (--lora), with their global scales."""
        data = await self._json("GET", "/lora-adapters")
        return [LoraAdapter.from_json(a) for a in data if isinstance(a, dict)] if isinstance(data, list) else []

    async def models(self) -> list[ModelInfo]:
        data = await self._json("GET", "/models")
        items = data.get("data", data.get("models", [])) if isinstance(data, dict) else data
        return [ModelInfo.from_json(m) for m in items or [] if isinstance(m, dict)]

    # -- completion ----------------------------------------------------------------------------

    async def stream_completion(self, prompt: str | Sequence[int | str], **params: Any) -> AsyncIterator[StreamEvent]:
        """POST /completion with stream=true; yields TokenEvent, ProgressEvent and, last, one
        FinalEvent. Before a retry it yields a RetryEvent (why, and how long it waits); when the
        server sends keep-alives (`: ping`) it yields a KeepAliveEvent for each chunk of them.
        Raises StreamCutOff if the stream ends without `stop: true`. Closing the iterator (or
        cancelling its task) closes the response, which stops the generation."""
        import aiohttp

        body = {**params, "prompt": prompt if isinstance(prompt, str) else list(prompt), "stream": True}
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                resp = await self._open("POST", "/completion", json_body=body)
                break
            except LlamaError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                retry = self._retry_event(attempt, self.max_retries, error)
                yield retry
                await self._sleep(retry.delay_s)
                attempt += 1
        ttft_ms: float | None = None
        decoder = SSEDecoder() if self.max_event_bytes is None else SSEDecoder(self.max_event_bytes)
        pings = 0
        received = 0  # bytes, and the start of them, to say what a reply that was no stream was
        head = b""
        loads = json.loads
        try:
            if "text/html" in resp.headers.get("Content-Type", ""):
                raise not_a_stream(self.display_url, await read_some(resp))
            while True:
                try:
                    chunk = await resp.content.readany()
                except (TimeoutError, aiohttp.SocketTimeoutError) as e:
                    raise ReadTimeout(f"llama-server sent nothing for {self.read_timeout:g}s (read timeout)") from e
                except aiohttp.ClientError as e:
                    raise StreamCutOff(f"connection to llama-server lost mid-stream: {plain_reason(e)}") from e
                if received < 512:
                    head += chunk[: 512 - received]
                    if received == 0 and chunk.lstrip()[:1] == b"<":
                        raise not_a_stream(self.display_url, chunk + await read_some(resp))
                received += len(chunk)
                try:
                    events = decoder.feed(chunk) if chunk else decoder.close()
                except EventTooLarge as e:
                    raise ProtocolError(
                        f"llama-server sent an event of more than {e.limit // (1024 * 1024)} MiB without a line end; "
                        "gave up on this answer (what arrived is kept)"
                    ) from e
                if decoder.comments != pings and not events:
                    pings = decoder.comments
                    yield KeepAliveEvent(time.perf_counter() - t0, pings)
                for ev in events:
                    try:
                        data = loads(ev.data)
                    except (ValueError, RecursionError) as e:
                        if ev.data.strip() == "[DONE]":
                            continue
                        raise ProtocolError(f"malformed event from llama-server: {cap(ev.data, 200)!r}") from e
                    # Fast path: a plain token event (nearly every event of a stream).
                    if type(data) is dict and ev.event == "message":
                        content = data.get("content")
                        if (
                            type(content) is str
                            and content
                            and not data.get("stop")
                            and "error" not in data
                            and "prompt_progress" not in data
                        ):
                            if ttft_ms is None:
                                ttft_ms = (time.perf_counter() - t0) * 1000.0
                            tokens = data.get("tokens")
                            probs = data.get("completion_probabilities")
                            yield TokenEvent(
                                content,
                                tokens if type(tokens) is list else [],
                                None if probs is None else finite_json(probs),
                                data,
                            )
                            continue
                    if ev.event == "error" or (isinstance(data, dict) and "error" in data):
                        raise error_from_stream(data)
                    if not isinstance(data, dict):
                        raise ProtocolError(f"unexpected event from llama-server: {cap(ev.data, 200)!r}")
                    content = data.get("content") or ""
                    if not isinstance(content, str):
                        raise ProtocolError(f"event content is not text: {cap(ev.data, 200)!r}")
                    progress = data.get("prompt_progress")
                    if isinstance(progress, dict) and not content:
                        yield ProgressEvent(
                            total=_int(progress.get("total")),
                            processed=_int(progress.get("processed")),
                            cache=_int(progress.get("cache")),
                            time_ms=_float(progress.get("time_ms")),
                            raw=data,
                        )
                        if not data.get("stop"):
                            continue
                    if content or (not data.get("stop") and data.get("tokens")):
                        if ttft_ms is None:
                            ttft_ms = (time.perf_counter() - t0) * 1000.0
                        tokens = data.get("tokens")
                        probs = data.get("completion_probabilities")
                        yield TokenEvent(
                            content,
                            tokens if isinstance(tokens, list) else [],
                            None if probs is None else finite_json(probs),
                            data,
                        )
                    if data.get("stop"):
                        yield FinalEvent.from_json(data, ttft_ms)
                        return
                if not chunk:
                    if received == 0:
                        raise StreamCutOff("llama-server closed the connection without sending anything")
                    if ttft_ms is None and not pings and head and not head.startswith((b"data:", b":", b"event:")):
                        raise ProtocolError(
                            "llama-server's reply was not an event stream; it began: "
                            f"{cap(head.decode('utf-8', 'replace'), 120)!r}"
                        )
                    raise StreamCutOff("llama-server closed the stream before the answer was complete")
        finally:
            # Closing (not releasing) drops the connection, which stops generation on the server.
            resp.close()

    async def complete(self, prompt: str | Sequence[int | str], **params: Any) -> Completion:
        """Non-streaming POST /completion."""
        body = {**params, "prompt": prompt if isinstance(prompt, str) else list(prompt), "stream": False}
        t0 = time.perf_counter()
        data = await self._json("POST", "/completion", body)
        if not isinstance(data, dict):
            raise ProtocolError("unexpected /completion response")
        elapsed = (time.perf_counter() - t0) * 1000.0
        return Completion(
            content=str(data.get("content") or ""),
            final=FinalEvent.from_json(data, elapsed),
            probs=data.get("completion_probabilities"),
        )

    async def bos_token(self) -> str:
        """The model's BOS token text (from /props, fetched once)."""
        props = self._props or await self.props()
        return props.bos_token
