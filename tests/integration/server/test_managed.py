"""ManagedServer with the real llama-server binary and the tiny model: start, health, log lines,
stop, no orphan after the app is SIGKILLed, clear errors for a missing binary or a bad model."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llama_tui.client import AuthenticationError, LlamaCppClient
from llama_tui.server import (
    READY,
    STARTING,
    LoadProgress,
    ManagedServer,
    ManagedServerError,
    ServerBinaryMissing,
    ServerStartError,
    find_binary,
    progress_from_line,
)
from llama_tui.server.args import cpu_has_amx

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_ARGS = ["-t", "1", "-c", "2048", "--no-webui"]


def gone(pid: int) -> bool:
    """No such process, or only a zombie left (dead; its new parent has not reaped it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


# -- pure parts (no server) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "phase"),
    [
        ("0.00.003.833 I srv    load_model: loading model '/m.gguf'", "loading model"),
        ("0.00.008.805 I srv    load_model: initializing, n_slots = 2, n_ctx_slot = 4096", "initializing slots"),
        ("0.00.014.491 I srv  llama_server: model loaded", "model loaded"),
        ("0.00.014.509 I srv  llama_server: listening on http://127.0.0.1:18777", "listening"),
        ("warming up the model with an empty run - please wait ... (--no-warmup to disable)", "warming up"),
        ("0.00.001.902 E srv  start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 1", "port in use"),
    ],
)
def test_progress_phases_from_real_log_lines(line: str, phase: str) -> None:
    assert progress_from_line(line) == LoadProgress(phase)


def test_progress_dots_and_percentages() -> None:
    loading = LoadProgress("loading model")
    assert progress_from_line("." * 37, loading) == LoadProgress("loading model", 0.37)
    assert progress_from_line("." * 100, loading) == LoadProgress("loading model", 1.0)
    assert progress_from_line("model.gguf  45.5% |#####     |", loading) == LoadProgress("loading model", 0.455)
    assert progress_from_line("nothing to see", loading) is loading
    assert progress_from_line("", loading) is loading
    assert str(LoadProgress("loading model", 0.37)) == "loading model 37%"
    assert str(STARTING) == "starting"


def test_missing_binary_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing called llama-server here
    with pytest.raises(ServerBinaryMissing) as info:
        ManagedServer(tmp_path / "model.gguf")
    message = str(info.value)
    assert "no llama-server found on PATH" in message
    assert "cmake" in message
    assert "pip download --no-deps --no-binary :all: llama-cpp-python" in message
    assert "scripts/build-llama-server.sh" in message
    assert "llama_server_bin" in message and "[server.launch]" in message

    not_executable = tmp_path / "llama-server"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(ServerBinaryMissing, match="is not an executable file"):
        find_binary(not_executable)
    with pytest.raises(ServerBinaryMissing, match="is not an executable file"):
        find_binary(tmp_path / "nowhere" / "llama-server")


def test_binary_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_binary() == fake
    server = ManagedServer(tmp_path / "m.gguf", args=["-c", "512"])
    assert server.binary == fake
    model = str(tmp_path / "m.gguf")
    auto = ["--no-repack"] if cpu_has_amx() else []  # see server/args.py
    assert server.command()[1:] == ["-m", model, "--host", "127.0.0.1", "--port", str(server.port), *auto, "-c", "512"]
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.pid is None and server.returncode is None and not server.running


@pytest.mark.parametrize("arg", ["--port", "--port=9000", "--host", "-m", "--model"])
def test_flags_llama_tui_sets_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arg: str) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    with pytest.raises(ManagedServerError, match="set by llama-tui"):
        ManagedServer(tmp_path / "m.gguf", binary=fake, args=[arg, "x"])


