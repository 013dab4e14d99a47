"""`llama-tui ask` as a user runs it: a subprocess against the real llama-server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def ask(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llama_tui", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streams_text_and_prints_honest_timings(llama_server) -> None:
    result = ask("hello", "--server", llama_server.url, "-n", "64", "--template", "chatml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    # "64 tok · prompt 10 tok 12,345 t/s · gen 2,345.6 t/s · ttft 3 ms · stop: ..."; the shared
    # server may already hold the prompt's start from an earlier test: "prompt 13 tok, 12 cached ...".
    match = re.search(
        r"^(\d+) tok · prompt (\d+) tok(?:, [\d,]+ cached)? [\d,]+ t/s · gen ([\d,.]+) t/s · ttft \d+ ms · stop: ",
        result.stderr,
        re.M,
    )
    assert match, result.stderr
    assert int(match.group(1)) <= 64 and int(match.group(2)) > 0
    assert float(match.group(3).replace(",", "")) > 0


def test_json_output_has_content_stop_type_and_timings(llama_server) -> None:
    result = ask("hello", "--server", llama_server.url, "-n", "16", "--seed", "3", "--temperature", "0.7", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert 0 < data["timings"]["predicted_n"] <= 16
    assert data["stop_type"] in ("eos", "limit", "word")
    assert set(data) >= {"content", "stop_type", "timings", "ttft_ms"}


def test_prompt_from_stdin_and_system_prompt(llama_server) -> None:
    result = ask(
        "--server",
        llama_server.url,
        "-n",
        "8",
        "--system",
        "Be brief.",
        "--json",
        "--template",
        "chatml",
        stdin="what is up?",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["timings"]["prompt_n"] > 5


def test_same_seed_same_answer(llama_server) -> None:
    args = ("hello", "--server", llama_server.url, "-n", "24", "--seed", "42", "--json")
    first, second = ask(*args), ask(*args)
    assert json.loads(first.stdout)["content"] == json.loads(second.stdout)["content"]


def test_closed_port_exits_3_with_one_clear_line() -> None:
    port = closed_port()
    result = ask("hello", "--server", f"http://127.0.0.1:{port}")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr


def test_wrong_key_exits_4_and_never_prints_the_key(llama_server_auth) -> None:
    result = ask("hello", "--server", llama_server_auth.url, "-n", "4", env={"LLAMA_API_KEY": "wrong-secret-key"})
    assert result.returncode == 4
    assert "Invalid API Key" in result.stderr and "wrong-secret-key" not in result.stderr + result.stdout
    ok = ask("hello", "--server", llama_server_auth.url, "-n", "4", env={"LLAMA_API_KEY": llama_server_auth.api_key})
    assert ok.returncode == 0, ok.stderr


def test_health_prints_status_and_model_facts(llama_server) -> None:
    result = ask("--health", "--server", llama_server.url)
    assert result.returncode == 0, result.stderr
    assert "status: ok" in result.stdout
    assert re.search(r"context: 4096 tokens\s+slots: 2", result.stdout)


def test_unknown_template_is_a_usage_error(llama_server) -> None:
    result = ask("hello", "--server", llama_server.url, "--template", "nope")
    assert result.returncode == 2
    assert "chatml" in result.stderr


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_do_not_import_textual(argv: list[str], tmp_path: Path) -> None:
    code = (
        "import sys, runpy; sys.argv=['llama-tui', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('llama_tui', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "llama-tui" in result.stdout


@pytest.mark.parametrize(("argv", "stdin"), [(["", "-n", "8"], None), (["-n", "8"], ""), (["-n", "8"], " \n\n")])
def test_an_empty_prompt_is_a_usage_error_and_generates_nothing(
    llama_server, argv: list[str], stdin: str | None
) -> None:
    result = ask(*argv, "--server", llama_server.url, "--template", "chatml", stdin=stdin)
    assert result.returncode == 2, result.stderr
    assert "the prompt is empty" in result.stderr
    assert result.stdout == ""


def test_a_grammar_file_gives_exactly_yes_or_no(llama_server, tmp_path: Path) -> None:
    grammar = tmp_path / "yes-no.gbnf"
    grammar.write_text('root ::= "yes" | "no"\n')
    for seed in ("1", "2", "3"):
        result = ask("Is it?", "--server", llama_server.url, "--grammar-file", str(grammar), "--seed", seed, "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["content"] in ("yes", "no") and data["constrained"] == "grammar"


def test_a_bad_grammar_is_refused_with_where_and_nothing_is_sent(llama_server, tmp_path: Path) -> None:
    grammar = tmp_path / "bad.gbnf"
    grammar.write_text('root ::= "yes" | maybe\n')
    result = ask("Is it?", "--server", f"http://127.0.0.1:{closed_port()}", "--grammar-file", str(grammar))
    # Refused before any connection (the server address is closed): exit 2, line and column.
    assert result.returncode == 2 and result.stdout == ""
    assert "grammar: line 1, column 18: rule 'maybe' is used but never defined" in result.stderr


def test_the_servers_refusal_of_a_grammar_is_its_own_message(llama_server, tmp_path: Path) -> None:
    grammar = tmp_path / "token.gbnf"
    grammar.write_text("root ::= <nosuchtoken>\n")  # only the model's vocabulary can say
    result = ask("Is it?", "--server", llama_server.url, "--grammar-file", str(grammar))
    assert result.returncode == 4 and result.stdout == ""
    assert "failed to parse grammar" in result.stderr


def test_a_json_schema_gives_json_that_validates(llama_server, tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}))
    result = ask("JSON?", "--server", llama_server.url, "--json-schema", str(schema), "-n", "300", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(json.loads(data["content"])["n"], int)
    assert data["constrained"] == "json_schema" and data["schema_ok"] is True


def test_params_and_logit_bias_are_checked_and_sent(llama_server) -> None:
    bad = ask("hi", "--server", llama_server.url, "--param", "repeat_last_n=-1")
    assert bad.returncode == 2 and "repeat_last_n must be at least 0" in bad.stderr
    result = ask(
        "hi", "--server", llama_server.url, "-n", "300", "--param", "ignore_eos=true",
        "--logit-bias", '" the"=30', "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["timings"]["predicted_n"] == 300  # ignore_eos: ran to n_predict
    assert data["content"].count(" the") > 250  # the boost went through (the noise alone: a handful)
