"""LlamaCppClient: an async client for llama-server's native HTTP API (aiohttp only)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from .errors import (
    BadRequest,
    ConnectTimeout,
    LlamaError,
    NotFound,
    NotSupported,
    ProtocolError,
    ReadTimeout,
    ServerUnreachable,
    StreamCutOff,
    error_from_response,
    error_from_stream,
)
from .slot_files import SlotErased, SlotFileRefused, SlotRestored, SlotSaved, check_filename, check_slot_id
from .sse import SSEDecoder

if TYPE_CHECKING:
    # Imported where used, not with the module: aiohttp is ~70 ms of the TUI's start-up, and the
    # first request comes after the first frame.
    import aiohttp

from .types import (
    Completion,
    FinalEvent,
    Health,
    ModelInfo,
    ProgressEvent,
    Props,
    Slot,
    StreamEvent,
    Token,
    TokenEvent,
    _float,
    _int,
    parse_metrics,
)

T = TypeVar("T")

# /completion fields that llama-server documents; anything passed to stream_completion goes
# through as is (the server ignores what it does not know), this list is for documentation and
# for tools that want to validate names.
COMPLETION_PARAMS = frozenset(
    """temperature dynatemp_range dynatemp_exponent top_k top_p min_p n_predict n_indent n_keep
    stop typical_p repeat_penalty repeat_last_n presence_penalty frequency_penalty dry_multiplier
    dry_base dry_allowed_length dry_penalty_last_n dry_sequence_breakers xtc_probability
    xtc_threshold mirostat mirostat_tau mirostat_eta grammar json_schema seed ignore_eos
    logit_bias n_probs min_keep t_max_predict_ms id_slot cache_prompt return_tokens samplers
    timings_per_token post_sampling_probs response_fields lora return_progress image_data
    top_n_sigma n_cmpl chat_format reasoning_format""".split()
)


class LlamaCppClient:
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
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

    def __repr__(self) -> str:  # never show the key
        return f"LlamaCppClient({self.base_url!r}, api_key={'***' if self.api_key else None})"

    # -- plumbing ----------------------------------------------------------------------------

    def _backoff(self, attempt: int, error: LlamaError) -> float:
        wanted: object = getattr(error, "retry_after", None)
        if isinstance(wanted, (int, float)):
            return min(float(wanted), self.retry_after_cap)
        return self.backoff_base * (2.0**attempt) * random.uniform(0.5, 1.5)

    async def _with_retries(self, attempt_fn: Callable[[], Awaitable[T]], retries: int | None) -> T:
        limit = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return await attempt_fn()
            except LlamaError as error:
                if not error.retryable or attempt >= limit:
                    raise
                await self._sleep(self._backoff(attempt, error))
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
        try:
            resp = await self._http().request(method, url, json=json_body)
        except aiohttp.ConnectionTimeoutError as e:
            raise ConnectTimeout(f"could not connect to {self.base_url} within {self.connect_timeout:g}s") from e
        except (TimeoutError, aiohttp.SocketTimeoutError) as e:
            raise ReadTimeout(f"{self.base_url} did not answer within {self.read_timeout:g}s") from e
        except aiohttp.InvalidURL as e:
            raise ServerUnreachable(f"invalid server URL {self.base_url!r}") from e
        except (aiohttp.ClientConnectionError, OSError) as e:
            raise ServerUnreachable(f"cannot reach llama-server at {self.base_url}: {_reason(e)}") from e
        if resp.status < 300:
            return resp
        try:
            text = await resp.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError):
            text = ""
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
                raise ReadTimeout(f"{self.base_url}{path} went silent mid-response") from e
            except aiohttp.ClientError as e:
                raise ServerUnreachable(f"connection lost reading {path}: {_reason(e)}") from e
            finally:
                resp.release()
            try:
                return json.loads(text)
            except ValueError as e:
                raise ProtocolError(f"{path} returned invalid JSON: {text[:200]!r}") from e

        return await self._with_retries(attempt, retries)

    # -- simple endpoints ----------------------------------------------------------------------

    async def health(self) -> Health:
        """GET /health. Raises ModelLoading (503) while the model loads. Never retried: callers
        poll it themselves."""
        data = await self._json("GET", "/health", retries=0)
        return Health(status=str(data.get("status", "")) if isinstance(data, dict) else "", raw=data)

    async def props(self) -> Props:
        props = Props.from_json(await self._json("GET", "/props"))
        self._props = props
        return props

    async def tokenize(self, text: str, *, with_pieces: bool = False, add_special: bool = False) -> list[Token]:
        body = {"content": text, "with_pieces": with_pieces, "add_special": add_special}
        data = await self._json("POST", "/tokenize", body)
        out: list[Token] = []
        for item in data.get("tokens", []):
            if isinstance(item, dict):
                piece = item.get("piece")
                out.append(Token(int(item["id"]), bytes(piece) if isinstance(piece, list) else piece))
            else:
                out.append(Token(int(item)))
        return out

    async def detokenize(self, tokens: Sequence[int]) -> str:
        data = await self._json("POST", "/detokenize", {"tokens": list(tokens)})
        return str(data.get("content", ""))

    async def apply_template(
        self, messages: Sequence[Mapping[str, Any]], *, template_kwargs: Mapping[str, Any] | None = None
    ) -> str:
        """The model's own chat template applied by the server (POST /apply-template);
        `template_kwargs` are the template's own options (e.g. enable_thinking)."""
        body: dict[str, Any] = {"messages": [dict(m) for m in messages]}
        if template_kwargs:
            body["chat_template_kwargs"] = dict(template_kwargs)
        data = await self._json("POST", "/apply-template", body)
        return str(data.get("prompt", ""))

    async def slots(self) -> list[Slot]:
        data = await self._json("GET", "/slots")
        return [Slot.from_json(s) for s in data] if isinstance(data, list) else []

    # -- slot files (--slot-save-path) -----------------------------------------------------------

    async def save_slot(self, id_slot: int, filename: str) -> SlotSaved:
        """Write slot `id_slot`'s KV cache to `filename` in the server's --slot-save-path directory
        (replacing a file of that name). Waits while the slot is busy. NotSupported without
        --slot-save-path; SlotFileRefused for a name the server does not allow."""
        return SlotSaved.from_json(await self._slot_action(id_slot, "save", {"filename": check_filename(filename)}))

    async def restore_slot(self, id_slot: int, filename: str) -> SlotRestored:
        """Load `filename` into slot `id_slot`. SlotFileRefused if the server cannot use the file
        (missing, other model shapes, context too small); the slot is then empty. The server does
        NOT notice a file from another model of the same shapes: check before calling."""
        data = await self._slot_action(id_slot, "restore", {"filename": check_filename(filename)})
        return SlotRestored.from_json(data)

    async def erase_slot(self, id_slot: int) -> SlotErased:
        """Drop slot `id_slot`'s KV cache (files are untouched). NotSupported without --slot-save-path."""
        return SlotErased.from_json(await self._slot_action(id_slot, "erase", {}))

    async def slot_files_enabled(self) -> bool:
        """Whether the server runs with --slot-save-path, asked without side effects: a save with
        an empty file name is refused before any work (400 "Invalid filename") when saving is on,
        and answered 501 when it is off. /props does not say."""
        try:
            await self._json("POST", "/slots/0?action=save", {"filename": ""}, retries=0)
        except (NotSupported, NotFound):  # 404: a build without slot actions
            return False
        except BadRequest:
            return True
        return True  # a server that took an empty name saves too

    async def _slot_action(self, id_slot: int, action: str, body: dict[str, Any]) -> Any:
        path = f"/slots/{check_slot_id(id_slot)}?" + urlencode({"action": action})
        try:
            # Retried like any request (connection failures, 5xx): doing any of the three twice
            # leaves the same result, and a server that just restarted may drop the first attempt.
            return await self._json("POST", path, body)
        except (NotFound, NotSupported):
            raise
        except BadRequest as e:
            raise SlotFileRefused(e.message, status=e.status, error_type=e.error_type, body=e.body) from e

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

    async def models(self) -> list[ModelInfo]:
        data = await self._json("GET", "/models")
        items = data.get("data", data.get("models", [])) if isinstance(data, dict) else data
        return [ModelInfo.from_json(m) for m in items or [] if isinstance(m, dict)]

    # -- completion ----------------------------------------------------------------------------

    async def stream_completion(self, prompt: str | Sequence[int | str], **params: Any) -> AsyncIterator[StreamEvent]:
        """POST /completion with stream=true; yields TokenEvent, ProgressEvent and, last, one
        FinalEvent. Raises StreamCutOff if the stream ends without `stop: true`. Closing the
        iterator (or cancelling its task) closes the response, which stops the generation."""
        import aiohttp

        body = {**params, "prompt": prompt if isinstance(prompt, str) else list(prompt), "stream": True}
        t0 = time.perf_counter()
        resp = await self._with_retries(lambda: self._open("POST", "/completion", json_body=body), None)
        ttft_ms: float | None = None
        decoder = SSEDecoder()
        loads = json.loads
        try:
            while True:
                try:
                    chunk = await resp.content.readany()
                except (TimeoutError, aiohttp.SocketTimeoutError) as e:
                    raise ReadTimeout(f"llama-server sent nothing for {self.read_timeout:g}s (read timeout)") from e
                except aiohttp.ClientError as e:
                    raise StreamCutOff(f"connection to llama-server lost mid-stream: {_reason(e)}") from e
                events = decoder.feed(chunk) if chunk else decoder.close()
                for ev in events:
                    try:
                        data = loads(ev.data)
                    except ValueError as e:
                        if ev.data.strip() == "[DONE]":
                            continue
                        raise ProtocolError(f"malformed event from llama-server: {ev.data[:200]!r}") from e
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
                            yield TokenEvent(
                                content,
                                tokens if type(tokens) is list else [],
                                data.get("completion_probabilities"),
                                data,
                            )
                            continue
                    if ev.event == "error" or (isinstance(data, dict) and "error" in data):
                        raise error_from_stream(data)
                    if not isinstance(data, dict):
                        raise ProtocolError(f"unexpected event from llama-server: {ev.data[:200]!r}")
                    content = data.get("content") or ""
                    if not isinstance(content, str):
                        raise ProtocolError(f"event content is not text: {ev.data[:200]!r}")
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
                        yield TokenEvent(
                            content,
                            tokens if isinstance(tokens, list) else [],
                            data.get("completion_probabilities"),
                            data,
                        )
                    if data.get("stop"):
                        yield FinalEvent.from_json(data, ttft_ms)
                        return
                if not chunk:
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


def _reason(error: BaseException) -> str:
    os_error = getattr(error, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    return str(error) or type(error).__name__


async def collect(events: AsyncIterator[StreamEvent]) -> Completion:
    """Drain a stream into one Completion (content joined, final event kept)."""
    parts: list[str] = []
    probs: list[dict[str, Any]] = []
    final: FinalEvent | None = None
    async for event in events:
        if isinstance(event, TokenEvent):
            parts.append(event.content)
            if event.probs:
                probs.extend(event.probs)
        elif isinstance(event, FinalEvent):
            final = event
    if final is None:  # stream_completion raises before this can happen
        raise StreamCutOff("stream ended without a final event")
    return Completion("".join(parts), final, probs or None)
