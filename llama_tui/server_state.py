"""What the app knows about its llama-server right now. Pure: no Textual, no I/O."""

from __future__ import annotations

from enum import Enum


class ServerState(Enum):
    """The server's state as shown in the status bar. Values double as CSS class stems."""

    OK = "ok"
    LOADING = "loading"
    UNREACHABLE = "unreachable"
    AUTH_ERROR = "auth-error"
    SLEEPING = "sleeping"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Short words for the user."""
        return _LABELS[self]

    @property
    def css_class(self) -> str:
        """The class a widget sets to colour this state, e.g. `-auth-error`."""
        return f"-{self.value}"

    @property
    def usable(self) -> bool:
        """Whether a request may be sent now (a sleeping server wakes on the next request)."""
        return self in (ServerState.OK, ServerState.SLEEPING)


_LABELS: dict[ServerState, str] = {
    ServerState.OK: "ok",
    ServerState.LOADING: "loading model",
    ServerState.UNREACHABLE: "unreachable",
    ServerState.AUTH_ERROR: "auth error",
    ServerState.SLEEPING: "sleeping",
    ServerState.UNKNOWN: "…",
}
