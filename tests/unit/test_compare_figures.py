"""compare_figures.py: a column's live figures, the summary rows and the text table."""

from __future__ import annotations

from llama_tui.compare_figures import HEADERS, LiveFigures, summary_row, text_table
from llama_tui.domain import ChatMessage

TIMINGS = {"predicted_n": 512, "predicted_per_second": 87.25, "prompt_n": 48, "cache_n": 12}


def answer(**changes: object) -> ChatMessage:
    return ChatMessage(role="assistant", content="text", **changes)  # type: ignore[arg-type]


def test_live_figures_follow_the_stream() -> None:
    live = LiveFigures()
    assert live.line(0.0).startswith("waiting for the server")
    live.start(10.0)
    assert live.line(10.5) == "sent, waiting for the first token (0.5 s)…"
    live.progress(total=100, cached=20, processed=60)
    assert live.line(10.6) == "prompt 60/100 tokens…"
    live.token(1, 10.25)
    assert live.ttft_ms == 250.0 and live.rate is None  # one token says nothing of the rate yet
    live.token(11, 10.75)
    assert live.rate == 20.0  # 10 tokens in the 0.5 s after the first
    assert live.line(11.0) == "11 tok · 20.0 t/s · ttft 250 ms · prompt 100 (20 cached) · streaming…"


def test_a_passing_status_shows_until_the_stream_goes_on() -> None:
    """A retry after a 429 or a keep-alive wait (chat/generation.py's on_status) is said in the
    column, instead of figures that no longer move, until text or progress comes again."""
    live = LiveFigures()
    live.start(10.0)
    live.token(3, 10.5)
    live.status = "waiting for llama-server: 12 s, 3 tokens so far (it says it is still working)"
    assert live.line(22.5) == live.status
    live.token(4, 23.0)
    assert live.status == "" and live.line(23.0).startswith("4 tok")
    live.status = "the server is busy (429): trying again in 2 s"
    live.progress(total=100, cached=0, processed=10)
    assert live.status == ""


def test_summary_row_from_the_servers_timings() -> None:
    row = summary_row(2, "temperature=0.8", answer(timings=TIMINGS, stop_type="eos", ttft_ms=41.4))
    assert row.cells() == ("2", "temperature=0.8", "512", "87.2", "41 ms", "48", "12", "eos")
    assert row.line() == "512 tok · 87.2 t/s · ttft 41 ms · prompt 48 (12 cached) · stop: eos"
    limit = summary_row(1, "x", answer(timings=TIMINGS, stop_type="limit", truncated=True))
    assert limit.stop == "n_predict limit, context full"


def test_a_cut_off_answer_shows_what_the_column_counted() -> None:
    live = LiveFigures()
    live.start(0.0)
    live.progress(total=30, cached=0, processed=30)
    live.token(1, 0.1)
    live.token(21, 1.1)
    row = summary_row(1, "server=b", answer(state="interrupted", error="connection lost\x1b[2J"), live)
    assert (row.tokens, row.rate, row.prompt, row.stop) == (21, 20.0, 30, "interrupted")
    assert row.ttft_ms is not None and round(row.ttft_ms) == 100
    assert "\x1b" not in row.line() and "connection lost" in row.line()  # the error, neutralised
    nothing = summary_row(1, "x", answer(state="error", error="refused"))
    assert nothing.cells()[2:7] == ("—",) * 5 and nothing.stop == "error"


def test_untrusted_timings_are_not_figures() -> None:
    hostile = {"predicted_n": "512", "predicted_per_second": float("nan"), "prompt_n": True, "cache_n": 1e400}
    row = summary_row(1, "x", answer(timings=hostile, stop_type="eos"))
    assert (row.tokens, row.rate, row.prompt, row.cached) == (None, None, None, None)


def test_text_table_aligns_columns() -> None:
    rows = [
        summary_row(1, "temperature=0.2", answer(timings=TIMINGS, stop_type="eos", ttft_ms=9.0)),
        summary_row(2, "temperature=1.5", answer(timings={**TIMINGS, "predicted_n": 7}, stop_type="limit")),
    ]
    lines = text_table(rows).splitlines()
    assert lines[0].split() == list(HEADERS)
    assert len({len(line) for line in lines[1:]}) <= 2  # right-aligned numbers line up
    assert lines[1].index("512") + 3 == lines[2].index("7") + 1
    assert lines[2].endswith("n_predict limit") and "—" in lines[2]
