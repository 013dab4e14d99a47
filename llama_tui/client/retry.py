"""How long to wait before retrying a request, and the event that says so."""

from __future__ import annotations

import random

from .errors import LlamaError, RateLimited, cap
from .types import RetryEvent


def backoff(error: LlamaError, attempt: int, base: float, retry_after_cap: float) -> float:
    """The server's Retry-After (capped), else jittered exponential backoff."""
    wanted: object = getattr(error, "retry_after", None)
    if isinstance(wanted, (int, float)):
        return min(float(wanted), retry_after_cap)
    return base * (2.0**attempt) * random.uniform(0.5, 1.5)


def retry_event(error: LlamaError, attempt: int, limit: int, base: float, retry_after_cap: float) -> RetryEvent:
    """Why the request is tried again, and after how long (attempt counts from 0)."""
    if isinstance(error, RateLimited):
        reason = "rate limited (429)"
    elif error.status is not None:
        reason = f"the server answered {error.status}"
    else:
        reason = cap(error.message, 120)
    return RetryEvent(reason, backoff(error, attempt, base, retry_after_cap), attempt + 1, limit, error)
