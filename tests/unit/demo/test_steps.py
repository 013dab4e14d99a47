"""Setup commands (demo/steps.py): output to the log and the callback, exit codes, cancelling
stops the child, and pip failing for want of a network says so."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from llama_tui.demo.build import build_server
from llama_tui.demo.steps import Command, SetupError, open_log, pip_failure, run_command


def test_output_reaches_the_log_and_the_callback_controls_made_visible(tmp_path: Path) -> None:
    code = "import sys; print('one'); print('two\\x1b[31m', flush=True); sys.stdout.write('50%\\r60%\\n'); sys.exit(3)"
    seen: list[str] = []
    with open_log(tmp_path / "setup.log") as log:
        rc = asyncio.run(run_command(Command("t", (sys.executable, "-c", code)), log=log, on_line=seen.append))
    assert rc == 3
    assert seen == ["one", "two␛[31m", "50%", "60%"]
    text = (tmp_path / "setup.log").read_text()
    assert "one\ntwo␛[31m\n" in text and "\x1b" not in text
    assert (tmp_path / "setup.log").stat().st_mode & 0o777 == 0o600


def test_cancelling_stops_the_child_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n"
    )

    async def main() -> None:
        with open_log(tmp_path / "log") as log:
            task = asyncio.ensure_future(run_command(Command("t", (sys.executable, "-c", code)), log=log))
            while not pid_file.exists() or not pid_file.read_text():
                await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    grandchild = int(pid_file.read_text())
    for _ in range(100):
        if not _running(grandchild):
            break
        asyncio.run(asyncio.sleep(0.05))
    else:
        pytest.fail("the command's child outlived the cancel")
    assert "(stopped)" in (tmp_path / "log").read_text()


def _running(pid: int) -> bool:
    """Alive and not a zombie: an orphan killed with its group waits as a zombie until whatever
    adopted it (here the sandbox's pid 1, which reaps lazily) collects it; it no longer runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(0) is all we have
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_missing_program_is_a_setup_error(tmp_path: Path) -> None:
    with open_log(tmp_path / "log") as log, pytest.raises(SetupError, match="cannot run"):
        asyncio.run(run_command(Command("t", (str(tmp_path / "no-such-program"),)), log=log))


def test_pip_failures_tell_no_network_from_other_causes(tmp_path: Path) -> None:
    log = tmp_path / "setup.log"
    offline = pip_failure("the model", ["ERROR: Could not find a version that satisfies the requirement x"], log)
    assert "check the network" in offline.message and str(log) in offline.message
    other = pip_failure("the model", ["ERROR: disk quota exceeded", ""], log)
    assert "disk quota exceeded" in other.message and "network" not in other.message


def test_no_network_the_real_pip_fails_and_the_build_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real pip against an index nobody serves: what a machine without network sees."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_NO_INDEX", "0")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    labels: list[str] = []
    with pytest.raises(SetupError) as error:
        asyncio.run(build_server(tmp_path, tmp_path / "setup.log", on_progress=lambda label, f: labels.append(label)))
    assert "cannot download the llama-cpp-python sources from PyPI: check the network" in error.value.message
    assert labels and labels[0].startswith("downloading the llama.cpp sources")
    assert not any(tmp_path.glob("llama-cpp-python-*/work.*"))  # the scratch folder is gone
