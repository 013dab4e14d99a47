"""What saving session caches can do, per server and model: the states and what the user is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui.chat.slot_support import ModelIdentity, Support, assess, would_gain
from llama_tui.client import Props
from llama_tui.gguf_info import ModelTraits

LLAMA = ModelTraits("llama", 0, recurrent=False)
GEMMA = ModelTraits("gemma3", 512, recurrent=False)
MAMBA = ModelTraits("mamba", 0, recurrent=True)


def test_no_slot_save_path_says_how_to_turn_it_on() -> None:
    external = assess(files_enabled=False, traits=LLAMA)
    assert external.support is Support.OFF and not external.can_save
    assert "--slot-save-path" in external.hint and "command line" in external.hint
    assert "[server.launch] args" in assess(files_enabled=False, managed=True).hint


@pytest.mark.parametrize(
    ("traits", "swa_full", "expected"),
    [
        (LLAMA, False, Support.REUSED),
        (LLAMA, None, Support.REUSED),
        (GEMMA, True, Support.REUSED),
        (GEMMA, False, Support.NOT_REUSED),  # measured: cache_n 0 after a restore without --swa-full
        (GEMMA, None, Support.UNVERIFIED),  # an external server: its flags are unknown
        (MAMBA, False, Support.UNVERIFIED),  # not measured: learned at the first restore
        (None, None, Support.UNVERIFIED),  # model file not readable here
    ],
)
def test_what_each_model_family_gets(traits: ModelTraits | None, swa_full: bool | None, expected: Support) -> None:
    support = assess(files_enabled=True, traits=traits, swa_full=swa_full)
    assert support.support is expected
    assert support.can_save == (expected in (Support.REUSED, Support.UNVERIFIED))
    if traits is GEMMA and expected is not Support.REUSED:
        assert "--swa-full" in support.hint and "sliding-window" in support.summary


def test_a_restore_seen_not_reused_turns_saving_off() -> None:
    support = assess(files_enabled=True, traits=GEMMA, swa_full=None, learned_not_reused=True)
    assert support.support is Support.NOT_REUSED and not support.can_save and "--swa-full" in support.hint
    assert assess(files_enabled=True, traits=MAMBA, learned_not_reused=True).hint == ""


def test_router_mode_is_not_supported() -> None:
    assert assess(files_enabled=True, router=True).support is Support.UNAVAILABLE


def props(**over: object) -> Props:
    data: dict[str, object] = {
        "default_generation_settings": {"n_ctx": 4096, "params": {}},
        "model_path": "/models/a.gguf",
        "model_ftype": "Q4_K - Medium",
        "build_info": "b1-0c1e570",
        "total_slots": 2,
    }
    data.update(over)
    return Props.from_json(data)


def test_the_identity_changes_with_model_build_and_context(tmp_path: Path) -> None:
    base = ModelIdentity.from_props(props())
    assert base.key == ModelIdentity.from_props(props(total_slots=4)).key  # slots do not matter
    others = [
        props(model_path="/models/b.gguf"),
        props(model_ftype="Q8_0"),
        props(build_info="b2-ffffff"),
        props(default_generation_settings={"n_ctx": 8192, "params": {}}),
    ]
    assert len({base.key, *(ModelIdentity.from_props(p).key for p in others)}) == 5
    model = tmp_path / "a.gguf"
    model.write_bytes(b"one")
    first = ModelIdentity.from_props(props(), local_model=model)
    model.write_bytes(b"other weights")  # the same path, another file
    assert ModelIdentity.from_props(props(), local_model=model).key != first.key != base.key
    assert base.name == "a.gguf"


def test_what_saving_would_spare_is_said_from_the_sessions_figures() -> None:
    assert would_gain(3419, 81.4) == "a saved cache would spare re-processing 3,419 prompt tokens (about 42.0 s)"
    assert would_gain(0, 100.0) == would_gain(100, 0.0) == would_gain(100, float("nan")) == ""


def test_the_swa_hint_says_where_to_add_the_flag() -> None:
    managed = assess(files_enabled=True, traits=GEMMA, swa_full=False, managed=True)
    external = assess(files_enabled=True, traits=GEMMA, swa_full=None)
    assert "[server.launch] args" in managed.hint and "--server-arg=--swa-full" in managed.hint
    assert external.hint.startswith("start llama-server with --swa-full")
