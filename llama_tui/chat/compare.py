"""What a compare run compares, and when each of its columns may run. No Textual.

A target is one (server, router model, template, sampling overrides) combination. Targets are
read from a short spec shared by the compare screen and `llama-tui ask --compare`:

    temperature=0.2,0.8            a sweep of one knob (any sampling knob of the settings pane)
    model=qwen3-4b,gemma-3-1b      router mode: these models
    template=server,gemma3         the model's own template against a built-in one
    server=gpu-box,laptop          [servers.NAME] profiles (or URLs)

Several items (separated by spaces or ';') make every combination: `model=a,b temperature=0.2,1`
is four targets. A run takes 2 to 4. Unless a target or the session sets a seed, every target
gets the same one (`shared_seed`), so differences come from what is compared, not from chance.

`SlotScheduler` runs each column when its server has room: as many at once per (server, model)
as the server had idle slots when first asked (at least one), the rest one after another.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ..client import LlamaCppClient, LlamaError, NotSupported
from ..knobs import KNOBS_BY_NAME, SettingError, format_knob, parse_knob
from .connection import TargetClients

MIN_TARGETS, MAX_TARGETS = 2, 4
TARGET_KEYS = ("server", "model", "template")
KEY_ALIASES = {"temp": "temperature", "models": "model", "templates": "template", "servers": "server"}
SEED_RANGE = 2**31  # a seed every server build takes
SEEDS = random.SystemRandom()  # where shared seeds come from (a test may put a seeded Random here)


class SpecError(ValueError):
    """A compare spec that cannot be run; the message says why, in plain words."""


@dataclass(frozen=True)
class CompareTarget:
    """One column's (server, model, template, sampling overrides); None / empty: the session's."""

    label: str
    server: str | None = None
    model: str | None = None
    template: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What is stored in an answer's meta: what this target changed."""
        described: dict[str, Any] = {
            key: value
            for key, value in (("server", self.server), ("model", self.model), ("template", self.template))
            if value is not None
        }
        if self.settings:
            described["settings"] = dict(self.settings)
        return described


def _value(key: str, text: str, templates: Collection[str] | None, servers: Collection[str] | None) -> Any:
    if key == "template" and templates is not None and text not in templates:
        raise SpecError(f"unknown template {text!r}; choose from {', '.join(sorted(templates))}")
    if key == "server" and servers is not None and text not in servers and not text.startswith(("http://", "https://")):
        known = ", ".join(sorted(servers)) or "none configured"
        raise SpecError(f"unknown server {text!r}: name a [servers.NAME] profile ({known}) or give a URL")
    if key in TARGET_KEYS:
        return text
    try:
        return parse_knob(key, text)
    except SettingError as e:
        raise SpecError(str(e)) from None


def parse_spec(
    spec: str | Sequence[str],
    *,
    templates: Collection[str] | None = None,
    servers: Collection[str] | None = None,
) -> list[CompareTarget]:
    """The targets of a spec (see the module notes); `templates` and `servers`, when given, are
    the names a value may take. Raises SpecError saying what is wrong."""
    items = spec.replace(";", " ").split() if isinstance(spec, str) else [p for s in spec for p in s.split(";")]
    axes: list[tuple[str, list[Any]]] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        key, sep, listed = item.partition("=")
        key = KEY_ALIASES.get(key.strip().lower(), key.strip().lower())
        if not sep or not key:
            raise SpecError(f"{item!r}: write KEY=VALUE,VALUE (e.g. temperature=0.2,0.8)")
        if key not in TARGET_KEYS and key not in KNOBS_BY_NAME:
            raise SpecError(f"{key!r} cannot be compared: use model, template, server or a sampling knob")
        if key in KNOBS_BY_NAME and KNOBS_BY_NAME[key].kind not in ("int", "float", "bool"):
            # A list, a grammar, a schema, a bias table: not one value per target.
            raise SpecError(f"{key} is a list or a text of its own and cannot be compared here")
        if any(key == seen for seen, _ in axes):
            raise SpecError(f"{key} is given twice")
        texts = [v.strip() for v in listed.split(",") if v.strip()]
        if not texts:
            raise SpecError(f"{key}: give the values to compare (e.g. {key}=A,B)")
        parsed = [_value(key, text, templates, servers) for text in texts]
        if len(set(map(repr, parsed))) != len(parsed):
            raise SpecError(f"{key}: a value is given twice")
        axes.append((key, parsed))
    count = 1
    for _, axis in axes:
        count *= len(axis)
    if count < MIN_TARGETS:
        raise SpecError("give at least two targets, e.g. temperature=0.2,0.8 or model=A,B")
    if count > MAX_TARGETS:
        raise SpecError(f"that makes {count} targets; compare takes {MIN_TARGETS} to {MAX_TARGETS}")
    targets: list[CompareTarget] = []
    for combo in itertools.product(*(axis for _, axis in axes)):
        chosen = dict(zip((key for key, _ in axes), combo, strict=True))
        label = " · ".join(f"{key}={format_knob(value)}" for key, value in chosen.items())
        settings = {k: v for k, v in chosen.items() if k not in TARGET_KEYS}
        targets.append(
            CompareTarget(label, chosen.get("server"), chosen.get("model"), chosen.get("template"), settings)
        )
    return targets


