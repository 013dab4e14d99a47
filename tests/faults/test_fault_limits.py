"""Issue 14, items 10 and 12 (config): resource limits. The managed server's log stays bounded
however much the child prints; every number in the config has a range; a default template that
does not exist is refused when the file is read, not at every send; saving a preset keeps the
user's file (comments, layout) as written.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from llama_tui.config import load_config
from llama_tui.config_files import save_preset
from llama_tui.server import ManagedServer
from tests.harness.cli import run_cli

NOWHERE = "http://127.0.0.1:9"


# -- the managed server's log ----------------------------------------------------------------------


async def test_a_chatty_server_log_is_rotated_while_it_runs(tmp_path: Path) -> None:
    # Injected: a "llama-server" that prints 24 MB of log lines and then keeps running.
    chatty = tmp_path / "llama-server"
    chatty.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        "line = b'srv  log_server_r: request: GET /health 127.0.0.1 200 ' + b'x' * 40 + b'\\n'\n"
        "for _ in range(24 * 1024 * 1024 // len(line)):\n"
        "    sys.stdout.buffer.write(line)\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)\n"
    )
    chatty.chmod(0o755)
    log = tmp_path / "logs" / "llama-server.log"
    server = ManagedServer(tmp_path / "model.gguf", binary=chatty, log_path=log, max_log_bytes=2 * 1024 * 1024)
    server.start()
    try:
        total = 0
        async for batch in server.line_batches():
            total += len(batch)
            if total >= 24 * 1024 * 1024 // 96 - 10:
                break
    finally:
        await server.stop(grace=1.0)
    sizes = {p.name: p.stat().st_size for p in log.parent.iterdir()}
    # Bounded on disk: the live log and one older generation, each about max_log_bytes.
    assert set(sizes) == {"llama-server.log", "llama-server.log.1"}
    assert all(size <= 2 * 1024 * 1024 + 65536 for size in sizes.values()), sizes
    assert log.read_bytes().endswith(b"x\n")  # the newest lines are in the live file


# -- every number of the config has a range; the default template must exist ----------------------


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("health_interval = 0.000001\n", "health_interval must be between 0.1 and 3600 seconds"),
        ("read_timeout = 1e12\n", "read_timeout must be between 1 and 86400 seconds"),
        ("connect_timeout = inf\n", "connect_timeout must be more than 0 seconds"),
        ("trash_days = -1\n", "trash_days must be between 0 and 36500 days"),
        ("[server.launch]\nstop_grace = 100000\n", "[server.launch] stop_grace must be between 0.1 and 600 seconds"),
        ('default_template = "nope"\n', "default_template: no template 'nope'"),
        ('default_template = "chatmll"\n', "did you mean 'chatml'"),
        ('[servers.gpu]\nurl = "http://gpu:8080"\ndefault_template = "nope"\n', "[servers.gpu] default_template"),
    ],
    ids=["health-1us", "read-timeout-huge", "connect-inf", "trash-negative", "stop-grace", "nope", "typo", "server"],
)
async def test_out_of_range_numbers_and_unknown_templates_are_refused_at_start(
    tmp_path: Path, content: str, said: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(content)
    run = await run_cli("ask", "--health", "--config", str(config), "--server", NOWHERE)
    assert run.returncode == 2, run.err
    assert str(config) in run.err and said in run.err and "Traceback" not in run.err


def test_a_default_template_of_the_users_own_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('default_template = "mine"\n[templates.mine]\nuser_prefix = "U: "\n')
    assert load_config(config).default_template == "mine"


# -- saving a preset keeps the user's file ---------------------------------------------------------

USER_FILE = """\
# My llama-tui settings. Keep this comment!
server_url = "http://127.0.0.1:8080"   # the box under the desk

[presets.precise]  # for code
temperature = 0.2
top_k = 20

# templates after presets, on purpose
[templates.my-format]
user_prefix = "### User:\\n"
"""


def test_saving_a_preset_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE)
    path.chmod(0o640)
    save_preset(path, "creative", {"temperature": 1.1, "seed": 7})
    text = path.read_text()
    # Everything the user wrote is still there, as written, in order; the new preset is added.
    for line in USER_FILE.splitlines():
        assert line in text
    assert text.index("[presets.precise]") < text.index("[presets.creative]") < text.index("[templates.my-format]")
    assert tomllib.loads(text)["presets"]["creative"] == {"temperature": 1.1, "seed": 7}
    assert load_config(path).presets["precise"] == {"temperature": 0.2, "top_k": 20}
    assert path.stat().st_mode & 0o777 == 0o640
    # Replacing a preset changes only that table.
    save_preset(path, "precise", {"temperature": 0.1})
    again = path.read_text()
    assert "# My llama-tui settings. Keep this comment!" in again and "# templates after presets, on purpose" in again
    assert load_config(path).presets["precise"] == {"temperature": 0.1}