async def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\ntrap '' TERM\necho 'fake server up'\nwhile :; do sleep 1; done\n")
    fake.chmod(0o755)
    server = ManagedServer(tmp_path / "m.gguf", binary=fake, log_path=tmp_path / "fake.log")
    server.start()
    pid = server.pid
    assert pid is not None
    lines = server.lines()
    assert await asyncio.wait_for(anext(lines), 5) == "fake server up"
    t0 = time.monotonic()
    assert await server.stop(grace=0.5) == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - t0 < 3
    assert gone(pid)
    assert await asyncio.wait_for(anext(lines, None), 5) is None  # the output ended with it
    assert await server.wait() == -signal.SIGKILL


async def test_log_file_is_rotated_when_big(tmp_path: Path) -> None:
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\necho second run\n")
    fake.chmod(0o755)
    log_path = tmp_path / "server.log"
    log_path.write_text("old run\n" * 100)
    server = ManagedServer(tmp_path / "m.gguf", binary=fake, log_path=log_path, max_log_bytes=100)
    server.start()
    assert await server.wait(5) == 0
    await server.stop()
    assert (tmp_path / "server.log.1").read_text() == "old run\n" * 100
    assert log_path.read_text().endswith("second run\n")
    assert "old run" not in log_path.read_text()


# -- the real server ---------------------------------------------------------------------------------


