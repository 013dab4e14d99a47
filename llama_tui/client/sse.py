"""A pure, byte-level Server-Sent Events decoder: feed(bytes) -> events. No I/O.

It follows the SSE spec for what llama-server sends (CR, LF and CRLF line ends, `:` comment
lines, multi-line `data:`), plus the older llama-server form where an error arrived as an
`error: {...}` line: that is reported as an event named "error". Lines are decoded only once
complete, so UTF-8 sequences split across chunks come out whole.

Memory and time are bounded: an incomplete line is kept as a list of pieces (joined once, when
its end arrives, so a long line costs linear time, never a re-copy per chunk), and a line or an
event longer than `max_event_bytes` raises EventTooLarge instead of growing without end.
`comments` counts the comment lines seen (llama-server's `: ping` keep-alives).
"""

from __future__ import annotations

from dataclasses import dataclass

# llama-server's final event echoes the whole prompt (and its generation settings): with a long
# conversation that one line passes 700 KB, and a 1M-token context is about 4 MB of text, which
# JSON escaping can double or more. 32 MiB is far above any real event and still bounded memory.
MAX_EVENT_BYTES = 32 * 1024 * 1024


class EventTooLarge(ValueError):
    """One SSE line (or event) grew past the decoder's limit without ending."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"an event of more than {limit:,} bytes without a line end")
        self.size = size
        self.limit = limit


@dataclass(slots=True)  # not frozen: built once per event, and frozen costs 3x to build
class SSEEvent:
    data: str
    event: str = "message"


class SSEDecoder:
    __slots__ = (
        "_data",
        "_data_size",
        "_event",
        "_pending",
        "_pending_cr",
        "_pending_size",
        "comments",
        "max_event_bytes",
    )

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._pending: list[bytes] = []  # pieces of a line whose end has not arrived yet
        self._pending_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._pending_cr = False  # last chunk ended in CR: a leading LF now belongs to it
        self.max_event_bytes = max_event_bytes
        self.comments = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending_cr:
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            # Only a piece of a (possibly huge) line: keep it, without re-copying what we hold.
            if chunk:
                self._pending.append(chunk)
                self._pending_size += len(chunk)
                if self._pending_size + self._data_size > self.max_event_bytes:
                    self._too_large(self._pending_size + self._data_size)
            return []
        if self._pending:
            self._pending.append(chunk)
            data = b"".join(self._pending)
            self._pending = []
            self._pending_size = 0
        else:
            data = chunk
        events: list[SSEEvent] = []
        if not self._data and not self._event and data.startswith(b"data: "):
            # Fast path for what llama-server sends: whole `data: {...}` blocks. Anything else in a
            # block (comments, several lines, other fields) takes the line-by-line path.
            blocks = data.split(b"\n\n")
            data = blocks.pop()
            for block in blocks:
                if block.startswith(b"data: ") and b"\n" not in block:
                    if len(block) > self.max_event_bytes:
                        self._too_large(len(block))
                    events.append(SSEEvent(block[6:].decode("utf-8", "replace")))
                else:
                    for line in block.split(b"\n"):
                        self._line(line, events)
                    self._line(b"", events)
        lines = data.split(b"\n")
        rest = lines.pop()
        if rest:
            self._pending = [rest]
            self._pending_size = len(rest)
        for line in lines:
            self._line(line, events)
        if self._pending_size + self._data_size > self.max_event_bytes:
            self._too_large(self._pending_size + self._data_size)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: dispatch an event whose closing blank line never came. A final line
        with no line end at all is incomplete and is dropped (the caller sees a cut-off)."""
        events: list[SSEEvent] = []
        self._pending = []
        self._pending_size = 0
        self._line(b"", events)
        return events

    def _too_large(self, size: int) -> None:
        # Drop what is held: the caller gives up on this stream, and the memory must go now.
        self._pending = []
        self._pending_size = 0
        self._data = []
        self._data_size = 0
        raise EventTooLarge(size, self.max_event_bytes)

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event or "message"))
                self._data = []
                self._data_size = 0
            self._event = ""
            return
        if line[0] == 0x3A:  # ":" comment, e.g. llama-server's ": ping"
            self.comments += 1
            return
        if len(line) + self._data_size > self.max_event_bytes:
            self._too_large(len(line) + self._data_size)
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
            self._data_size += len(value)
        elif name == b"error":  # older llama-server: `error: {...}`
            self._event = "error"
            self._data.append(value.decode("utf-8", "replace"))
            self._data_size += len(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        # "id", "retry" and unknown fields are ignored, as the spec says.
