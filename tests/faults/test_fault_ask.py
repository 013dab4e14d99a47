"""Issue 14, items 3 and 9: `llama-tui ask` as a user runs it (a real process, on pseudo-terminals
where a terminal matters) against the fault server, which sends what a hostile or broken server
could: terminal controls in the answer and in errors, a garbage /props, NaN and huge timings.
"""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from tests.harness.cli import run_cli
from tests.harness.fault_server import FaultServer, event, final, json_error, token

# Every control that drove the terminal in the report: OSC 52 (clipboard), OSC 0 (title), clear
# screen, cursor report request, C1 CSI, an OSC 8 link, and a bracketed-paste end marker.
NASTY = [
    "Hi\x1b]52;c;cm0gLXJmIH4=\x07",
    " \x1b]0;pwned\x07",
    "\x1b[2J",
    "\x1b[6n",
    " \x9b31m red",
    " \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    " \x1b[201~ end",
    "\r\n done",
]
ANSWER = "".join(NASTY)


def controls(data: bytes) -> list[str]:
    """Control characters a terminal would act on (anything but LF and TAB), and raw C1 bytes."""
    text = data.decode("utf-8", "replace")
    return [repr(c) for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def nasty_server(fs: FaultServer) -> None:
    fs.completion = lambda r: fs.stream(r, [*(token(t) for t in NASTY), final(len(NASTY))])


async def test_answer_with_terminal_controls_is_neutralised_on_a_terminal() -> None:
    async with FaultServer() as fs:
        nasty_server(fs)
        run = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", tty=True)
    assert run.returncode == 0, run.err
    assert controls(run.stdout) == [] and controls(run.stderr) == []
    # Visible stand-ins, so the user still sees something was there; CRLF is one line end.
    assert "Hi␛]52;c;cm0gLXJmIH4=␇" in run.out and "\\x9b31m red" in run.out and "␛[201~ end" in run.out
    assert run.out.endswith(" ␛[201~ end\n done\n")


async def test_server_error_with_terminal_controls_is_neutralised_on_stderr() -> None:
    async with FaultServer() as fs:
        fs.completion = lambda r: _ret(json_error(400, "bad \x1b]0;pwned\x07 \x1b[2J\x9b6n request", "invalid"))
        run = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", tty=True)
    assert run.returncode == 4
    assert controls(run.stderr) == [] and "bad ␛]0;pwned␇ ␛[2J\\x9b6n request" in run.err


async def test_raw_gives_the_exact_bytes_to_a_pipe_and_is_refused_on_a_terminal() -> None:
    async with FaultServer() as fs:
        nasty_server(fs)
        piped = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", "--raw")
        default_pipe = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml")
        on_tty = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", "--raw", tty=True)
    assert piped.returncode == 0 and piped.out == ANSWER + "\n"
    assert default_pipe.returncode == 0 and controls(default_pipe.stdout) == []
    assert on_tty.returncode == 2 and on_tty.stdout == b"" and "only with stdout going to a pipe" in on_tty.err
    assert fs.hits.get("/completion") == 2  # the refused one never asked


async def test_json_output_escapes_every_control_and_is_the_same_json() -> None:
    async with FaultServer() as fs:
        nasty_server(fs)
        run = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", "--json", tty=True)
    assert run.returncode == 0, run.err
    assert controls(run.stdout) == []
    assert json.loads(run.out)["content"] == ANSWER


# -- item 9: a garbage /props, NaN and huge timings ----------------------------------------------


@pytest.mark.parametrize(
    "props",
    [b'"just a string"', b"[1, 2, 3]", b"42", b'{"default_generation_settings": [1], "total_slots": "many"}'],
    ids=["string", "list", "number", "wrong-fields"],
)
@pytest.mark.parametrize("mode", ["--health", "server-template"])
async def test_a_garbage_props_is_one_line_and_exit_4_never_a_traceback(props: bytes, mode: str) -> None:
    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(body=props, content_type="application/json")

    async def apply_template(request: web.Request) -> web.StreamResponse:
        return web.json_response({"prompt": "<s>hi"})

    async with FaultServer() as fs:
        fs.props = garbage
        fs.routes["/apply-template"] = apply_template
        args = ["--health"] if mode == "--health" else ["hi", "--template", "server"]
        run = await run_cli("ask", *args, "--server", fs.url)
    assert "Traceback" not in run.err
    if props.startswith(b"{"):  # an object with fields of the wrong type: defaults, and it works
        assert run.returncode == 0, run.err
        return
    assert run.returncode == 4, run.err
    assert run.err.count("\n") == 1 and run.err.startswith("llama-tui ask: /props: expected a JSON object")


@pytest.mark.parametrize(
    "timings",
    [
        b'{"predicted_n": NaN, "predicted_per_second": Infinity, "prompt_n": -Infinity, "cache_n": NaN}',
        b'{"predicted_n": 1' + b"0" * 400 + b', "prompt_per_second": 1e999, "prompt_n": 99999999999999999999999}',
    ],
    ids=["nan-infinity", "huge"],
)
async def test_nan_and_huge_timings_give_the_answer_without_a_traceback(timings: bytes) -> None:
    last = (
        b'data: {"content": "", "stop": true, "stop_type": "eos", "tokens_predicted": NaN, "id_slot": 1e400, '
        b'"tokens_cached": 1' + b"0" * 30 + b', "timings": ' + timings + b"}\n\n"
    )
    async with FaultServer() as fs:
        fs.completion = lambda r: fs.stream(r, [token("fine answer"), last])
        run = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml")
        as_json = await run_cli("ask", "hi", "--server", fs.url, "--template", "chatml", "--json")
    assert run.returncode == 0, run.err
    assert run.out == "fine answer\n" and "Traceback" not in run.err and "stop: eos" in run.err
    assert as_json.returncode == 0, as_json.err
    data = json.loads(as_json.out)  # valid JSON: no NaN or Infinity written
    assert data["content"] == "fine answer" and data["tokens_cached"] == 0


async def _ret(response: web.StreamResponse) -> web.StreamResponse:
    return response


_ = event


# -- item 13: a key that `ps` cannot show ---------------------------------------------------------


async def test_api_key_file_keeps_the_key_off_the_command_line(llama_server_auth, tmp_path) -> None:
    from tests.harness.fixtures import API_KEY

    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    with_file = await run_cli("ask", "--health", "--server", llama_server_auth.url, "--api-key-file", str(key_file))
    without = await run_cli("ask", "--health", "--server", llama_server_auth.url)
    missing = await run_cli(
        "ask", "--health", "--server", llama_server_auth.url, "--api-key-file", str(tmp_path / "no")
    )
    assert with_file.returncode == 0, with_file.err
    assert without.returncode == 4 and "Invalid API Key" in without.err
    assert missing.returncode == 2 and "--api-key-file" in missing.err and "Traceback" not in missing.err
    assert API_KEY not in with_file.out + with_file.err
