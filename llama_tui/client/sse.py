"""A pure, byte-level Server-Sent Events decoder: feed(bytes) -> events. No I/O.

It follows the SSE spec for what llama-server sends (CR, LF and CRLF line ends, `:` comment
lines, multi-line `data:`), plus the older llama-server form where an error arrived as an
`error: {...}` line: that is reported as an event named "error". Lines are decoded only once
complete, so UTF-8 sequences split across chunks come out whole, and a line may be any length.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)  # not frozen: built once per event, and frozen costs 3x to build
class SSEEvent:
    data: str
    event: str = "message"


class SSEDecoder:
    __slots__ = ("_buf", "_data", "_event", "_pending_cr")

    def __init__(self) -> None:
        self._buf = b""  # the start of a line whose end has not arrived yet
        self._data: list[str] = []
        self._event = ""
        self._pending_cr = False  # last chunk ended in CR: a leading LF now belongs to it

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending_cr:
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            # Only a piece of a (possibly huge) line: keep it, without rescanning what we hold.
            self._buf += chunk
            return []
        data = self._buf + chunk
        events: list[SSEEvent] = []
        if not self._data and not self._event and data.startswith(b"data: "):
            # Fast path for what llama-server sends: whole `data: {...}` blocks. Anything else in a
            # block (comments, several lines, other fields) takes the line-by-line path.
            blocks = data.split(b"\n\n")
            data = blocks.pop()
            for block in blocks:
                if block.startswith(b"data: ") and b"\n" not in block:
                    events.append(SSEEvent(block[6:].decode("utf-8", "replace")))
                else:
                    for line in block.split(b"\n"):
                        self._line(line, events)
                    self._line(b"", events)
        lines = data.split(b"\n")
        self._buf = lines.pop()
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: dispatch an event whose closing blank line never came. A final line
        with no line end at all is incomplete and is dropped (the caller sees a cut-off)."""
        events: list[SSEEvent] = []
        self._buf = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event or "message"))
                self._data = []
            self._event = ""
            return
        if line[0] == 0x3A:  # ":" comment, e.g. llama-server's ": ping"
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"error":  # older llama-server: `error: {...}`
            self._event = "error"
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        # "id", "retry" and unknown fields are ignored, as the spec says.
