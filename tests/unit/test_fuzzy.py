"""fuzzy_score / fuzzy_match: subsequence matching and ranking, no Textual."""

from __future__ import annotations

import pytest

from llama_tui.fuzzy import fuzzy_match, fuzzy_score


def test_not_a_subsequence_is_none() -> None:
    assert fuzzy_score("lcl", "a colorful llama") is None  # has l, c, l, but not in that order
    assert fuzzy_score("zz", "llama") is None
    assert fuzzy_score("ab", "ba") is None


def test_subsequence_matches_case_insensitively_ignoring_spaces() -> None:
    assert fuzzy_score("LCL", "llama client") is not None
    assert fuzzy_score("llama cl", "Llama Client") is not None
    assert fuzzy_score("l c l", "llamaclient") is not None


def test_empty_query_matches_everything() -> None:
    assert fuzzy_match("", "anything") == (1.0, ())
    assert fuzzy_score("   ", "") == 1.0


@pytest.mark.parametrize(
    ("query", "text"),
    [("lcl", "llama client"), ("x", "x"), ("q", "a" * 400 + "q"), ("ab", "a" + " " * 300 + "b")],
)
def test_scores_are_in_unit_interval(query: str, text: str) -> None:
    score = fuzzy_score(query, text)
    assert score is not None
    assert 0.0 < score <= 1.0


def test_word_starts_and_runs_rank_higher() -> None:
    acronym = fuzzy_score("lcl", "llama client")
    scattered = fuzzy_score("lcl", "xlxcxlx")
    assert acronym is not None and scattered is not None
    assert acronym > scattered


def test_lcl_ranking() -> None:
    scores = [fuzzy_score("lcl", text) for text in ("llama client", "local cells", "xlxcxlx")]
    assert None not in scores
    assert scores == sorted(scores, reverse=True)


def test_prefers_the_word_start_alignment() -> None:
    # Greedy left-to-right would take "c" and "l" of "cool"; "client" is the better match.
    match = fuzzy_match("cl", "cool client")
    assert match is not None
    assert match[1] == (5, 6)


def test_camel_case_humps_are_word_starts() -> None:
    match = fuzzy_match("lc", "LlamaClient")
    assert match is not None
    assert match[1] == (0, 5)


def test_consecutive_substring_beats_scattered_letters() -> None:
    run = fuzzy_score("rust", "my rust notes")
    spread = fuzzy_score("rust", "rxuxsxt")
    assert run is not None and spread is not None
    assert run > spread


def test_shorter_text_wins_a_tie() -> None:
    exact = fuzzy_score("llama", "llama")
    longer = fuzzy_score("llama", "llama and a lot of other words")
    assert exact is not None and longer is not None
    assert exact > longer


def test_offsets_index_the_original_text() -> None:
    # "İ".lower() is two characters; offsets must still point into the original string.
    text = "İstanbul bazaar"
    match = fuzzy_match("bz", text)
    assert match is not None
    assert [text[i] for i in match[1]] == ["b", "z"]
