"""HealthPoller: state changes reported once, backoff grows and is capped, poke wakes it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from llama_tui.chat.server_watch import HealthPoller, classify_error
from llama_tui.client import AuthenticationError, ConnectTimeout, Health, ModelLoading, ServerError, ServerUnreachable
from llama_tui.client.errors import API_KEY_HINT
from llama_tui.server_state import ServerState

OK = Health("ok")


class Script:
    """A fake health() that plays outcomes in order (an exception is raised), then blocks."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.done = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        if not self.outcomes:
            self.done.set()
            await asyncio.Event().wait()  # never returns; run() is cancelled from here
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Recorder:
    def __init__(self) -> None:
        self.states: list[tuple[ServerState, str]] = []

    def __call__(self, state: ServerState, detail: str) -> None:
        self.states.append((state, detail))


def fast_sleep(delays: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    return sleep


async def run_script(poller: HealthPoller, script: Script) -> None:
    task = asyncio.create_task(poller.run())
    await asyncio.wait_for(script.done.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_state_changes_are_reported_once() -> None:
    refused = ServerUnreachable("cannot connect: refused")
    script = Script([refused, ServerUnreachable("cannot connect: refused"), OK, OK])
    seen = Recorder()
    poller = HealthPoller(script, seen, sleep=fast_sleep([]), jitter=0)
    await run_script(poller, script)
    assert seen.states == [
        (ServerState.UNREACHABLE, "cannot connect: refused"),
        (ServerState.OK, ""),
    ]
    assert script.calls == 5


async def test_detail_change_is_reported() -> None:
    script = Script([ServerUnreachable("refused"), ConnectTimeout("no answer in 10s"), ModelLoading("Loading model")])
    seen = Recorder()
    await run_script(HealthPoller(script, seen, sleep=fast_sleep([]), jitter=0), script)
    assert seen.states == [
        (ServerState.UNREACHABLE, "refused"),
        (ServerState.UNREACHABLE, "no answer in 10s"),
        (ServerState.LOADING, ""),
    ]


async def test_backoff_grows_and_is_capped() -> None:
    delays: list[float] = []
    script = Script([ServerUnreachable("down")] * 7 + [OK])
    poller = HealthPoller(script, Recorder(), base=2, max_interval=30, sleep=fast_sleep(delays), jitter=0)
    await run_script(poller, script)
    assert delays == [2, 4, 8, 16, 30, 30, 30, 2]  # back to base once OK


async def test_backoff_with_jitter_stays_within_cap() -> None:
    delays: list[float] = []
    script = Script([ServerUnreachable("down")] * 12)
    poller = HealthPoller(
        script, Recorder(), base=2, max_interval=30, jitter=0.5, rng=random.Random(7), sleep=fast_sleep(delays)
    )
    await run_script(poller, script)
    assert all(0 < d <= 30 for d in delays)
    assert delays[0] < delays[3]  # still grows despite the jitter
    assert delays[-1] >= 15


async def test_loading_polls_at_base_interval() -> None:
    delays: list[float] = []
    script = Script([ModelLoading("Loading model")] * 3)
    await run_script(HealthPoller(script, Recorder(), base=2, sleep=fast_sleep(delays), jitter=0), script)
    assert delays == [2, 2, 2]


async def test_poke_wakes_immediately() -> None:
    delays: list[float] = []

    async def slow_sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(3600)  # only a poke gets past this

    script = Script([OK])
    poller = HealthPoller(script, Recorder(), sleep=slow_sleep, jitter=0)
    task = asyncio.create_task(poller.run())
    for _ in range(20):
        await asyncio.sleep(0)
    assert script.calls == 1 and delays == [2.0]
    poller.poke()
    await asyncio.wait_for(script.done.wait(), 2)  # polled again at once, without the hour's sleep
    assert script.calls == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_auth_check_flips_to_auth_error() -> None:
    checks: list[Any] = [AuthenticationError("Invalid API Key", status=401), None]

    async def check() -> Any:
        outcome = checks.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    script = Script([OK, OK, OK])
    seen = Recorder()
    poller = HealthPoller(script, seen, check=check, sleep=fast_sleep([]), jitter=0)
    await run_script(poller, script)
    # Health OK but /props refused the key; the key later works (check runs again while not OK).
    assert seen.states == [(ServerState.AUTH_ERROR, f"Invalid API Key: {API_KEY_HINT}"), (ServerState.OK, "")]
    assert checks == []


async def test_check_runs_only_on_change_to_ok() -> None:
    calls = 0

    async def check() -> None:
        nonlocal calls
        calls += 1

    script = Script([OK, OK, OK, ServerUnreachable("down"), OK])
    await run_script(HealthPoller(script, Recorder(), check=check, sleep=fast_sleep([]), jitter=0), script)
    assert calls == 2


async def test_check_other_errors_keep_ok_and_sleeping_is_seen() -> None:
    class FakeProps:
        is_sleeping = True

    outcomes: list[Any] = [ServerError("boom", status=500), FakeProps()]

    async def check() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    script = Script([OK, ServerUnreachable("down"), OK])
    seen = Recorder()
    await run_script(HealthPoller(script, seen, check=check, sleep=fast_sleep([]), jitter=0), script)
    assert [s for s, _ in seen.states] == [ServerState.OK, ServerState.UNREACHABLE, ServerState.SLEEPING]


async def test_async_callback_and_clock() -> None:
    seen: list[ServerState] = []

    async def on_state(state: ServerState, detail: str) -> None:
        seen.append(state)

    script = Script([OK])
    poller = HealthPoller(script, on_state, sleep=fast_sleep([]), clock=lambda: 100.0, jitter=0)
    await run_script(poller, script)
    assert seen == [ServerState.OK]
    assert poller.next_poll_at == 102.0


def test_classify_error() -> None:
    assert classify_error(ServerUnreachable("x")) == (ServerState.UNREACHABLE, "x")
    assert classify_error(ConnectTimeout("t")) == (ServerState.UNREACHABLE, "t")
    assert classify_error(ModelLoading("Loading model")) == (ServerState.LOADING, "")
    # A refused key says which settings set it.
    assert classify_error(AuthenticationError("bad key")) == (ServerState.AUTH_ERROR, f"bad key: {API_KEY_HINT}")
    assert "api_key" in API_KEY_HINT and "LLAMA_API_KEY" in API_KEY_HINT
    assert classify_error(OSError("weird")) == (ServerState.UNREACHABLE, "weird")
    assert classify_error(RuntimeError()) == (ServerState.UNREACHABLE, "RuntimeError")


def test_state_labels() -> None:
    assert [s.label for s in ServerState] == ["ok", "loading model", "unreachable", "auth error", "sleeping", "…"]
    assert ServerState.AUTH_ERROR.css_class == "-auth-error"
