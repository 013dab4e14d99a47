"""Replies that are not what llama-server sends: reading a little of them and saying what they are
(an HTML page from a proxy, text that is not JSON), in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ProtocolError, RedirectRefused, cap, describe_html, looks_like_html
from .urls import origin, redact_url

if TYPE_CHECKING:
    import aiohttp

# An error reply is read up to this many bytes: far more than any real one (a 200 KB JSON error
# must still parse), yet bounded; only the start of the message is shown anyway.
ERROR_BODY_LIMIT = 1024 * 1024


def not_a_stream(display_url: str, start: bytes) -> ProtocolError:
    """An HTML page (or other text) where the event stream should be."""
    text = start.decode("utf-8", "replace")
    return ProtocolError(
        f"{display_url} answered with {describe_html(text)} instead of llama-server's event stream "
        "(is another web server or a proxy at that address?)",
        body=cap(text, ERROR_BODY_LIMIT),
    )


def json_kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {cap(value, 60)!r}"
    return {list: "a list", dict: "an object", type(None): "null", bool: "true/false"}.get(type(value), "a number")


def not_json(text: str) -> str:
    if looks_like_html(text):
        return f"the server answered with {describe_html(text)}, not llama-server's JSON"
    return f"llama-server's reply is not valid JSON: {cap(text, 200)!r}"


async def read_some(resp: aiohttp.ClientResponse, limit: int = 4096) -> bytes:
    """Up to `limit` more bytes of a reply (fewer at its end), to describe it; what arrived
    before reading failed."""
    import aiohttp

    parts: list[bytes] = []
    size = 0
    try:
        while size < limit:
            piece = await resp.content.read(limit - size)
            if not piece:
                break
            parts.append(piece)
            size += len(piece)
    except (TimeoutError, aiohttp.ClientError):
        pass
    return b"".join(parts)


def redirect_refused(base_url: str, display_url: str, path: str, status: int, location: str | None) -> RedirectRefused:
    """A 3xx is never followed (it would send the prompt and the key elsewhere): say where it led."""
    from urllib.parse import urljoin

    if not location:
        return RedirectRefused(
            f"{display_url}{path} answered {status} (a redirect) without saying where", status=status
        )
    target = urljoin(base_url + path, location)
    where = "another server" if origin(target) != origin(base_url) else "another address on the same server"
    return RedirectRefused(
        f"{display_url}{path} redirects ({status}) to {where}, {cap(redact_url(target), 200)}; llama-tui does not "
        "follow redirects (they would send your prompt there): set the server URL to the address that answers",
        status=status,
        location=target,
    )
