"""One compare run in a session: the same next answer generated for 2-4 targets at once. No Textual.

`prepare` makes the answer rows (siblings under one user turn, each with its target's parameters
and a `meta["compare"]` saying which run, column and target); `run` streams every column into its
row with `Generation` (checkpoints, reasoning, every way of ending), in parallel where the
target's server has an idle slot and one after another where it has not (`SlotScheduler`). A
column whose server fails or dies ends on its own, with what arrived kept; the others go on.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..client import LlamaCppClient
from ..domain import ChatMessage, Session
from ..store import Store, StoreError
from .compare import CompareTarget, SlotScheduler
from .connection import TargetClients
from .conversation import CompareAnswers, Conversation, Refusal
from .generation import Generation, GenerationResult, GenerationSink
from .request import CompletionRequest, RequestBuilder, for_target


class ColumnSink(GenerationSink, Protocol):
    """Where a column reports, beyond what a generation reports."""

    def on_waiting(self) -> None:
        """Asking the server, or waiting for one of its slots to be free."""

    def on_started(self) -> None:
        """Its request is being sent."""


@dataclass
class Column:
    """One target of the run and its answer row."""

    index: int  # 0-based, in the order the targets were given
    target: CompareTarget
    server: str | None  # the target's server (None: the app's)
    model: str | None  # the model its requests name (router mode), if any
    session: Session  # the session as this target asks it (template, model, settings)
    client: LlamaCppClient
    params: dict[str, Any]  # what its request asks (all but the prompt)
    answer: ChatMessage
    result: GenerationResult | None = None

    @property
    def message(self) -> ChatMessage:
        """The answer as it ended (or as it was made, before the run)."""
        return self.result.message if self.result is not None else self.answer


class CompareRun:
    """The columns of one run. `default_model`: the session's router model, for targets on the
    app's server that name none."""

    def __init__(
        self,
        conversation: Conversation,
        builder: RequestBuilder,
        clients: TargetClients,
        targets: Sequence[CompareTarget],
        *,
        default_model: str | None = None,
        checkpoint_interval: float = 1.0,
    ) -> None:
        self.conversation = conversation
        self.builder = builder
        self.clients = clients
        self.targets = list(targets)
        self.default_model = default_model
        self.checkpoint_interval = checkpoint_interval
        self.scheduler = SlotScheduler(clients)
        self.run_id = secrets.token_hex(4)
        self.columns: list[Column] = []
        self.path: list[ChatMessage] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def store(self) -> Store:
        return self.conversation.store

    def prepare(self, path: Sequence[ChatMessage]) -> list[Column] | Refusal | None:
        """Make the answer rows under the user turn ending `path` (None: the store refused, reported)."""
        session = self.conversation.session
        planned: list[tuple[CompareTarget, str | None, Session, LlamaCppClient, dict[str, Any]]] = []
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for index, target in enumerate(self.targets):
            model = target.model or (self.default_model if target.server is None else None)
            try:
                client = self.clients.get(target.server, model)
            except ValueError as e:
                return Refusal(str(e))
            asked = for_target(session, template=target.template, model=model, settings=target.settings)
            # No slot pinning: the server gives each column an idle slot (the best cached prefix).
            params = self.builder.on(client).params(asked, router_mode=model is not None)
            meta = {
                "compare": {
                    "run": self.run_id,
                    "column": index + 1,
                    "of": len(self.targets),
                    "label": target.label,
                    "target": target.describe(),
                }
            }
            planned.append((target, model, asked, client, params))
            rows.append((params, meta))
        made = self.conversation.compare_answers(path, rows)
        if not isinstance(made, CompareAnswers):
            return made
        self.path = made.path
        self.columns = [
            Column(i, target, target.server, model, asked, client, params, answer)
            for i, ((target, model, asked, client, params), answer) in enumerate(
                zip(planned, made.answers, strict=True)
            )
        ]
        return self.columns

    async def run(self, sinks: Sequence[ColumnSink]) -> list[ChatMessage]:
        """Stream every column (each into its sink); returns the answers as they ended. Cancelled,
        every column stops and keeps what arrived."""
        self._tasks = [asyncio.ensure_future(self._column(c, s)) for c, s in zip(self.columns, sinks, strict=True)]
        try:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.scheduler.close()
        for column in self.columns:
            if column.result is not None and not column.result.saved:
                self.conversation.writes.keep_answer(column.result.message)  # saved when writing works again
        return [self._ended(column) for column in self.columns]

    def stop(self, index: int) -> bool:
        """Stop one column (what arrived is kept, marked interrupted); the others go on."""
        if 0 <= index < len(self._tasks) and not self._tasks[index].done():
            self._tasks[index].cancel()
            return True
        return False

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def column_running(self, index: int) -> bool:
        return 0 <= index < len(self._tasks) and not self._tasks[index].done()

    async def _column(self, column: Column, sink: ColumnSink) -> None:
        started = False
        try:
            sink.on_waiting()
            facts = await self.scheduler.facts(column.server, column.model)
            if facts.error is not None:
                error = facts.error

                async def refused() -> CompletionRequest:
                    raise error

                started = True  # the generation ends the row, as an error saying why
                column.result = await self._generation(column).run(column.answer, refused, sink)
                return
            async with self.scheduler.slot(column.server, column.model):
                started = True
                sink.on_started()

                async def request() -> CompletionRequest:
                    return await self.builder.on(column.client).build(column.session, self.path, column.params)

                column.result = await self._generation(column).run(column.answer, request, sink)
        except asyncio.CancelledError:
            if not started:  # stopped while waiting: nothing arrived, but the row must not stay "streaming"
                self._save(column.answer.replace(state="interrupted", error="stopped before it started"), sink)
            raise

    def _generation(self, column: Column) -> Generation:
        return Generation(column.client, self.store, checkpoint_interval=self.checkpoint_interval)

    def _save(self, message: ChatMessage, sink: ColumnSink) -> None:
        try:
            self.store.update_message(message)
        except StoreError as e:
            sink.on_store_error(e)

    def _ended(self, column: Column) -> ChatMessage:
        if column.result is not None:
            return column.result.message
        try:  # stopped: the generation saved what arrived
            return self.store.get_message(column.answer.id) if column.answer.id is not None else column.answer
        except StoreError:
            return column.answer.replace(state="interrupted")