async def test_start_healthy_props_lines_stop(llama_server_bin: Path, chatml_model: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "logs" / "server.log"
    server = ManagedServer(chatml_model, binary=llama_server_bin, args=SERVER_ARGS, log_path=log_path)
    progress: list[LoadProgress] = []
    t0 = time.monotonic()
    server.start()
    pid = server.pid
    assert pid is not None and server.running
    lines: list[str] = []

    async def follow() -> None:
        async for line in server.lines():
            lines.append(line)

    follower = asyncio.create_task(follow())
    try:
        seconds = await server.wait_healthy(60, on_progress=progress.append)
        print(
            f"\nManagedServer start -> healthy: {seconds * 1000:.0f} ms (wall {1000 * (time.monotonic() - t0):.0f} ms)"
        )
        assert seconds == server.startup_seconds
        assert progress[0] == STARTING and progress[-1] == READY and server.progress == READY
        # Its own session and process group: terminal Ctrl-C does not reach it.
        assert os.getpgid(pid) == pid != os.getpgid(0)
        async with LlamaCppClient(server.url) as client:
            props = await client.props()
            assert (await client.health()).ok
        assert Path(props.model_path).resolve() == chatml_model.resolve()
    finally:
        returncode = await server.stop()
    assert returncode == 0  # SIGTERM: llama-server cleans up and exits 0
    assert server.returncode == 0 and not server.running
    assert gone(pid), f"llama-server {pid} still exists after stop()"
    await asyncio.wait_for(follower, 5)  # lines() ends when the server exits
    assert any("listening on" in line for line in lines)
    assert any("cleaning up before exit" in line for line in lines)
    text = log_path.read_text()
    assert "model loaded" in text and f"--port {server.port}" in text
    assert log_path.stat().st_mode & 0o777 == 0o600
    assert server.recent_lines(2) == lines[-2:]
    assert await server.stop() == 0  # a second stop is harmless


async def test_app_killed_by_sigkill_leaves_no_orphan(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from llama_tui.server import ManagedServer

        async def main():
            server = ManagedServer(sys.argv[1], binary=sys.argv[2], log_path=sys.argv[3], args=sys.argv[4:])
            server.start()
            await server.wait_healthy(60)
            print(server.pid, flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            str(chatml_model),
            str(llama_server_bin),
            str(tmp_path / "app.log"),
            *SERVER_ARGS,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid: int | None = None
    try:
        assert app.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(app.stdout.readline), 60)
        server_pid = int(line)
        assert not gone(server_pid)
        os.kill(app.pid, signal.SIGKILL)  # no atexit, no finally: only the kernel can clean up
        app.wait(10)
        assert wait_gone(server_pid, 5.0), f"llama-server {server_pid} outlived its SIGKILLed parent"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        if server_pid is not None and not gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


async def test_missing_model_fails_fast_with_the_log_tail(llama_server_bin: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    server = ManagedServer(missing, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log")
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        await server.wait_healthy(60)  # starts it, too
    assert time.monotonic() - t0 < 10
    message = str(info.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith("llama-server exited with code 1 while starting:")
    assert "failed to open GGUF file" in first_line and str(missing) in first_line
    assert f"last {len(info.value.log_tail.splitlines()) - 1} lines of {server.log_path}" in message
    assert "exiting due to model loading error" in info.value.log_tail
    assert info.value.returncode == 1
    assert server.pid is not None and gone(server.pid)


async def test_not_a_model_fails_with_the_reason(llama_server_bin: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("this is not a GGUF file\n")
    server = ManagedServer(bogus, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log")
    with pytest.raises(ServerStartError, match="invalid magic"):
        await server.wait_healthy(60)


async def test_not_healthy_in_time_is_stopped_not_a_hang(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> None:
    server = ManagedServer(chatml_model, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log")
    server.start()
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # frozen before it can serve: /health never answers
    t0 = time.monotonic()
    with pytest.raises(ServerStartError, match=r"not ready after 1 s .*stopped it"):
        await server.wait_healthy(1.0)
    assert time.monotonic() - t0 < 8
    assert gone(pid)


async def test_port_taken_before_bind_is_retried(llama_server_bin: Path, chatml_model: Path, tmp_path: Path) -> None:
    server = ManagedServer(chatml_model, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log")
    taken = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            await server.wait_healthy(60)
            assert server.port != taken and server.url.endswith(f":{server.port}")
            async with LlamaCppClient(server.url) as client:
                assert (await client.health()).ok
        finally:
            await server.stop()


async def test_api_key_reaches_the_server_but_not_its_argv(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> None:
    server = ManagedServer(
        chatml_model, binary=llama_server_bin, args=SERVER_ARGS, api_key="s3cret-key", log_path=tmp_path / "server.log"
    )
    try:
        await server.wait_healthy(60)
        assert server.pid is not None
        assert b"s3cret-key" not in Path(f"/proc/{server.pid}/cmdline").read_bytes()
        async with LlamaCppClient(server.url) as anonymous:
            with pytest.raises(AuthenticationError):
                await anonymous.props()
        async with LlamaCppClient(server.url, "s3cret-key") as client:
            assert (await client.props()).total_slots >= 1
    finally:
        await server.stop()


def test_terminate_without_an_event_loop(llama_server_bin: Path, chatml_model: Path, tmp_path: Path) -> None:
    server = ManagedServer(chatml_model, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log")
    asyncio.run(server.wait_healthy(60))  # the loop is gone afterwards; the server is not
    pid = server.pid
    assert pid is not None and server.running
    assert server.terminate() == 0
    assert gone(pid)


async def test_the_slot_folder_is_made_private_and_the_server_saves_there(
    llama_server_bin: Path, chatml_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "cache" / "slots"
    server = ManagedServer(
        chatml_model, binary=llama_server_bin, args=SERVER_ARGS, log_path=tmp_path / "server.log", slot_save_dir=folder
    )
    async with server, LlamaCppClient(server.url) as client:
        assert await client.slot_files_enabled()
        saved = await client.save_slot(0, "empty.kv")
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert (folder / "empty.kv").stat().st_size == saved.n_written


async def test_the_real_gemma_model_runs_without_repack_flags(
    llama_server_bin: Path, gemma_model: Path, tmp_path: Path
) -> None:
    """On a CPU with AMX this build crashes (SIGSEGV in ggml_backend_amx_mul_mat) while warming up
    the Q4_K Gemma model unless weights are not repacked: the managed server adds --no-repack
    there by itself (server/args.py); the user passes no flag for it."""
    server = ManagedServer(
        gemma_model, binary=llama_server_bin, args=["-t", "2", "-c", "1024", "--no-webui"], log_path=tmp_path / "s.log"
    )
    async with server, LlamaCppClient(server.url) as client:
        answer = await client.complete("The capital of France is", n_predict=4, temperature=0.0)
    assert answer.final.tokens_predicted == 4
