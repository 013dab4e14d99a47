"""`llama-tui ask --compare` as a script runs it: a subprocess against the real llama-server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def ask(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llama_tui", "ask", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_a_sweep_prints_each_answer_and_the_summary_table(llama_server) -> None:
    args = ("hello", "--server", llama_server.url, "--template", "chatml", "-n", "24")
    result = ask(*args, "--compare", "temperature=0.2,1.5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "── 1 · temperature=0.2 ──" in out and "── 2 · temperature=1.5 ──" in out
    table = out[out.index("#  target") :].splitlines()
    assert table[0].split() == ["#", "target", "tokens", "tok/s", "ttft", "prompt", "cached", "stop"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in table[1:3]]
    assert [row[:2] for row in rows] == [["1", "temperature=0.2"], ["2", "temperature=1.5"]]
    for row in rows:
        assert 0 < int(row[2].replace(",", "")) <= 24 and float(row[3].replace(",", "")) > 0
        assert row[4].endswith(" ms") and row[-1] in ("eos", "n_predict limit")
    assert re.search(r"^seed \d+ for all targets$", out, re.M)


def test_json_gives_every_target_and_one_seed_makes_them_repeatable(llama_server) -> None:
    args = ("hello", "--server", llama_server.url, "--template", "chatml", "-n", "16", "--seed", "5", "--json")
    first = ask(*args, "--compare", "top_k=1,40")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["seed"] is None  # --seed is the session's own: used as it is
    targets = data["targets"]
    assert [t["label"] for t in targets] == ["top_k=1", "top_k=40"]
    assert [t["target"] for t in targets] == [{"settings": {"top_k": 1}}, {"settings": {"top_k": 40}}]
    assert all(t["state"] == "complete" and t["content"] and 0 < t["timings"]["predicted_n"] <= 16 for t in targets)
    # The same target asked again (greedy: top_k=1) gives the same text: nothing else leaks between columns.
    again = json.loads(ask(*args, "--compare", "top_k=1,2").stdout)
    assert again["targets"][0]["content"] == targets[0]["content"]


def test_router_models_and_combinations(router_server) -> None:
    result = ask(
        "hi", "--server", router_server.url, "--template", "chatml", "-n", "8", "--json",
        "--compare", "model=chatml,llama3", "--compare", "temperature=0.3,0.9",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout)["targets"]
    assert [t["label"] for t in targets] == [
        "model=chatml · temperature=0.3",
        "model=chatml · temperature=0.9",
        "model=llama3 · temperature=0.3",
        "model=llama3 · temperature=0.9",
    ]
    assert all(t["state"] == "complete" for t in targets)


def test_bad_specs_and_a_dead_server_exit_with_a_clear_message(fresh_llama_server, tmp_path: Path) -> None:
    bad = ask("hi", "--server", "http://127.0.0.1:9", "--compare", "temperature=0.2")
    assert bad.returncode == 2 and "--compare: give at least two targets" in bad.stderr
    assert ask("hi", "--compare", "temperature=1,2", "--compare", "model=a,b,c").returncode == 2  # 6 targets
    # One target on a server that is gone: the other still answers; exit 3 (unreachable).
    alive = fresh_llama_server()
    config = tmp_path / "config.toml"
    config.write_text(f'[servers.up]\nurl = "{alive.url}"\n\n[servers.down]\nurl = "http://127.0.0.1:9"\n')
    result = ask(
        "hi", "--config", str(config), "--server", alive.url, "--template", "chatml", "-n", "8",
        "--compare", "server=up,down",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "── 1 · server=up ──" in result.stdout and "target 2 (server=down)" in result.stderr
    table = result.stdout[result.stdout.index("#  target") :]
    assert re.search(r"^2\s+server=down\s+—.*error$", table, re.M), table
