"""Start and stop a real llama-server for integration tests.

Stdlib only (subprocess, socket, urllib): the harness must not depend on the client under test.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-llama-server.sh"

# Environment variables llama-server reads as defaults for its flags: dropped from the child's
# environment so a developer's shell settings cannot change what the tests run against.
_SERVER_ENV_PREFIXES = ("LLAMA_ARG_",)
_SERVER_ENV_NAMES = ("LLAMA_API_KEY",)


class LlamaServerError(RuntimeError):
    pass


class _BindError(LlamaServerError):
    pass


def find_llama_server() -> Path:
    """The llama-server binary: ``$LLAMA_SERVER_BIN`` if set, else the one ``scripts/build-llama-server.sh``
    prints (building and caching it first if needed, about 5 minutes). Raises if that fails: never skips."""
    env_bin = os.environ.get("LLAMA_SERVER_BIN")
    if env_bin:
        path = Path(env_bin)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LlamaServerError(f"LLAMA_SERVER_BIN={env_bin} is not an executable file")
        return path

    proc = subprocess.Popen(
        ["bash", str(BUILD_SCRIPT)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    tail: collections.deque[str] = collections.deque(maxlen=60)
    # Forward the build's progress to the real stderr (pytest captures sys.stderr), keep the tail.
    for line in proc.stderr:
        tail.append(line)
        with contextlib.suppress(Exception):
            sys.__stderr__.write(line)  # type: ignore[union-attr]
    out = proc.stdout.read()
    rc = proc.wait()
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if rc != 0 or not lines:
        raise LlamaServerError(f"{BUILD_SCRIPT.name} failed (exit {rc}):\n{''.join(tail)}{out}")
    path = Path(lines[-1].strip())
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise LlamaServerError(f"{BUILD_SCRIPT.name} printed {path}, which is not an executable file")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """A llama-server subprocess on a free loopback port.

    ``model=None, models_dir=DIR`` starts router mode (``--models-dir``): ``GET /models`` lists every
    ``*.gguf`` in DIR by file stem, requests name one with ``"model"``, the router loads it in a child
    llama-server on first use (``POST /models/load`` / ``/models/unload`` also work); ``ctx_size``,
    ``parallel`` and ``threads`` are passed on to the children.

    ``ctx_size`` is the ``-c`` value: the total KV size. With ``parallel`` slots and no ``--kv-unified``,
    each slot (and ``/props`` ``default_generation_settings.n_ctx``) gets ``ctx_size // parallel`` tokens.

    Use as a context manager, or call ``start()`` / ``stop()``. ``kill()`` (SIGKILL), ``suspend()`` /
    ``resume()`` (SIGSTOP / SIGCONT: the server stays connected but silent) and ``restart()`` (same port)
    are for fault tests. Everything the server prints goes to ``log_path``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        binary: Path | str,
        model: Path | str | None,
        *,
        models_dir: Path | str | None = None,
        extra_args: Sequence[str] = (),
        api_key: str | None = None,
        ctx_size: int = 4096,
        parallel: int = 1,
        metrics: bool = False,
        threads: int = 1,
        log_dir: Path | str | None = None,
    ) -> None:
        self.binary = Path(binary)
        if model is None and models_dir is None:
            raise ValueError("need a model, or a models_dir for router mode")
        self.model = Path(model) if model is not None else None
        self.models_dir = Path(models_dir) if models_dir is not None else None
        self.extra_args = tuple(extra_args)
        self.api_key = api_key
        self.ctx_size = ctx_size
        self.parallel = parallel
        self.metrics = metrics
        self.threads = threads
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.port: int | None = None
        self.log_path: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    # -- properties --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise LlamaServerError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def command(self, port: int) -> list[str]:
        cmd = [
            str(self.binary),
            "--host", self.host,
            "--port", str(port),
            "-c", str(self.ctx_size),
            "-np", str(self.parallel),
            "-t", str(self.threads),
            "--no-webui",
            "--jinja",  # the default in this build; explicit so /apply-template always renders the model's Jinja
        ]  # fmt: skip
        if self.model is not None:
            cmd += ["-m", str(self.model)]
        if self.models_dir is not None:
            cmd += ["--models-dir", str(self.models_dir)]
        if self.metrics:
            cmd.append("--metrics")
        if self.api_key is not None:
            cmd += ["--api-key", self.api_key]
        cmd += self.extra_args
        return cmd

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> LlamaServer:
        """Start on a free port (or the previous one after ``stop``/``kill``, see ``restart``) and wait
        until ``GET /health`` answers 200. Raises with the log tail if the server exits or times out."""
        if self.running:
            raise LlamaServerError(f"already running (pid {self.pid})")
        keep_port = self.port
        attempts = 1 if keep_port is not None else 3
        for attempt in range(attempts):
            port = keep_port if keep_port is not None else free_port(self.host)
            try:
                self._start_once(port, timeout)
                return self
            except _BindError:
                # Another process may take the free port between our probe and the server's bind.
                if attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")

    def _start_once(self, port: int, timeout: float) -> None:
        self.port = port
        if self.log_path is None:
            log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="llama-server-"))
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = log_dir / f"llama-server-{os.getpid()}-{id(self):x}.log"
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(_SERVER_ENV_PREFIXES) and k not in _SERVER_ENV_NAMES
        }
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            log_offset = log.tell()
            log.write(f"\n===== {' '.join(self.command(port))}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        atexit.register(self._atexit)
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                with open(self.log_path, "rb") as log:
                    log.seek(log_offset)
                    error = _BindError if b"couldn't bind" in log.read() else LlamaServerError
                raise error(f"llama-server exited with {self.proc.returncode} during startup\n{self.log_tail()}")
            status = self._health_status()
            if status == 200:
                self.startup_seconds = time.monotonic() - started
                return
            if time.monotonic() > deadline:
                self._terminate(signal.SIGKILL)
                raise LlamaServerError(
                    f"llama-server not healthy after {timeout}s (last /health: {status})\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def _health_status(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code  # 503 while the model loads
        except (OSError, urllib.error.URLError):
            return None  # not listening yet

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, wait, SIGKILL if it does not exit in ``timeout`` seconds. Keeps ``port`` for restart()."""
        self._terminate(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would. Keeps ``port`` for restart()."""
        self._terminate(signal.SIGKILL)

    def suspend(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (for read-timeout tests)."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout: float = 60) -> LlamaServer:
        """Stop (if running) and start again on the same port, so a client's URL stays valid."""
        self.stop()
        return self.start(timeout)

    def _terminate(self, sig: signal.Signals, timeout: float = 10) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)  # a suspended process cannot handle SIGTERM
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit)

    def _atexit(self) -> None:
        with contextlib.suppress(Exception):
            self._terminate(signal.SIGKILL)

    def __enter__(self) -> LlamaServer:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        model = self.model.name if self.model is not None else f"router:{self.models_dir}"
        return f"LlamaServer(model={model!r}, url={self.url if self.port else None!r}, pid={self.pid})"

    # -- diagnostics and small stdlib HTTP helpers ----------------------------------------------------------

    def log_tail(self, n: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        lines = self.log_path.read_text(errors="replace").splitlines()
        return f"--- last {min(n, len(lines))} lines of {self.log_path} ---\n" + "\n".join(lines[-n:])

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.api_key is not None:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 30, auth: bool = True
    ) -> tuple[int, bytes]:
        """Any request; returns (status, body bytes) for every status, never raises on HTTP errors."""
        data = json.dumps(body).encode() if body is not None else None
        headers = self.headers() if auth else {"Content-Type": "application/json"}
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, path: str, *, timeout: float = 30) -> Any:
        status, raw = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise LlamaServerError(f"GET {path}: {status} {raw[:500]!r}")
        return json.loads(raw)

    def post_json(self, path: str, body: Any, *, timeout: float = 60) -> Any:
        status, raw = self.request("POST", path, body, timeout=timeout)
        if status != 200:
            raise LlamaServerError(f"POST {path}: {status} {raw[:500]!r}")
        return json.loads(raw)

    def stream(self, path: str, body: Any, *, timeout: float = 60) -> Iterator[Any]:
        """POST with ``"stream": true`` and yield each ``data:`` event's JSON (stdlib SSE reader)."""
        data = json.dumps({**body, "stream": True}).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method="POST", headers=self.headers())
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            for raw in resp:
                line = raw.rstrip(b"\r\n")
                if line.startswith(b"data:"):
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        return
                    yield json.loads(payload)
