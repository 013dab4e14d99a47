"""Typed errors of the llama.cpp client. Each keeps the server's own message."""

from __future__ import annotations

from typing import Any


class LlamaError(Exception):
    """Base of every error the client raises. `message` is fit to show a user as it is."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.body = body


class ServerUnreachable(LlamaError):
    """Nothing answered at the server's address (refused, DNS, reset before a response)."""

    retryable = True


class LlamaTimeout(LlamaError):
    """The server did not answer in time."""


class ConnectTimeout(LlamaTimeout):
    """No connection within the connect timeout."""

    retryable = True


class ReadTimeout(LlamaTimeout):
    """The server went silent for longer than the read timeout (mid-response or mid-stream)."""


class ModelLoading(LlamaError):
    """503: the server is up but still loading its model."""

    retryable = True


# What a user can do about a 401: said wherever a refused key is reported.
API_KEY_HINT = "set api_key in the config file, or $LLAMA_API_KEY, or --api-key"


class AuthenticationError(LlamaError):
    """401: missing or wrong API key."""


class BadRequest(LlamaError):
    """4xx: the server refused the request as it was."""


class NotFound(BadRequest):
    """404: no such endpoint or model."""


class ContextOverflow(BadRequest):
    """The prompt does not fit in the context (exceed_context_size_error)."""

    def __init__(self, message: str, *, n_prompt_tokens: int | None, n_ctx: int | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.n_prompt_tokens = n_prompt_tokens
        self.n_ctx = n_ctx


class NotSupported(LlamaError):
    """501: the endpoint is disabled on this server (e.g. /metrics without --metrics)."""


class RateLimited(LlamaError):
    """429: too many requests. `retry_after` is the server's wish in seconds, if it said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(LlamaError):
    """5xx other than a loading model."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class StreamError(LlamaError):
    """The server reported an error inside a 200 stream, after it had started."""


class StreamCutOff(LlamaError):
    """The stream ended without its final `stop: true` event: the answer is incomplete."""


class ProtocolError(LlamaError):
    """The server sent something that is not what the protocol says (e.g. malformed JSON)."""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from llama-server; fall back to our own backoff


def error_from_response(status: int, body: Any, headers: Any = None) -> LlamaError:
    """Map an HTTP error response (status + parsed JSON body, or text) to a typed error."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or f"HTTP {status}")
        etype = err.get("type")
    else:
        text = body if isinstance(body, str) else ""
        message = (text.strip()[:500] or f"HTTP {status}") if not isinstance(err, str) else err
        etype = None
    kw: dict[str, Any] = {"status": status, "error_type": etype, "body": body}
    if etype == "exceed_context_size_error":
        assert isinstance(err, dict)
        return ContextOverflow(message, n_prompt_tokens=err.get("n_prompt_tokens"), n_ctx=err.get("n_ctx"), **kw)
    if status == 401 or etype == "authentication_error":
        return AuthenticationError(message, **kw)
    if status == 503 and (etype == "unavailable_error" or "loading" in message.lower()):
        return ModelLoading(message, **kw)
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(headers), **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status == 501:
        return NotSupported(message, **kw)
    if 400 <= status < 500:
        return BadRequest(message, **kw)
    return ServerError(message, retry_after=_retry_after(headers), **kw)


def error_from_stream(payload: Any) -> LlamaError:
    """Map an error that arrived inside a 200 stream (`data: {"error": ...}` or `error: ...`)."""
    err = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(err, dict):
        message = str(err.get("message") or err)
        etype = err.get("type")
        if etype == "exceed_context_size_error":
            return ContextOverflow(
                message,
                n_prompt_tokens=err.get("n_prompt_tokens"),
                n_ctx=err.get("n_ctx"),
                status=err.get("code"),
                error_type=etype,
                body=payload,
            )
        return StreamError(message, status=err.get("code"), error_type=etype, body=payload)
    return StreamError(str(err), body=payload)
