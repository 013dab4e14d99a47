"""HealthPoller: state changes reported once, backoff grows and is capped, poke wakes it.
ServerWatch: it follows sleep through /props and polls /slots only while something happens."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from llama_tui.chat.connection import ServerConnection
from llama_tui.chat.server_watch import HealthPoller, ServerWatch, classify_error
from llama_tui.client import (
    AuthenticationError,
    ConnectTimeout,
    Health,
    ModelLoading,
    Props,
    ServerError,
    ServerUnreachable,
    Slot,
)
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


# -- ServerWatch: /props to follow sleep, /slots only while something happens (#13.11) ----------


class FakeServer:
    """Stands in for the client: /health ok, /props (sleeping or not), /slots counted."""

    def __init__(self, *, sleeping: bool = False, busy: bool = False) -> None:
        self.sleeping = sleeping
        self.busy = busy
        self.slot_calls = 0
        self.model: str | None = None

    async def health(self) -> Health:
        return OK

    async def props(self) -> Props:
        return Props.from_json({"total_slots": 1, "is_sleeping": self.sleeping})

    async def slots(self) -> list[Slot]:
        self.slot_calls += 1
        return [Slot.from_json({"id": 0, "is_processing": self.busy})]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay
        await asyncio.sleep(0)


async def watch_for(server: FakeServer, seconds: float, **kw: Any) -> list[ServerState]:
    """Run a ServerWatch on `server` for `seconds` of fake time."""
    clock = Clock()
    states: list[ServerState] = []
    watch = ServerWatch(
        ServerConnection(server),  # type: ignore[arg-type]
        on_state=lambda state, detail: states.append(state),
        on_props=lambda props: None,
        on_slots=lambda slots: None,
        sleep=clock.sleep,
        clock=clock,
        **kw,
    )
    task = asyncio.create_task(watch.run())
    while clock.now < seconds:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return states


async def test_the_watch_never_wakes_a_sleeping_server() -> None:
    server = FakeServer(sleeping=True)
    states = await watch_for(server, 30.0)
    assert states[-1] is ServerState.SLEEPING
    assert server.slot_calls == 0  # /slots would wake it


async def test_slots_are_polled_only_while_something_happens() -> None:
    server = FakeServer()
    await watch_for(server, 40.0, active_window=10.0)
    assert 3 <= server.slot_calls <= 7  # the first 10 s after start, every 2 s; then left alone
    busy = FakeServer(busy=True)
    await watch_for(busy, 40.0, active_window=10.0)
    assert busy.slot_calls >= 18  # a busy slot keeps the watch looking


async def test_a_server_falling_asleep_is_seen() -> None:
    server = FakeServer()
    clock = Clock()
    states: list[ServerState] = []
    watch = ServerWatch(
        ServerConnection(server),  # type: ignore[arg-type]
        on_state=lambda state, detail: states.append(state),
        on_props=lambda props: None,
        on_slots=lambda slots: None,
        sleep=clock.sleep,
        clock=clock,
    )
    task = asyncio.create_task(watch.run())
    while ServerState.OK not in states:
        await asyncio.sleep(0)
    server.sleeping = True
    for _ in range(200):
        await asyncio.sleep(0)
        if states[-1] is ServerState.SLEEPING:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert states == [ServerState.OK, ServerState.SLEEPING]
