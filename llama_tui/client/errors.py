"""Typed errors of the llama.cpp client. Each keeps the server's own message, capped to a
readable length (the whole body stays in `.body`), and says what went wrong in plain words: never
a Python class name or an aiohttp message such as "TransferEncodingError: 400, message=...".
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

# A server error message longer than this is cut (a proxy's 200 KB error page must not fill the
# screen); the full body is kept in the error's `body`.
MESSAGE_LIMIT = 300


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


class RedirectRefused(LlamaError):
    """The server answered with a redirect (3xx). The client never follows one: a 307 would make
    it send the whole prompt (and the API key) to wherever the redirect points."""

    def __init__(self, message: str, *, location: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.location = location


def cap(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}… ({len(text) - limit:,} more characters)"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml")) or "<html" in head


def describe_html(text: str) -> str:
    """A web page as a short phrase: 'an HTML page ("502 Bad Gateway")'."""
    match = _TITLE.search(text)
    title = match.group(1) if match else _TAG.sub(" ", text)
    title = " ".join(html.unescape(title).split())
    return f'an HTML page ("{cap(title, 80)}")' if title else "an HTML page"


# What an aiohttp failure means, by class name (so this module needs no aiohttp import); the
# first class of the exception's MRO found here wins.
_PLAIN_REASONS = {
    "ClientPayloadError": "the server stopped in the middle of its reply",
    "ContentLengthError": "the server stopped in the middle of its reply",
    "TransferEncodingError": "the server stopped in the middle of its reply",
    "ServerDisconnectedError": "the server closed the connection",
    "ClientConnectionResetError": "the connection was reset",
    "ClientConnectorCertificateError": "its TLS certificate was not accepted",
    "ClientSSLError": "the TLS connection failed",
    "ClientConnectorDNSError": "the host name could not be resolved",
    "ClientProxyConnectionError": "the proxy could not be reached",
    "ClientHttpProxyError": "the proxy refused the request",
    "ClientResponseError": "its reply was not valid HTTP",
    "ContentTypeError": "its reply was not of the expected type",
    "InvalidURL": "the address is not a valid URL",
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "the connection was reset",
    "BrokenPipeError": "the connection was closed",
    "ClientOSError": "the connection failed",
    "ClientConnectionError": "the connection failed",
    "ClientError": "the connection failed",
}


def plain_reason(error: BaseException) -> str:
    """Why a connection failed, in plain words: the operating system's words when there are some
    ("Connection refused"), else a phrase for the failure's kind; never Python's text."""
    os_error = getattr(error, "os_error", None)
    for candidate in (os_error, error, error.__cause__):
        if isinstance(candidate, OSError) and candidate.strerror:
            return str(candidate.strerror)
    for cls in type(error).__mro__:
        reason = _PLAIN_REASONS.get(cls.__name__)
        if reason is not None:
            return reason
    return "the connection failed"


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from llama-server; fall back to our own backoff
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _count(value: Any) -> int | None:
    """A whole number from the server's JSON, or None (NaN, text, 10**400 are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 2**63 else None


def error_from_response(status: int, body: Any, headers: Any = None) -> LlamaError:
    """Map an HTTP error response (status + parsed JSON body, or text) to a typed error."""
    err = body.get("error") if isinstance(body, dict) else None
    etype: Any = None
    if isinstance(err, dict):
        message = str(err.get("message") or f"HTTP {status}")
        etype = err.get("type") if isinstance(err.get("type"), str) else None
    elif isinstance(err, str):
        message = err
    else:
        text = body if isinstance(body, str) else ""
        if looks_like_html(text):
            message = f"HTTP {status}: the server answered with {describe_html(text)}, not llama-server's JSON"
        else:
            message = " ".join(text.split()) or f"HTTP {status}"
    message = cap(message)
    kw: dict[str, Any] = {"status": status, "error_type": etype, "body": body}
    if etype == "exceed_context_size_error":
        assert isinstance(err, dict)
        return ContextOverflow(
            message, n_prompt_tokens=_count(err.get("n_prompt_tokens")), n_ctx=_count(err.get("n_ctx")), **kw
        )
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
        message = cap(str(err.get("message") or err))
        etype = err.get("type") if isinstance(err.get("type"), str) else None
        if etype == "exceed_context_size_error":
            return ContextOverflow(
                message,
                n_prompt_tokens=_count(err.get("n_prompt_tokens")),
                n_ctx=_count(err.get("n_ctx")),
                status=_count(err.get("code")),
                error_type=etype,
                body=payload,
            )
        code = err.get("code")
        return StreamError(message, status=code if isinstance(code, int) else None, error_type=etype, body=payload)
    return StreamError(cap(str(err)), body=payload)
