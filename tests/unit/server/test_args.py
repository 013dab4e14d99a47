"""The llama-server flags llama-tui sets, refuses and reads back; the slot cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_tui import paths
from llama_tui.server import ManagedServer, ManagedServerError, default_slot_save_dir
from llama_tui.server.args import automatic_flags, check_user_args, cpu_has_amx, flag_value


def test_flag_values_in_both_spellings_last_one_wins() -> None:
    args = ["-c", "512", "--slot-save-path", "/a", "--slot-save-path=/b"]
    assert flag_value(args, "--slot-save-path") == "/b"
    assert flag_value(args[:4], "--slot-save-path") == "/a"
    assert flag_value(["--slot-save-path"], "--slot-save-path") is None  # no value given
    assert flag_value(args, "--swa-full") is None


def test_reserved_flags_are_refused() -> None:
    assert check_user_args(["-c", "512"]) == ("-c", "512")
    with pytest.raises(ManagedServerError, match="set by llama-tui"):
        check_user_args(["--port=1"])


def test_the_default_slot_folder_is_in_the_apps_cache_dir() -> None:
    assert default_slot_save_dir() == paths.cache_dir() / "slot-cache" / "files"


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def test_a_slot_folder_adds_the_flag_unless_the_user_chose_one(tmp_path: Path, fake: Path) -> None:
    ours = ManagedServer(tmp_path / "m.gguf", binary=fake, args=["-c", "512"], slot_save_dir=tmp_path / "slots")
    assert ours.command()[-4:] == ["--slot-save-path", str(tmp_path / "slots"), "-c", "512"]
    assert ours.slot_save_dir == tmp_path / "slots" and not ours.swa_full
    theirs = ManagedServer(
        tmp_path / "m.gguf", binary=fake, args=["--slot-save-path", "/srv/kv", "--swa-full"], slot_save_dir=tmp_path
    )
    assert theirs.command().count("--slot-save-path") == 1
    assert theirs.slot_save_dir == Path("/srv/kv") and theirs.swa_full
    none = ManagedServer(tmp_path / "m.gguf", binary=fake)
    assert none.slot_save_dir is None and "--slot-save-path" not in none.command()


CPUINFO = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu sse2 avx512f {extra}\n\n"


@pytest.mark.parametrize(("extra", "amx"), [("amx_bf16 amx_tile amx_int8", True), ("amx_bf16", False), ("", False)])
def test_amx_is_read_from_the_cpu_flags(tmp_path: Path, extra: str, amx: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(extra=extra))
    assert cpu_has_amx(cpuinfo) is amx
    assert cpu_has_amx(tmp_path / "missing") is False  # not Linux: no such file


def test_no_repack_on_amx_unless_the_user_chose() -> None:
    assert automatic_flags(["-c", "512"], {}, amx=True) == ("--no-repack",)
    assert automatic_flags(["-c", "512"], {}, amx=False) == ()
    for chosen in (["--repack"], ["-nr"], ["--no-repack"], ["--repack=1"]):
        assert automatic_flags(chosen, {}, amx=True) == (), chosen
    assert automatic_flags([], {"LLAMA_ARG_REPACK": "1"}, amx=True) == ()


def test_the_managed_server_adds_no_repack_on_this_machine_only_with_amx(tmp_path: Path, fake: Path) -> None:
    amx = cpu_has_amx()
    plain = ManagedServer(tmp_path / "m.gguf", binary=fake, args=["-c", "512"], env={})
    assert ("--no-repack" in plain.command()) is amx
    chosen = ManagedServer(tmp_path / "m.gguf", binary=fake, args=["--repack"], env={})
    assert "--no-repack" not in chosen.command()
    by_env = ManagedServer(tmp_path / "m.gguf", binary=fake, env={"LLAMA_ARG_REPACK": "0"})
    assert "--no-repack" not in by_env.command()
