"""Run llama-server as a child of llama-tui: `llama-tui --model PATH.gguf`. No Textual import.

`ManagedServer` starts `llama-server -m MODEL --host 127.0.0.1 --port <free port> [user args]`,
copies everything it prints into a log file and keeps the recent lines for a log panel
(`lines()` / `line_batches()`), waits for `GET /health` to answer 200 (`wait_healthy`, which
reports loading progress read from the log), and stops it with SIGTERM, then SIGKILL after a
grace period (`stop`, or `terminate` when no event loop is running).

The child never outlives the app:

- On Linux the child asks the kernel for SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG,
  SIGKILL)` in a `preexec_fn`, through ctypes), so even a SIGKILLed or crashed llama-tui leaves no
  orphan. The kernel sends the signal when the *thread* that forked the child ends, so call
  `start()` from a thread that lives as long as the app: the main thread (where Textual's event
  loop runs), never from a `@work(thread=True)` worker or `asyncio.to_thread`.
- The child runs in its own session (`start_new_session=True`): Ctrl-C in the terminal reaches
  llama-tui only, which then stops the server itself (once), and `stop()` signals the whole
  process group (so the model instances a router-mode server spawns go too).
- Everywhere, an `atexit` handler terminates a server that is still running when Python exits
  normally. That is the only safety net off Linux (macOS, BSD, Windows have no PDEATHSIG): a
  llama-tui killed by SIGKILL there leaves llama-server running until it next writes to its
  closed log pipe (which kills it with SIGPIPE) or someone kills it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .args import automatic_flags, check_user_args, cpu_has_amx, flag_value
from .binary import HOW_TO_GET, LOOPBACK, find_binary, free_port, spawn
from .errors import ManagedServerError, ServerBinaryMissing, ServerStartError
from .log import READY, LoadProgress, error_summary
from .output import ServerOutput

if TYPE_CHECKING:
    import aiohttp  # imported where used: it is a tenth of a second of the TUI's start-up


_MAX_PARTIAL = 64 * 1024  # a "line" longer than this without a newline is passed on as it is


class ManagedServer:
    """One llama-server child process serving `model` on a free loopback port.

    The port is chosen when the object is made, so `url` can be handed to the client before the
    server starts. `start()` spawns the process (quick; call it from the main thread, see the
    module docstring); `await wait_healthy()` waits until it serves. `await stop()` (or `terminate()`
    without an event loop) stops it. `async with ManagedServer(...) as server:` does all three.

    `args` are extra llama-server flags, passed after llama-tui's own; `-m/--model`, `--host` and
    `--port` are refused there (llama-tui sets them). `api_key`, if given, reaches the server
    through its LLAMA_API_KEY environment variable, not argv, so `ps` does not show it.
    `slot_save_dir` (the app passes `default_slot_save_dir()`) adds `--slot-save-path DIR` (made
    0700 at start) for chat/slot_cache.py; a `--slot-save-path` in `args` wins.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        binary: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
        log_path: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        keep_lines: int = 5000,
        max_log_bytes: int = 8 * 1024 * 1024,
        slot_save_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.binary = find_binary(binary)
        self.model = Path(model).expanduser()
        self.args = check_user_args(args)
        user_dir = flag_value(self.args, "--slot-save-path")
        self._add_slot_flag = user_dir is None and slot_save_dir is not None
        chosen = user_dir if user_dir is not None else slot_save_dir
        # Where the server writes slot files, and whether restored caches of SWA models are usable.
        self.slot_save_dir: Path | None = Path(chosen).expanduser() if chosen is not None else None
        self.swa_full = "--swa-full" in self.args
        server_env = env if env is not None else os.environ
        self.auto_args = automatic_flags(self.args, server_env, amx=cpu_has_amx())  # e.g. --no-repack on AMX
        self.host = LOOPBACK
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port(self.host)
        self._log_path = Path(log_path).expanduser() if log_path is not None else None
        self._api_key = api_key
        self._env = dict(env) if env is not None else None
        self.output = ServerOutput(keep_lines, max_log_bytes)  # the lines kept, the log file, the progress
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._started_at: float | None = None
        self.startup_seconds: float | None = None
        """Seconds from start() to the first healthy /health, once wait_healthy saw it."""

    # -- properties ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """None while running (or before start); the exit code after (negative: killed by signal)."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        """Everything the server printed (appended to across starts, private 0600, rotated as soon
        as it passes max_log_bytes, even while the server runs). A temporary file unless log_path
        was given; it is kept after the server stops, for the user to read."""
        if self._log_path is None:
            self._log_path = Path(tempfile.mkdtemp(prefix="llama-tui-server-")) / "llama-server.log"
        return self._log_path

    @property
    def progress(self) -> LoadProgress:
        """The latest start-up progress read from the log."""
        return self.output.progress

    def command(self) -> list[str]:
        """The argv the server is started with."""
        return [
            str(self.binary),
            "-m", str(self.model),
            "--host", self.host,
            "--port", str(self.port),
            *self.auto_args,
            *(["--slot-save-path", str(self.slot_save_dir)] if self._add_slot_flag else []),
            *self.args,
        ]  # fmt: skip

    def __repr__(self) -> str:
        return f"ManagedServer(model={self.model.name!r}, url={self.url!r}, pid={self.pid})"

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn llama-server (returns at once; see wait_healthy). Call from the main thread."""
        if self.running:
            raise ManagedServerError(f"llama-server is already running (pid {self.pid})")
        if threading.current_thread() is not threading.main_thread() and sys.platform.startswith("linux"):
            import warnings

            warnings.warn(
                "ManagedServer.start() outside the main thread: llama-server gets SIGKILL when this thread ends",
                RuntimeWarning,
                stacklevel=2,
            )
        if self._reader is not None:  # the previous run's output must be all in before we go on
            self._reader.join(2.0)
        log_path = self.log_path
        log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._add_slot_flag and self.slot_save_dir is not None:
            try:  # llama-server refuses to start if the directory does not exist
                self.slot_save_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as e:
                raise ManagedServerError(f"cannot create the slot cache folder {self.slot_save_dir}: {e}") from e
        with contextlib.suppress(OSError):  # one old generation is kept: NAME.1
            if log_path.stat().st_size > self.output.max_log_bytes:
                os.replace(log_path, log_path.with_name(log_path.name + ".1"))
        # Private: at higher verbosities llama-server logs prompts. Closed by the reader thread.
        log = os.fdopen(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        try:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.command())}\n".encode())
            log.flush()
            env = dict(os.environ if self._env is None else self._env)
            if self._api_key:
                env["LLAMA_API_KEY"] = self._api_key
            try:
                proc = spawn(self.command(), env)
            except OSError as e:
                raise ServerBinaryMissing(f"cannot run {self.binary}: {e.strerror or e}\n{HOW_TO_GET}") from e
        except BaseException:
            log.close()
            raise
        self._proc = proc
        self._started_at = time.monotonic()
        self.startup_seconds = None
        self.output.restart()
        atexit.register(self._atexit)
        self._reader = threading.Thread(
            target=self._read_output, args=(proc, log), name=f"llama-server-{proc.pid}-log", daemon=True
        )
        self._reader.start()

    # -- output ----------------------------------------------------------------------------------

    def _read_output(self, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        """Reader thread: copy the child's output to the log file and the line buffer."""
        assert proc.stdout is not None
        self.output.read(proc.stdout, log, self.log_path)

    async def line_batches(self, *, from_start: bool = True) -> AsyncIterator[list[str]]:
        """Lists of new output lines as they come, until the server exits (ServerOutput.batches)."""
        async for batch in self.output.batches(lambda: self._proc is not None, from_start=from_start):
            yield batch

    async def lines(self, *, from_start: bool = True) -> AsyncIterator[str]:
        """The server's output line by line (see line_batches)."""
        async for batch in self.line_batches(from_start=from_start):
            for line in batch:
                yield line

    def recent_lines(self, n: int | None = None) -> list[str]:
        """The last `n` lines kept (all kept lines if n is None)."""
        return self.output.recent(n)

    def log_tail(self, n: int = 30) -> str:
        """The last `n` lines, headed by where the whole log is: for error messages."""
        lines = self.recent_lines(n)
        if not lines:
            return f"(llama-server printed nothing; log: {self.log_path})"
        return f"--- last {len(lines)} lines of {self.log_path} ---\n" + "\n".join(lines)

    # -- health ----------------------------------------------------------------------------------

    async def wait_healthy(
        self,
        timeout: float = 300.0,
        *,
        on_progress: Callable[[LoadProgress], object] | None = None,
        poll_interval: float = 0.05,
    ) -> float:
        """Wait until GET /health answers 200; returns the seconds since start().

        503 ("Loading model") counts as progress. `on_progress` is called (in the caller's thread,
        so it may touch the UI) whenever the phase or fraction read from the log changes. Raises
        ServerStartError with the first error line and the log tail if the server exits, and
        stops the server and raises if it is not healthy within `timeout` seconds. If the port
        was taken between choosing and binding it (and no port was given), retries once on a new
        port: `url` changes then."""
        if self._proc is None:
            self.start()
        started = self._started_at or time.monotonic()
        deadline = time.monotonic() + timeout
        reported: LoadProgress | None = None
        if on_progress is not None:  # before the import below (a tenth of a second): a tiny model is up by then
            reported = self.output.progress
            on_progress(reported)
        delay = poll_interval
        port_retries = 0 if self._fixed_port else 2
        import aiohttp

        http_timeout = aiohttp.ClientTimeout(total=2.0)
        async with aiohttp.ClientSession(timeout=http_timeout) as http:
            while True:
                if on_progress is not None and self.output.progress != reported:
                    reported = self.output.progress
                    on_progress(reported)
                proc = self._proc
                assert proc is not None
                if proc.poll() is not None:
                    await self._join_reader()
                    if self.output.progress.phase == "port in use" and port_retries > 0:
                        port_retries -= 1
                        self.port = free_port(self.host)
                        self.start()
                        continue
                    raise self._exit_error(proc.returncode)
                status = await _health_status(http, self.url)
                if status == 200:
                    self.startup_seconds = time.monotonic() - started
                    self.output.progress = READY
                    if on_progress is not None:
                        on_progress(READY)
                    return self.startup_seconds
                if status == 503 and self.output.progress.phase in ("starting", "listening"):
                    self.output.progress = LoadProgress("loading model", self.output.progress.fraction)
                if time.monotonic() > deadline:
                    tail = self.log_tail()
                    await self.stop(grace=2.0)
                    raise ServerStartError(
                        f"llama-server was not ready after {timeout:g} s (last: {self.progress}); stopped it.\n{tail}",
                        log_tail=tail,
                        returncode=self.returncode,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 0.5)

    def _exit_error(self, returncode: int | None) -> ServerStartError:
        tail = self.log_tail()
        why = error_summary(self.recent_lines(200))
        how = f"with code {returncode}" if returncode is None or returncode >= 0 else f"by signal {-returncode}"
        message = f"llama-server exited {how} while starting"
        message += f": {why}" if why else ""
        return ServerStartError(f"{message}\n{tail}", log_tail=tail, returncode=returncode)

    # -- stop ------------------------------------------------------------------------------------

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:  # reaped: its pid may belong to someone else now
            return
        if os.name == "posix":
            try:
                os.killpg(proc.pid, sig)  # its own session and group (start_new_session)
                return
            except (ProcessLookupError, PermissionError):
                pass
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        elif sig == signal.SIGTERM:
            proc.terminate()
        elif sig != getattr(signal, "SIGCONT", None):
            proc.kill()

    async def wait(self, timeout: float | None = None) -> int | None:
        """Wait (without blocking the loop) until the server exits; its exit code, or None if it
        was never started or still runs after `timeout` seconds."""
        proc = self._proc
        if proc is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while proc.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)
        return proc.returncode

    async def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM (the server finishes cleanly), then SIGKILL if it is still running after `grace`
        seconds. Returns the exit code (None if it was never started). Safe to call twice.

        Stop polling it first (cancel the workers, close the client): a /slots (or /metrics)
        request that reaches llama-server while it shuts down is never answered and keeps it
        from exiting (seen with build b1-0c1e570), so it then only goes at the SIGKILL."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(AttributeError):
                self._signal(signal.SIGCONT)  # a stopped (SIGSTOP) process cannot act on SIGTERM
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if proc.poll() is None:
                self._signal(signal.SIGKILL)
                while proc.poll() is None:
                    await asyncio.sleep(0.02)
        await self._join_reader()
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit)
        return proc.returncode

    def terminate(self, grace: float = 5.0) -> int | None:
        """Blocking stop() for code without a running event loop (atexit, after App.run())."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(AttributeError):
                self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait()
        if self._reader is not None:
            self._reader.join(2.0)
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit)
        return proc.returncode

    async def _join_reader(self) -> None:
        reader = self._reader
        deadline = time.monotonic() + 2.0
        while reader is not None and reader.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _atexit(self) -> None:
        with contextlib.suppress(Exception):
            self.terminate(grace=3.0)

    async def __aenter__(self) -> ManagedServer:
        try:
            await self.wait_healthy()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


async def _health_status(http: aiohttp.ClientSession, url: str) -> int | None:
    """The /health status code, or None if nothing answers yet."""
    import aiohttp

    try:
        async with http.get(url + "/health") as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None
