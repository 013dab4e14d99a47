"""Server addresses made safe to show, and the origin check for redirects. Pure, stdlib only.

A server URL may carry credentials (`http://user:password@host:8080`) and a query with a token;
`redact_url` is the form every message, repr, log line and screen shows.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

REDACTED = "***"


def redact_url(url: str) -> str:
    """`url` with any password (and user name) and query values replaced by ***, for display:
    `http://bob:pw@host:8080/x?key=s` -> `http://***@host:8080/x?key=***`. Text that does not
    parse as a URL is returned with everything up to the last "@" before the host hidden."""
    try:
        if "://" not in url:
            raise ValueError("not an absolute URL")
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        head, at, rest = url.rpartition("@")
        if not at:
            return url
        scheme, sep, _creds = head.partition("://")
        return f"{scheme}{sep}{REDACTED}@{rest}" if sep else f"{REDACTED}@{rest}"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        query = "&".join(
            (pair.partition("=")[0] + "=" + REDACTED) if "=" in pair else REDACTED for pair in query.split("&")
        )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port
