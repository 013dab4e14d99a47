"""The streaming parser for gpt-oss's harmony format, as llama.cpp's gpt-oss parser reads it.

The output (after a prompt ending `<|start|>assistant`) is a sequence of messages, each a header
`[<|start|>assistant]<|channel|>NAME[ to=RECIPIENT][<|constrain|>TYPE]<|message|>` then a body up to
`<|end|>` (or the next `<|start|>`; `<|return|>` and `<|call|>` end the generation and are not in
the text). Channel `analysis` is the reasoning; `final` is the answer; `commentary` without a
recipient is a preamble meant for the user, so it is answer too (llama.cpp makes it content). A
message with a recipient (a tool call) and any text that is not harmony at all stay in the answer
verbatim, markers included: nothing is lost.
"""

from __future__ import annotations

import enum
import re

from .formats import Start
from .scan import MarkerParser, Phase, Piece, find_first, held_back

START, CHANNEL, MESSAGE, END = "<|start|>", "<|channel|>", "<|message|>", "<|end|>"
_TERMINATORS = (END, START, "<|return|>", "<|call|>")
_MAX_HEADER = 256  # longer without <|message|>: not a header after all

REASONING_CHANNELS = frozenset({"analysis"})
ANSWER_CHANNELS = frozenset({"final", "commentary"})


class _State(enum.Enum):
    HEADER = "header"  # reading a message header up to <|message|>
    BODY = "body"
    PLAIN = "plain"  # not harmony: everything is answer as it comes


# A header as gpt-oss writes it (llama.cpp's gpt-oss parser): the role, a stray commentary channel
# it sometimes writes first, the channel, a recipient (tool call) and a constraint type.
_HEADER = re.compile(
    r"(?:<\|start\|>assistant(?P<to_role> to=[^<\s]+)?)?"
    r"(?:<\|channel\|>commentary(?: to=assistant)?)?"
    r"<\|channel\|>(?P<name>[A-Za-z0-9_-]+)(?P<to> to=[^<\s]+)?"
    r"(?:\s*<\|constrain\|>[A-Za-z0-9_-]*)?\s*"
)


def channel_of(header: str) -> tuple[str, bool] | None:
    """(channel name, has a recipient) of a header such as `<|start|>assistant<|channel|>final`
    (without its `<|message|>`), or None if it is not one."""
    match = _HEADER.fullmatch(header)
    if match is None:
        return None
    return match["name"], bool(match["to_role"] or match["to"])


class HarmonyParser(MarkerParser):
    """Feed text, get (phase, text) pieces in order; holds back only what could still be a marker."""

    def __init__(self, start: Start = Start.OUTSIDE) -> None:
        super().__init__()
        self._state = _State.HEADER if start is Start.OUTSIDE else _State.BODY
        self._phase = Phase.REASONING if start is Start.REASONING else Phase.ANSWER
        self._raw = False  # a tool call's body: kept verbatim, terminators too
        self.at_output_start = start is Start.OUTSIDE  # the prompt gave this header's <|start|>assistant
        self.blocks = 1 if start is Start.REASONING else 0  # reasoning messages seen

    @property
    def phase(self) -> Phase | None:
        if self._state is _State.HEADER:
            return None
        return self._phase if self._state is _State.BODY else Phase.ANSWER

    @property
    def in_header(self) -> bool:
        return self._state is _State.HEADER

    def _step(self, out: list[Piece]) -> bool:
        buf = self._buf
        if self._state is _State.PLAIN:
            self._emit(out, Phase.ANSWER, buf)
            self._buf = ""
            return False
        if self._state is _State.HEADER:
            return self._header_step(out, buf)
        found = find_first(buf, _TERMINATORS)
        if found is None:
            keep = held_back(buf, _TERMINATORS)
            self._emit(out, self._phase, buf[: len(buf) - keep])
            self._buf = buf[len(buf) - keep :]
            return False
        i, marker = found
        end = i if marker == START else i + len(marker)  # <|start|> belongs to the next header
        self._emit(out, self._phase, buf[:end] if self._raw else buf[:i])
        self._buf = buf[end:]
        self._state, self.at_output_start = _State.HEADER, False
        return True

    def _header_step(self, out: list[Piece], buf: str) -> bool:
        if not buf:
            return False
        if not (buf.startswith((START, CHANNEL)) or START.startswith(buf) or CHANNEL.startswith(buf)):
            self._state = _State.PLAIN  # the model is not writing harmony (here): keep its text
            return True
        i = buf.find(MESSAGE)
        restart = buf.find(START, 1)
        if restart != -1 and (i == -1 or restart < i):  # a new message began: the broken header is text
            self._emit(out, Phase.ANSWER, buf[:restart])
            self._buf = buf[restart:]
            return True
        if i == -1:
            if len(buf) > _MAX_HEADER:
                self._state = _State.PLAIN
                return True
            return False
        parsed = channel_of(buf[:i])
        name, recipient = parsed if parsed is not None else ("", False)
        self._buf = buf[i + len(MESSAGE) :]
        self._state = _State.BODY
        self._raw = recipient or name not in REASONING_CHANNELS | ANSWER_CHANNELS
        if self._raw:
            self._phase = Phase.ANSWER
            self._emit(out, Phase.ANSWER, buf[: i + len(MESSAGE)])
        elif name in REASONING_CHANNELS:
            self._phase = Phase.REASONING
            if self.blocks:
                self._emit(out, Phase.REASONING, "\n\n")  # keep messages apart
            self.blocks += 1
        else:
            self._phase = Phase.ANSWER
            if self.answered:
                self._emit(out, Phase.ANSWER, "\n\n")
        return True

    def flush(self) -> list[Piece]:
        buf, self._buf = self._buf, ""
        if not buf:
            return []
        if self._state is _State.BODY and not self._raw:
            return [(self._phase, buf)]
        self.answered = True
        return [(Phase.ANSWER, buf)]  # an unfinished header or a partial marker: keep the text