def shared_seed(
    targets: Sequence[CompareTarget], session_settings: Mapping[str, Any], rng: random.Random | None = None
) -> tuple[list[CompareTarget], int | None]:
    """The targets with one seed for all (and that seed), unless the session or a target sets one."""
    if session_settings.get("seed") not in (None, -1) or any("seed" in t.settings for t in targets):
        return list(targets), None
    seed = (rng or SEEDS).randrange(SEED_RANGE)
    return [replace(t, settings={**t.settings, "seed": seed}) for t in targets], seed


# -- when each column runs -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerFacts:
    """What a run needs to know of a target's (server, model): idle slots, or why it cannot run."""

    free_slots: int = 1
    error: LlamaError | None = None


class TargetProblem(LlamaError):
    """A target that cannot run as given (e.g. a model named on a server that serves one)."""


async def probe(base: LlamaCppClient, client: LlamaCppClient, model: str | None) -> ServerFacts:
    """Ask the server (`base`: its client without a model) whether the target can run, and how
    many slots of its (router) model are idle. In router mode this loads the model if needed, as
    its first request would."""
    try:
        props = await base.props()
        if props.is_router and model is None:
            raise TargetProblem("this server runs in router mode: name a model (model=NAME)")
        if not props.is_router and model is not None:
            raise TargetProblem(f"this server serves one model; model={model} needs router mode (--models-dir)")
        if props.is_router:
            props = await client.props()
        try:
            busy = sum(1 for slot in await client.slots() if slot.is_processing)
        except NotSupported:  # --no-slots: assume all idle
            busy = 0
        return ServerFacts(max(1, props.total_slots - busy))
    except LlamaError as e:
        return ServerFacts(error=e)


Key = tuple[str, str | None]  # (server URL, model)


class SlotScheduler:
    """Hands out slots per (server, model): the facts are asked once per key, shared by its columns."""

    def __init__(self, clients: TargetClients) -> None:
        self.clients = clients
        self._facts: dict[Key, asyncio.Task[ServerFacts]] = {}
        self._slots: dict[Key, asyncio.Semaphore] = {}

    def key(self, server: str | None, model: str | None) -> Key:
        return self.clients.address(server)[0], model

    async def facts(self, server: str | None, model: str | None) -> ServerFacts:
        key = self.key(server, model)
        task = self._facts.get(key)
        if task is None:
            base, client = self.clients.get(server), self.clients.get(server, model)
            task = self._facts[key] = asyncio.ensure_future(probe(base, client, model))
        return await asyncio.shield(task)  # one column stopped must not cancel the others' probe

    def capacity(self, server: str | None, model: str | None) -> int | None:
        """How many columns of this key run at once (None until the server was asked)."""
        task = self._facts.get(self.key(server, model))
        return task.result().free_slots if task is not None and task.done() else None

    @asynccontextmanager
    async def slot(self, server: str | None, model: str | None) -> AsyncIterator[None]:
        facts = await self.facts(server, model)
        semaphore = self._slots.setdefault(self.key(server, model), asyncio.Semaphore(facts.free_slots))
        async with semaphore:
            yield

    def close(self) -> None:
        for task in self._facts.values():
            task.cancel()
