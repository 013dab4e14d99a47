"""chat/compare.py: compare specs, shared seeds, and how many columns of a server run at once."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from llama_tui.chat.compare import CompareTarget, SlotScheduler, SpecError, parse_spec, probe, shared_seed
from llama_tui.client import NotSupported, Props, ServerUnreachable, Slot

TEMPLATES = {"server", "chatml", "gemma3"}


def test_one_knob_gives_one_target_per_value_with_its_label() -> None:
    targets = parse_spec("temperature=0.2,0.8")
    assert [t.settings for t in targets] == [{"temperature": 0.2}, {"temperature": 0.8}]
    assert [t.label for t in targets] == ["temperature=0.2", "temperature=0.8"]
    assert all(t.server is None and t.model is None and t.template is None for t in targets)


def test_several_items_make_every_combination_in_order() -> None:
    targets = parse_spec(["model=a,b", "temp=0.1,1"])
    assert [(t.model, t.settings["temperature"]) for t in targets] == [("a", 0.1), ("a", 1.0), ("b", 0.1), ("b", 1.0)]
    assert targets[1].label == "model=a · temperature=1.0"
    # Spaces and semicolons separate items inside one string too.
    assert parse_spec("model=a,b;top_k=5") == parse_spec("model=a,b top_k=5")


def test_template_server_and_model_values() -> None:
    targets = parse_spec("template=server,gemma3", templates=TEMPLATES)
    assert [t.template for t in targets] == ["server", "gemma3"]
    assert [t.describe() for t in targets] == [{"template": "server"}, {"template": "gemma3"}]
    servers = parse_spec("server=gpu,http://10.0.0.2:8080", servers={"gpu"})
    assert [t.server for t in servers] == ["gpu", "http://10.0.0.2:8080"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("temperature", "KEY=VALUE"),
        ("=1,2", "KEY=VALUE"),
        ("colour=1,2", "cannot be compared"),
        ("stop=a,b", "is a list"),
        ("temperature=0.2", "at least two"),
        ("temperature=", "give the values"),
        ("temperature=0.2,0.2", "given twice"),
        ("temperature=0.2,0.8 temperature=1,2", "given twice"),
        ("temperature=0.1,0.2,0.3 top_k=1,2", "makes 6 targets"),
        ("temperature=0.1,0.2,0.3,0.4,0.5", "makes 5 targets"),
        ("temperature=0.2,hot", "must be a number"),
        ("temperature=0.2,11", "at most 10"),
        ("top_k=1.5,2", "whole number"),
        ("template=server,nope", "unknown template 'nope'"),
        ("server=gpu,elsewhere", "unknown server 'elsewhere'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(SpecError, match=says):
        parse_spec(spec, templates=TEMPLATES, servers={"gpu"})


def test_every_target_gets_the_same_seed_unless_one_is_set() -> None:
    targets = parse_spec("temperature=0.2,0.8")
    seeded, seed = shared_seed(targets, {}, random.Random(1))
    assert seed is not None and 0 <= seed < 2**31
    assert [t.settings for t in seeded] == [{"temperature": 0.2, "seed": seed}, {"temperature": 0.8, "seed": seed}]
    assert [t.label for t in seeded] == [t.label for t in targets]  # the seed is not what is compared
    # The session's own seed is used as it is; a spec that compares seeds keeps them.
    assert shared_seed(targets, {"seed": 42}) == (targets, None)
    by_seed = parse_spec("seed=1,2")
    assert shared_seed(by_seed, {}) == (by_seed, None)
    # -1 means "random each time": not a seed to share.
    assert shared_seed(targets, {"seed": -1}, random.Random(1))[1] is not None


class FakeServer:
    """What probe() asks of a client: /props (router or one model) and /slots."""

    def __init__(self, *, router: bool = False, total: int = 1, busy: int = 0, slots: bool = True) -> None:
        self.router, self.total, self.busy, self.slots_on = router, total, busy, slots
        self.model: str | None = None
        self.calls: list[str] = []

    async def props(self) -> Props:
        self.calls.append(f"props {self.model}")
        data: dict[str, Any] = {"total_slots": self.total}
        if self.router and self.model is None:
            data = {"role": "router"}
        return Props.from_json(data)

    async def slots(self) -> list[Slot]:
        self.calls.append(f"slots {self.model}")
        if not self.slots_on:
            raise NotSupported("slots are off")
        return [Slot.from_json({"id": i, "is_processing": i < self.busy}) for i in range(self.total)]


def model_client(base: FakeServer, model: str | None) -> FakeServer:
    client = FakeServer(router=base.router, total=base.total, busy=base.busy, slots=base.slots_on)
    client.model = model
    return client


@pytest.mark.parametrize(
    ("server", "free"),
    [
        (FakeServer(total=4, busy=1), 3),
        (FakeServer(total=2, busy=2), 1),  # all busy: one at a time, queued at the server
        (FakeServer(total=1), 1),
        (FakeServer(total=3, slots=False), 3),  # --no-slots: assume idle
    ],
)
async def test_probe_counts_idle_slots(server: FakeServer, free: int) -> None:
    facts = await probe(server, server, None)  # type: ignore[arg-type]
    assert facts.error is None and facts.free_slots == free


async def test_probe_in_router_mode_asks_the_model_and_needs_one() -> None:
    router = FakeServer(router=True, total=2)
    facts = await probe(router, model_client(router, "gemma"), "gemma")  # type: ignore[arg-type]
    assert facts.free_slots == 2
    missing = await probe(router, router, None)  # type: ignore[arg-type]
    assert missing.error is not None and "router mode: name a model" in missing.error.message
    single = FakeServer(total=2)
    wrong = await probe(single, model_client(single, "gemma"), "gemma")  # type: ignore[arg-type]
    assert wrong.error is not None and "serves one model" in wrong.error.message


async def test_probe_reports_an_unreachable_server() -> None:
    class Down(FakeServer):
        async def props(self) -> Props:
            raise ServerUnreachable("cannot reach llama-server")

    facts = await probe(Down(), Down(), None)  # type: ignore[arg-type]
    assert isinstance(facts.error, ServerUnreachable)


class Clients:
    """TargetClients' shape: one fake client per (server, model), the same server for every name."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.made: dict[tuple[str | None, str | None], FakeServer] = {}

    def address(self, server: str | None) -> tuple[str, str | None]:
        return f"http://{server or 'app'}", None

    def get(self, server: str | None, model: str | None = None) -> FakeServer:
        key = (server, model)
        if key not in self.made:
            self.made[key] = self.server if model is None else model_client(self.server, model)
        return self.made[key]


