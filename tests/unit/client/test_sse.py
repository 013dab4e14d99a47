"""The byte-level SSE decoder, fed chunk lists the way a network delivers them."""

from __future__ import annotations

import json

import pytest

from llama_tui.client.sse import SSEDecoder, SSEEvent


def decode(chunks: list[bytes], *, close: bool = True) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    if close:
        events.extend(decoder.close())
    return events


def every_split(data: bytes) -> list[list[bytes]]:
    """The stream cut in two at every byte offset, and also delivered one byte at a time."""
    splits = [[data[:i], data[i:]] for i in range(len(data) + 1)]
    splits.append([data[i : i + 1] for i in range(len(data))])
    return splits


def test_single_event() -> None:
    assert decode([b'data: {"content":"hi"}\n\n']) == [SSEEvent('{"content":"hi"}')]


def test_two_events_in_one_chunk_and_no_space_after_colon() -> None:
    assert decode([b"data: a\n\ndata:b\n\n"]) == [SSEEvent("a"), SSEEvent("b")]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_at_every_split(newline: bytes) -> None:
    raw = b"data: one" + newline + b"data: two" + newline + newline + b"data: three" + newline + newline
    for chunks in every_split(raw):
        assert decode(chunks) == [SSEEvent("one\ntwo"), SSEEvent("three")], chunks


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    # If the CR and the LF of one CRLF arrive in different chunks, they must not count as two
    # line ends (which would dispatch "a" and "b" as separate events).
    assert decode([b"data: a\r", b"\ndata: b\r\n\r\n"]) == [SSEEvent("a\nb")]


def test_multibyte_utf8_split_across_chunks() -> None:
    text = "héllo 世界 🦙"
    raw = ("data: " + json.dumps({"content": text}, ensure_ascii=False) + "\n\n").encode()
    for chunks in every_split(raw):
        (event,) = decode(chunks)
        assert json.loads(event.data)["content"] == text


def test_invalid_utf8_becomes_replacement_character_not_an_exception() -> None:
    (event,) = decode([b"data: a\xff\xfeb\n\n"])
    assert event.data == "a\ufffd\ufffdb"


def test_comment_lines_are_ignored() -> None:
    assert decode([b": ping\n\n: another\ndata: x\n\n:\n\n"]) == [SSEEvent("x")]


def test_empty_data_line_gives_empty_event() -> None:
    assert decode([b"data:\n\n"]) == [SSEEvent("")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode([b"\n\n\n\r\n"]) == []


def test_unknown_fields_id_and_retry_are_ignored() -> None:
    assert decode([b"id: 7\nretry: 100\nfoo: bar\ndata: x\n\n"]) == [SSEEvent("x")]


def test_event_field_names_the_event() -> None:
    assert decode([b"event: update\ndata: x\n\n"]) == [SSEEvent("x", "update")]


def test_data_error_form_is_an_ordinary_data_event() -> None:
    payload = b'{"error":{"code":500,"message":"boom","type":"server_error"}}'
    (event,) = decode([b"data: " + payload + b"\n\n"])
    assert event.event == "message"
    assert json.loads(event.data)["error"]["message"] == "boom"


def test_older_error_line_form_is_an_error_event() -> None:
    (event,) = decode([b'error: {"code":500,"message":"old"}\n\n'])
    assert event.event == "error"
    assert json.loads(event.data)["message"] == "old"


def test_final_line_over_one_mebibyte_in_small_chunks() -> None:
    prompt = "x" * (1024 * 1024 + 17)
    raw = ("data: " + json.dumps({"stop": True, "prompt": prompt}) + "\n\n").encode()
    chunks = [raw[i : i + 4096] for i in range(0, len(raw), 4096)]
    (event,) = decode(chunks)
    assert json.loads(event.data)["prompt"] == prompt


def test_two_mebibyte_line_in_one_chunk() -> None:
    content = "é" * (1024 * 1024)
    raw = ("data: " + json.dumps({"content": content}, ensure_ascii=False) + "\n\n").encode()
    assert len(raw) > 2 * 1024 * 1024
    (event,) = decode([raw])
    assert json.loads(event.data)["content"] == content


def test_event_missing_its_blank_line_is_dispatched_at_close() -> None:
    assert decode([b"data: last\n"]) == [SSEEvent("last")]


def test_incomplete_final_line_is_dropped_at_close() -> None:
    # A line with no line end was cut off in transit: it must not be parsed as if whole.
    assert decode([b'data: {"content": "ha']) == []


def test_no_events_before_the_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [SSEEvent("a")]


def test_many_events_in_many_odd_chunks() -> None:
    events = [json.dumps({"content": f"t{i}", "tokens": [i]}) for i in range(500)]
    raw = "".join(f"data: {e}\n\n" for e in events).encode()
    chunks = [raw[i : i + 37] for i in range(0, len(raw), 37)]
    assert [e.data for e in decode(chunks)] == events


def test_mixed_blocks_through_the_fast_path_at_every_split() -> None:
    # Single-line data blocks take the fast path; comments, multi-line data, error lines and
    # events split across chunks fall back to the line path without losing or merging anything.
    raw = b'data: a\n\n: ping\n\ndata: b\ndata: c\n\nerror: {"x":1}\n\nevent: e\ndata: d\n\ndata: f\n\n'
    expected = [SSEEvent("a"), SSEEvent("b\nc"), SSEEvent('{"x":1}', "error"), SSEEvent("d", "e"), SSEEvent("f")]
    for chunks in every_split(raw):
        assert decode(chunks) == expected, chunks
