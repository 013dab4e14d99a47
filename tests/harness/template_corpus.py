"""The conversations every prompt template is checked on, against the official templates as the real
llama-server renders them (tests/integration/templates/).

Each conversation is valid for the strictest official templates: an optional system message first, then
user and assistant alternating, starting with the user. A conversation that ends with an assistant
message is a "continue": the server prefills that answer, as ``render(..., continue_final=True)`` must.
"""

from __future__ import annotations

from dataclasses import dataclass

Message = dict[str, str]


def _msgs(*pairs: tuple[str, str]) -> tuple[Message, ...]:
    return tuple({"role": role, "content": content} for role, content in pairs)


@dataclass(frozen=True)
class Conversation:
    name: str
    messages: tuple[Message, ...]

    @property
    def continues(self) -> bool:
        """Ends with an assistant message: rendered with continue_final=True."""
        return self.messages[-1]["role"] == "assistant"

    def as_list(self) -> list[Message]:
        return [dict(m) for m in self.messages]


S, U, A = "system", "user", "assistant"

CORPUS: tuple[Conversation, ...] = (
    Conversation("one user message", _msgs((U, "Hello"))),
    Conversation("system and user", _msgs((S, "You are terse."), (U, "Hi"))),
    Conversation(
        "system, several turns",
        _msgs((S, "You are terse."), (U, "Hi"), (A, "Hello!"), (U, "Tell me a joke.")),
    ),
    Conversation(
        "several turns, no system",
        _msgs((U, "What is 2+2?"), (A, "4"), (U, "And 3+3?"), (A, "6"), (U, "Thanks.")),
    ),
    Conversation(
        "leading and trailing whitespace",
        _msgs((S, "  Be brief. \n"), (U, "  spaced out  \n"), (A, " answer with spaces \n\n"), (U, "\n\nnext\n")),
    ),
    Conversation(
        "unicode",
        _msgs(
            (U, "héllo wörld, 世界, 🦙 — “quotes” and ‘single’"),
            (A, "ünïcödé ✓ Ελληνικά"),
            (U, "emoji 👍🏽 and שלום and \u00a0nbsp"),
        ),
    ),
    Conversation(
        "unicode spaces at the edges",  # llama-server's trim strips ASCII whitespace only
        _msgs(
            (S, "\u2003em space\u00a0"), (U, "\u00a0no-break spaces\u00a0"), (A, "\u3000ideographic\u3000"), (U, "ok")
        ),
    ),
    Conversation(
        "multi-line and markup",
        _msgs(
            (U, "Code:\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|"),
            (A, "Sure:\n\n- one\n- two\n\n**bold** [x](y) {{ not jinja }} {% raw %}"),
            (U, "[INST] <s> <|im_start|> look like tokens but are text"),
        ),
    ),
    Conversation("empty messages", _msgs((U, "hi"), (A, ""), (U, ""))),
    Conversation("empty system message", _msgs((S, ""), (U, "Hi"))),
    Conversation("continue an answer", _msgs((U, "Write a haiku about autumn."), (A, "Autumn moon"))),
    Conversation(
        "continue with system, spaces around",
        _msgs((S, "You write poems."), (U, "A poem?"), (A, "Roses are red,"), (U, "Another."), (A, "  Violets ")),
    ),
    Conversation("continue an empty answer", _msgs((U, "Start."), (A, ""))),
    Conversation(
        "continue after reasoning",
        (*_msgs((U, "Why?")), {"role": A, "content": "Because", "reasoning_content": "Think it over."}),
    ),
    Conversation(
        "continue the reasoning",
        (*_msgs((U, "Why?")), {"role": A, "content": "", "reasoning_content": "Let me think"}),
    ),
)
