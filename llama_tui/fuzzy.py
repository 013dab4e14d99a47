"""Fuzzy subsequence matching for the session switcher and command palette. Pure, no Textual.

A query matches a text when its characters (case-insensitive, spaces ignored) appear in the text in
order. Matches score higher when they start words, run consecutively and start early, so "lcl" ranks
"llama client" (two word starts, then a run) above "local cells", and both above "xlxcxlx".
Each candidate costs a few `str.find` scans (no per-candidate DP), so 10,000 titles stay fast.
"""

from __future__ import annotations

# Score weights. A perfect character (word start, consecutive) earns _MAX_PER_CHAR.
_BASE = 1.0
_BOUNDARY = 2.0  # the character starts a word (after space/punctuation, at index 0, or camelCase)
_CONSECUTIVE = 2.0  # the character directly follows the previous match (a run is worth a word start)
_MAX_PER_CHAR = _BASE + _BOUNDARY + _CONSECUTIVE
_GAP = 0.08  # per skipped character between two matches (capped per gap)
_LEAD = 0.02  # per character before the first match (capped)
_MAX_STARTS = 4  # word-start alignments tried per candidate
_MIN_SCORE = 0.001  # every match scores > 0, so None unambiguously means "no match"


def _fold(text: str) -> str:
    """Lower-case `text` keeping one character per character, so match offsets index `text`."""
    low = text.lower()
    if len(low) == len(text):
        return low
    # Rare: some characters lower to two (e.g. "İ"); keep the first so offsets stay aligned.
    return "".join(c.lower()[:1] or c for c in text)


def _is_boundary(text: str, i: int) -> bool:
    if i == 0:
        return True
    prev, cur = text[i - 1], text[i]
    if not prev.isalnum():
        return True
    return prev.islower() and cur.isupper()  # camelCase hump


def _score(text: str, positions: list[int]) -> float:
    raw = 0.0
    prev = -2
    for i in positions:
        raw += _BASE
        if _is_boundary(text, i):
            raw += _BOUNDARY
        if i == prev + 1:
            raw += _CONSECUTIVE
        elif prev >= 0:
            raw -= min(_GAP * (i - prev - 1), 1.0)
        prev = i
    raw -= min(_LEAD * positions[0], 0.5)
    # The first character cannot be "consecutive", so a perfect match earns _CONSECUTIVE less.
    best = len(positions) * _MAX_PER_CHAR - _CONSECUTIVE
    score = raw / best
    # Tie-break towards shorter texts: an exact title beats the same words inside a longer one.
    score -= min(len(text), 500) * 1e-5
    return max(_MIN_SCORE, min(1.0, score))


def _forward(low: str, query: str) -> list[int] | None:
    """Leftmost greedy alignment; None when `query` is not a subsequence of `low`."""
    positions: list[int] = []
    pos = -1
    for ch in query:
        pos = low.find(ch, pos + 1)
        if pos < 0:
            return None
        positions.append(pos)
    return positions


def _tighten(low: str, query: str, end: int) -> list[int]:
    """Right-to-left from `end`: the shortest window ending there (fzf's backward pass)."""
    positions: list[int] = []
    pos = end + 1
    for ch in reversed(query):
        pos = low.rfind(ch, 0, pos)
        positions.append(pos)
    positions.reverse()
    return positions


def _from_start(text: str, low: str, query: str, first: int) -> list[int] | None:
    """Greedy from a fixed first offset; a character that cannot continue a run jumps ahead to a
    word start when one exists (so "cl" takes "client" in "cool client", not "c" + "l" of "cool")."""
    positions = [first]
    pos = first
    for ch in query[1:]:
        nxt = low.find(ch, pos + 1)
        if nxt < 0:
            return None
        if nxt != pos + 1:
            j = nxt
            while j >= 0 and not _is_boundary(text, j):
                j = low.find(ch, j + 1)
            if j >= 0:
                nxt = j
        positions.append(nxt)
        pos = nxt
    return positions


def _word_starts(text: str, low: str, ch: str, limit: int) -> list[int]:
    """Up to `limit` offsets where `ch` starts a word."""
    found: list[int] = []
    pos = low.find(ch)
    while pos >= 0 and len(found) < limit:
        if _is_boundary(text, pos):
            found.append(pos)
        pos = low.find(ch, pos + 1)
    return found


def fuzzy_match(query: str, text: str) -> tuple[float, tuple[int, ...]] | None:
    """Score `query` against `text`: (score in (0, 1], matched offsets into `text`), or None if no match.

    An empty (or all-space) query matches everything with score 1.0 and no offsets."""
    q = "".join(_fold(query).split())
    if not q:
        return 1.0, ()
    low = _fold(text)
    forward = _forward(low, q)
    if forward is None:
        return None
    candidates = [forward, _tighten(low, q, forward[-1])]
    # A few alternative alignments starting at word starts; bounded so long titles stay cheap.
    for first in {forward[0], *_word_starts(text, low, q[0], _MAX_STARTS)}:
        if (alt := _from_start(text, low, q, first)) is not None:
            candidates.append(alt)
    best = max(candidates, key=lambda p: _score(text, p))
    return _score(text, best), tuple(best)


def fuzzy_score(query: str, text: str) -> float | None:
    """Score in (0, 1] (higher is better) if `query` is a fuzzy subsequence of `text`, else None."""
    match = fuzzy_match(query, text)
    return None if match is None else match[0]
