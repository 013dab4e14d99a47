"""Forcing what a tiny random-weight model writes, through the real llama-server: each /completion the
app streams gets the next GBNF grammar of a script (the server's sampler then produces exactly that
text, token by token, as a real model would stream it), and every prompt the app sent is recorded.

The app's own client is wrapped on the instance (`stream_completion`); nothing else changes, so the
request, the stream, the splitting and the store are the app's, against the real server. ``pace``
reads the events at a real model's rate (a tiny model writes thousands of tokens a second, faster than
a person, or a test, can press a key while it is still thinking).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from llama_tui.client import LlamaCppClient, StreamEvent


class ForcedOutput:
    def __init__(self, client: LlamaCppClient, *, pace: float = 0.0) -> None:
        self.pace = pace  # seconds between two events, as the app reads them
        self.grammars: list[str] = []  # for the next requests, in order; none left: the model is free
        self.prompts: list[str] = []  # every prompt sent, as text (token ids shown as <id>)
        self.bodies: list[dict[str, Any]] = []  # every request's parameters, as sent
        self._stream = client.stream_completion

        def stream(prompt: str | Sequence[int | str], **params: Any) -> AsyncIterator[StreamEvent]:
            text = prompt if isinstance(prompt, str) else "".join(p if isinstance(p, str) else f"<{p}>" for p in prompt)
            self.prompts.append(text)
            if self.grammars:
                params["grammar"] = self.grammars.pop(0)
            self.bodies.append(dict(params))
            return self._paced(self._stream(prompt, **params))

        client.stream_completion = stream  # type: ignore[method-assign]

    async def _paced(self, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
        try:
            async for event in events:
                yield event
                if self.pace:
                    await asyncio.sleep(self.pace)
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def then(self, *grammars: str) -> ForcedOutput:
        """Force the next answers (or the parts of one answer that restarts, e.g. stop thinking now)."""
        self.grammars.extend(grammars)
        return self
