"""Feeding model output to the reasoning splitter in pieces: every chunking of a text, or the
pieces a real stream delivered."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator

from llama_tui.reasoning import Phase, ReasoningFormat, ReasoningSplitter, Start


def chunkings(text: str, *, seeds: int = 20) -> Iterator[list[str]]:
    """The text cut into pieces every way that matters: fixed sizes 1..len, and random cuts."""
    for size in range(1, max(1, len(text)) + 1):
        yield [text[i : i + size] for i in range(0, len(text), size)] or [""]
    for seed in range(seeds):
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 8)))) if len(text) > 1 else []
        bounds = [0, *cuts, len(text)]
        yield [text[a:b] for a, b in itertools.pairwise(bounds)]


def stream_split(fmt: ReasoningFormat, start: Start, pieces: Iterable[str]) -> tuple[str, str, list[tuple[Phase, str]]]:
    """(all reasoning, all answer, the ordered (phase, text) parts) of the pieces fed one by one."""
    splitter = ReasoningSplitter(fmt, start)
    parts: list[tuple[Phase, str]] = []
    for piece in pieces:
        parts += splitter.feed_pieces(piece)
    parts += splitter.flush_pieces()
    reasoning = "".join(t for p, t in parts if p is Phase.REASONING)
    answer = "".join(t for p, t in parts if p is Phase.ANSWER)
    return reasoning, answer, parts
