"""Slot file actions: names checked as llama-server checks them, answers validated, errors typed.
(What the real server does with the files is tested in tests/integration/chat/test_slot_cache.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from llama_tui.chat.slot_cache_files import slot_filename
from llama_tui.client import (
    LlamaCppClient,
    NotSupported,
    ProtocolError,
    SlotFileRefused,
    SlotRestored,
    SlotSaved,
)
from llama_tui.client.slot_files import MAX_FILENAME, SlotErased, check_filename, check_slot_id
from tests.harness.fault_server import FaultServer, json_error


def test_the_names_the_service_uses_are_valid() -> None:
    name = slot_filename(123456, "0123456789abcdef")
    assert check_filename(name) == name == "llama-tui-s123456-0123456789abcdef.kv"


@pytest.mark.parametrize(
    "name",
    ["", "a/b", "a\\b", "..", "a..b", " a", "a ", "a.", "a:b", "a*b", "a?b", 'a"b', "a<b", "a|b", "a\x1bb",
     "a\x7f", "a\x85", "a\ufffd", "\ufeffa", "a\ud800", "x" * (MAX_FILENAME + 1), "é" * 128],
)  # fmt: skip
def test_names_llama_server_refuses_never_leave_the_client(name: str) -> None:
    with pytest.raises(ValueError):
        check_filename(name)


@pytest.mark.parametrize("slot", [-1, True, 1.0, "0"])
def test_slot_ids_are_whole_numbers_from_zero(slot: Any) -> None:
    with pytest.raises(ValueError):
        check_slot_id(slot)


def test_answers_are_parsed_and_validated() -> None:
    saved = SlotSaved.from_json(
        {"id_slot": 0, "filename": "a.kv", "n_saved": 937, "n_written": 254956, "timings": {"save_ms": 0.49}}
    )
    assert (saved.n_saved, saved.n_written, saved.save_ms) == (937, 254956, 0.49)
    restored = SlotRestored.from_json({"id_slot": 1, "filename": "a.kv", "n_restored": 9, "n_read": 10})
    assert (restored.id_slot, restored.n_restored, restored.restore_ms) == (1, 9, 0.0)  # timings are optional
    odd = SlotRestored.from_json({"id_slot": 1, "n_restored": 9, "n_read": 10, "timings": {"restore_ms": "x"}})
    assert odd.restore_ms == 0.0
    assert SlotErased.from_json({"id_slot": 0, "n_erased": 5}).n_erased == 5
    for bad in (
        [],
        {"id_slot": 0},
        {"id_slot": 0, "n_saved": -1, "n_written": 1},
        {"id_slot": 0, "n_saved": True, "n_written": 1},
    ):
        with pytest.raises(ProtocolError):
            SlotSaved.from_json(bad)


async def _answer(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def test_client_maps_the_servers_answers() -> None:
    async with FaultServer() as fs, LlamaCppClient(fs.url, max_retries=0) as client:
        fs.routes["/slots/0"] = lambda r: _answer(
            {"id_slot": 0, "filename": "a.kv", "n_saved": 3, "n_written": 30, "timings": {"save_ms": 1.5}}
        )
        assert (await client.save_slot(0, "a.kv")).n_written == 30
        assert fs.bodies[-1] == {"filename": "a.kv"}
        fs.routes["/slots/1"] = lambda r: _ret(
            json_error(400, "Unable to restore slot: No available space in KV cache or invalid slot save file",
                       "invalid_request_error")
        )  # fmt: skip
        with pytest.raises(SlotFileRefused, match="Unable to restore slot") as refused:
            await client.restore_slot(1, "a.kv")
        assert refused.value.status == 400
        fs.routes["/slots/2"] = lambda r: _ret(
            json_error(501, "This server does not support slots action. Start it with `--slot-save-path`",
                       "not_supported_error")
        )  # fmt: skip
        with pytest.raises(NotSupported):
            await client.erase_slot(2)
        assert await client.slot_files_enabled() is True  # /slots/0 answers: saving is on
        fs.routes["/slots/0"] = fs.routes["/slots/2"]
        assert await client.slot_files_enabled() is False
        fs.routes["/slots/3"] = lambda r: _answer({"id_slot": 3, "n_restored": "many", "n_read": 1})
        with pytest.raises(ProtocolError):
            await client.restore_slot(3, "a.kv")
        hits = dict(fs.hits)
        with pytest.raises(ValueError):
            await client.save_slot(0, "../escape")
        with pytest.raises(ValueError):
            await client.restore_slot(-1, "a.kv")
        assert fs.hits == hits  # refused before any request


async def test_a_build_without_slot_actions_is_not_enabled() -> None:
    async with FaultServer() as fs, LlamaCppClient(fs.url, max_retries=0) as client:
        assert await client.slot_files_enabled() is False  # 404 from the fake server


async def _ret(response: web.Response) -> web.Response:
    return response
