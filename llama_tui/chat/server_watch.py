"""Keep an eye on the server: health, model facts, slots. No Textual.

`HealthPoller` polls /health with backoff and reports state changes only, so a dead server does
not cause a storm of notifications. /health needs no API key, so a `check` is awaited whenever
health turns OK, to find out whether the key is accepted (and whether the server is asleep).

`ServerWatch` is what the screen runs: the poller, /props when the server becomes usable (model
facts, router mode) and every few seconds after (is it asleep?), and /slots every few seconds
while something happens (busy / total for the status bar). It reports through callbacks; the
screen never polls.

A sleeping llama-server (`--sleep-idle-seconds`) wakes, reloading its model, on /slots,
/tokenize and /apply-template, and every GET /slots counts as activity: polled every 2 s it never
falls asleep. /props and /health do neither (checked against b1-0c1e570). So the watch reads
/props to follow sleep, and /slots only within ACTIVE_WINDOW seconds of something happening (the
app starting, an answer of ours, a busy slot seen, the server waking up).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..client import Props, Slot
from ..client.errors import API_KEY_HINT, AuthenticationError, LlamaError, ModelLoading, NotSupported
from ..server_state import ServerState
from .connection import ServerConnection

HealthFn = Callable[[], Awaitable[Any]]
StateCallback = Callable[[ServerState, str], object]  # may return an awaitable

# States after which the next poll comes at the base interval; every other state backs off.
# LOADING is not a failure: the server is up, and we want to notice quickly when it is ready.
_STEADY = frozenset({ServerState.OK, ServerState.SLEEPING, ServerState.LOADING})


def classify_error(error: BaseException) -> tuple[ServerState, str]:
    """The state (and detail for the user) a failed health call or check means."""
    if isinstance(error, AuthenticationError):
        return ServerState.AUTH_ERROR, f"{error.message}: {API_KEY_HINT}"
    if isinstance(error, ModelLoading):
        return ServerState.LOADING, ""
    # ServerUnreachable, ConnectTimeout, ReadTimeout, 5xx, garbage...: the server is not usable.
    if isinstance(error, LlamaError):
        return ServerState.UNREACHABLE, error.message
    return ServerState.UNREACHABLE, str(error) or type(error).__name__


class HealthPoller:
    """Poll `health()` every `base` seconds while all is well; on failure back off exponentially
    (with +-`jitter` relative jitter) up to `max_interval`. `poke()` polls right away."""

    def __init__(
        self,
        health: HealthFn,
        on_state: StateCallback,
        *,
        check: HealthFn | None = None,
        base: float = 2.0,
        max_interval: float = 30.0,
        jitter: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._health = health
        self._on_state = on_state
        self._check = check
        self.base = base
        self.max_interval = max_interval
        self.jitter = jitter
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self.state = ServerState.UNKNOWN
        self.detail = ""
        self.failures = 0  # consecutive polls that ended in a backing-off state
        self.interval = base  # the delay before the next poll
        self.next_poll_at: float | None = None  # clock() time of the next poll, for "retry in N s"

    def poke(self) -> None:
        """Poll now instead of waiting out the current interval (e.g. after a failed send)."""
        self._wake.set()

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            self._wake.clear()  # a poke during the poll below still triggers another one
            await self.poll_once()
            self.interval = self._next_delay()
            self.next_poll_at = self._clock() + self.interval
            await self._wait(self.interval)

    async def observe(self, state: ServerState, detail: str = "") -> None:
        """A state found by another look at the server (e.g. /props says it fell asleep)."""
        await self._report(state, detail)

    async def poll_once(self) -> ServerState:
        """One health call (plus the check when health turns OK); reports a change, if any."""
        try:
            result = await self._health()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            state, detail = classify_error(error)
        else:
            state, detail = self._interpret(result)
        if state is ServerState.OK and self.state is not ServerState.OK and self._check is not None:
            state, detail = await self._run_check()
        self.failures = 0 if state in _STEADY else self.failures + 1
        await self._report(state, detail)
        return state

    @staticmethod
    def _interpret(result: Any) -> tuple[ServerState, str]:
        # client.health() returns Health; a 200 with another status is not expected from
        # llama-server, so say what it was rather than guess.
        if getattr(result, "ok", True):
            return ServerState.OK, ""
        status = str(getattr(result, "status", ""))
        if "loading" in status.lower():
            return ServerState.LOADING, ""
        return ServerState.UNKNOWN, f"health status {status!r}"

    async def _run_check(self) -> tuple[ServerState, str]:
        assert self._check is not None
        try:
            result = await self._check()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            state, detail = classify_error(error)
            if isinstance(error, LlamaError) and error.status is not None and state is ServerState.UNREACHABLE:
                # The server answered the check with some other error (e.g. 404 on an old build):
                # that says nothing about reachability or the key, so health's OK stands.
                return ServerState.OK, ""
            return state, detail
        if getattr(result, "is_sleeping", False) is True:
            return ServerState.SLEEPING, ""
        return ServerState.OK, ""

    async def _report(self, state: ServerState, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        outcome = self._on_state(state, detail)
        if inspect.isawaitable(outcome):
            await outcome

    def _next_delay(self) -> float:
        if self.failures == 0:
            return self.base
        # The first retry comes after `base` (a blip), then 2x, 4x ...; exponent bounded (no overflow).
        raw = self.base * 2.0 ** min(self.failures - 1, 32)
        if self.jitter:
            raw *= self._rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return max(0.0, min(self.max_interval, raw))

    async def _wait(self, delay: float) -> None:
        """Sleep `delay` seconds or until poked, whichever comes first."""
        if self._wake.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            # Let the cancelled tasks finish; a cancel of run() itself still propagates.
            await asyncio.gather(sleeper, waker, return_exceptions=True)


# /slots is cheap (no model work); every 2 s keeps the status bar's busy count honest while
# something happens. /props is read as often, to see the server fall asleep.
SLOTS_INTERVAL = 2.0
# After the last sign of activity, /slots is polled this long, then left alone so that a server
# with --sleep-idle-seconds can fall asleep (polling /slots would keep it awake).
ACTIVE_WINDOW = 60.0


class ServerWatch:
    """Health, /props and /slots of the connection's current server, reported by callbacks:
    `on_state(state, detail)`, `on_props(props)` (when they change) and `on_slots(slots)`.
    `model` gives the model the current session uses (router mode: each session names its model)."""

    def __init__(
        self,
        connection: ServerConnection,
        *,
        on_state: Callable[[ServerState, str], object],
        on_props: Callable[[Props | None], object],
        on_slots: Callable[[list[Slot]], object],
        model: Callable[[], str | None] = lambda: None,
        health_interval: float = 2.0,
        slots_interval: float = SLOTS_INTERVAL,
        active_window: float = ACTIVE_WINDOW,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self._on_state = on_state
        self._on_props = on_props
        self._on_slots = on_slots
        self._model = model
        self.health_interval = health_interval
        self.slots_interval = slots_interval
        self.active_window = active_window
        self._sleep = sleep
        self._clock = clock
        self.state = ServerState.UNKNOWN
        self.props: Props | None = None
        self.router_mode = False  # llama-server --models-dir: each session names its model
        self.slots: list[Slot] = []
        self._poller: HealthPoller | None = None
        self._active_until = 0.0  # clock() time until which /slots is polled
        self._slots_due = asyncio.Event()  # read /slots now (props just came, the server is awake)

    @property
    def busy_slots(self) -> frozenset[int]:
        return frozenset(s.id for s in self.slots if s.is_processing)

    @property
    def total_slots(self) -> int:
        return self.props.total_slots if self.props is not None else 1

    @property
    def asleep(self) -> bool:
        """The server said it sleeps: anything but /props and /health would wake it."""
        return self.state is ServerState.SLEEPING or (self.props is not None and self.props.is_sleeping)

    @property
    def watching_slots(self) -> bool:
        return self._clock() < self._active_until

    def note_activity(self) -> None:
        """Something happens (an answer of ours): follow /slots for the next ACTIVE_WINDOW seconds."""
        self._active_until = self._clock() + self.active_window

    def reset(self) -> None:
        """The app switched to another server: forget what was known of this one."""
        self.state = ServerState.UNKNOWN
        self.props = None
        self.router_mode = False
        self.slots = []
        self._on_props(None)

    def poke(self) -> None:
        """Check the server now (e.g. after a failed request)."""
        if self._poller is not None:
            self._poller.poke()

    async def run(self) -> None:
        """Watch until cancelled."""
        client = self.connection.client
        self._poller = HealthPoller(
            client.health, self._health_changed, base=self.health_interval, check=self.refresh_props
        )
        self.note_activity()  # the app starts: the user is about to chat
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._poller.run())
            tasks.create_task(self._watch())

    async def _health_changed(self, state: ServerState, detail: str) -> None:
        woke = self.state is ServerState.SLEEPING and state is ServerState.OK
        self.state = state
        if woke:
            self.note_activity()  # someone woke it: likely to answer something now
        outcome = self._on_state(state, detail)
        if inspect.isawaitable(outcome):
            await outcome

    async def refresh_props(self) -> Props:
        """Read /props (router mode: the facts of the session's model), then /slots unless the
        server sleeps. AuthenticationError here means the server refuses the API key."""
        client = self.connection.client
        props = await client.props()
        if props.is_router:
            self.router_mode = True
        if self.router_mode:
            client.model = self._model()
            if client.model is not None and props.is_router:
                props = await client.props()  # with ?model=: that model's facts
        self._set_props(props)
        if not props.is_sleeping:
            self._slots_due.set()  # read them next, after this check has reported the state
        return props

    def _set_props(self, props: Props) -> None:
        changed = props != self.props
        self.props = props
        if changed:  # not every few seconds: the settings pane is filled from them
            self._on_props(props)

    async def refresh_slots(self) -> None:
        try:
            slots = await self.connection.client.slots()
        except NotSupported:
            self.slots = []
            return
        except LlamaError:
            return
        if any(slot.is_processing for slot in slots):
            self.note_activity()
        if slots != self.slots:
            self.slots = slots
            self._on_slots(slots)

    async def _check_sleep(self) -> None:
        """Has the server fallen asleep? (/props does not wake it.)"""
        try:
            props = await self.connection.client.props()
        except LlamaError:
            return  # the health poller says what is wrong
        if props.is_router:
            return
        self._set_props(props)
        if props.is_sleeping and self._poller is not None:
            await self._poller.observe(ServerState.SLEEPING)

    async def _wait_slots(self) -> bool:
        """Until the interval passes or /slots is due (True)."""
        if not self._slots_due.is_set():
            sleeper = asyncio.ensure_future(self._sleep(self.slots_interval))
            due = asyncio.ensure_future(self._slots_due.wait())
            try:
                await asyncio.wait({sleeper, due}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, due):
                    task.cancel()
                await asyncio.gather(sleeper, due, return_exceptions=True)
        due_now = self._slots_due.is_set()
        self._slots_due.clear()
        return due_now

    async def _watch(self) -> None:
        while True:
            due = await self._wait_slots()
            if self.state is not ServerState.OK or self.props is None:
                continue  # a sleeping server is re-checked by the health poller (its /props)
            if not due and not self.router_mode:
                await self._check_sleep()
            if self.state is ServerState.OK and (due or self.watching_slots):
                await self.refresh_slots()