async def test_scheduler_runs_as_many_at_once_as_there_are_idle_slots() -> None:
    server = FakeServer(total=2)
    scheduler = SlotScheduler(Clients(server))  # type: ignore[arg-type]
    running, most = 0, 0
    release = asyncio.Event()

    async def column() -> None:
        nonlocal running, most
        async with scheduler.slot(None, None):
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.ensure_future(column()) for _ in range(3)]
    while running < 2:
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert running == 2  # the third waits for a slot
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2
    assert scheduler.capacity(None, None) == 2
    assert server.calls == ["props None", "slots None"]  # asked once for all three


async def test_scheduler_keys_by_server_and_model() -> None:
    router = FakeServer(router=True, total=1)
    clients = Clients(router)
    scheduler = SlotScheduler(clients)  # type: ignore[arg-type]
    facts = await asyncio.gather(scheduler.facts(None, "a"), scheduler.facts(None, "b"), scheduler.facts(None, "a"))
    assert [f.free_slots for f in facts] == [1, 1, 1]
    assert clients.made[(None, "a")].calls == ["props a", "slots a"]
    assert clients.made[(None, "b")].calls == ["props b", "slots b"]


def test_target_describe_leaves_out_what_it_does_not_change() -> None:
    target = CompareTarget("x", model="m", settings={"top_k": 5})
    assert target.describe() == {"model": "m", "settings": {"top_k": 5}}
