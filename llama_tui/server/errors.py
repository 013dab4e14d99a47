"""Errors of the managed llama-server, fit to show the user as they are."""

from __future__ import annotations


class ManagedServerError(RuntimeError):
    """The managed llama-server could not be started (or did not become healthy). The message is
    fit to show the user as it is; `log_tail` holds the last lines the server printed."""

    def __init__(self, message: str, *, log_tail: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail
        self.returncode = returncode


class ServerBinaryMissing(ManagedServerError):
    """No llama-server binary: none given, and none on PATH (or the given one is not executable)."""


class ServerStartError(ManagedServerError):
    """llama-server exited while starting, or was not healthy within the timeout."""
