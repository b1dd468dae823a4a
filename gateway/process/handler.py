"""The bus side of the process runtime: one consumer group per machine, applying messages to instances.

Each machine is its own consumer group (``process.<machine>``) reading the machine's topics and the shared
timer topic. The consumer runner calls ``apply`` inside its transaction, after the inbox claim, so the
instance change, its history, its timers and the messages its actions emit commit with the inbox row:
a redelivered message finds its inbox row and has no second effect.

The runner hands over a whole batch (``apply_many``): its instances are loaded (and locked) with one
statement, the messages evaluated in order in memory, each seeing what the earlier ones did to its
instance, and the changes written with a few multi-row statements (``batch``, ``store_batch``). ``apply``
is the same code for one message, which the runner uses after a batch failed.

Instances stay on the version they started with. An instance on an older version either moves to the
current one (the current file's ``migrations`` maps its state) or keeps running on the old definition,
rebuilt from the source text remembered in ``process_machine_version``.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected
from gateway.process import store, store_batch
from gateway.process.batch import Batch
from gateway.process.calendar import WorkingCalendar
from gateway.process.definition import Machine
from gateway.process.engine import Actions, Disposition, InstanceState, evaluate, message_type_for
from gateway.process.expressions import Decisions, Expressions
from gateway.process.restart import restarts
from gateway.process.topics import PROCESS_TIMERS
from schemas.envelope import Envelope
from schemas.process import TimerFired

log = structlog.get_logger(__name__)

#: Old machine versions kept parsed in memory; instances on older ones are rare and re-parse cheaply.
OLD_VERSIONS_CACHED_MAX = 100

#: Builds a ``Machine`` from a version's source text and a label for messages (the loader's job).
ParseSource = Callable[[str, str], Machine]


def group_id(machine: str) -> str:
    return f"process.{machine}"


class ProcessHandler:
    def __init__(
        self,
        machines: Sequence[Machine],
        *,
        calendar: WorkingCalendar,
        actions: Actions,
        decisions: Decisions | None,
        sources: Mapping[str, str] | None = None,
        parse: ParseSource | None = None,
    ) -> None:
        names = [m.name for m in machines]
        assert len(names) == len(set(names)), f"machines named twice: {names}"
        self.machines = {m.name: m for m in machines}
        self._calendar, self._actions, self._decisions = calendar, actions, decisions
        self._expressions = Expressions()
        self._sources = dict(sources or {})
        self._parse = parse
        self._old: dict[tuple[str, str], Machine] = {}
        #: (machine, disposition) -> messages; what "changes nothing (it is counted)" counts.
        self.dispositions: collections.Counter[tuple[str, Disposition]] = collections.Counter()

    def subscriptions(self) -> list[Subscription]:
        return [self.subscription(name) for name in self.machines]

    def subscription(self, name: str) -> Subscription:
        machine = self.machines[name]
        topics = tuple(dict.fromkeys((*machine.topics, PROCESS_TIMERS.name)))

        async def handle(ctx: HandlerContext) -> None:
            await self.apply(machine, ctx)

        async def handle_many(contexts: Sequence[HandlerContext]) -> None:
            await self.apply_many(machine, contexts)

        return Subscription(group_id(name), topics, handle, handle_many)

    async def register_versions(self, engine: AsyncEngine, now: dt.datetime) -> None:
        """Remember the source of every current machine version (call once at start-up)."""
        async with engine.begin() as conn:
            for name, machine in self.machines.items():
                source = self._sources.get(name)
                if source is not None:
                    await store.register_version(conn, name, machine.version, source, now)

    async def apply(self, machine: Machine, ctx: HandlerContext) -> Disposition | None:
        """Apply one message; returns its disposition (None: a timer message of another machine)."""
        [disposition] = await self.apply_many(machine, [ctx])
        return disposition

    async def apply_many(
        self, machine: Machine, contexts: Sequence[HandlerContext]
    ) -> list[Disposition | None]:
        """Apply messages in order, all in the transaction of ``contexts[0].conn``, with the effect of
        applying them one by one: a message sees what the batch's earlier messages did to its instance.
        Returns their dispositions (None: a timer message of another machine)."""
        if not contexts:
            return []
        conn = contexts[0].conn
        targets = [_target(machine.name, ctx.envelope) for ctx in contexts]
        timer_ids = list(dict.fromkeys(t[1] for t in targets if t is not None and t[1] is not None))
        keys = list(dict.fromkeys(t[0] for t in targets if t is not None))
        timers = await store_batch.load_timers(conn, timer_ids)
        batch = Batch.of(keys, await store_batch.load_instances(conn, machine.name, keys))
        dispositions: list[Disposition | None] = []
        debug = log.is_enabled_for(logging.DEBUG)
        for ctx, target in zip(contexts, targets, strict=True):
            if target is None:
                dispositions.append(None)
                continue
            key, timer_id = target
            runnable, current = await self._runnable(conn, machine, batch.instance(key))
            ended_elsewhere = runnable is not machine and current is not None and restarts(
                machine, current.state, message_type_for(ctx.envelope), ended_in=runnable
            )
            outcome = await evaluate(
                machine if ended_elsewhere else runnable, current, ctx.envelope, now=ctx.now,
                calendar=self._calendar, actions=self._actions, decisions=self._decisions,
                expressions=self._expressions, timer=None if timer_id is None else timers.get(timer_id),
                ended_elsewhere=ended_elsewhere,
            )
            if outcome.changed:
                batch.record(key, outcome, ctx.now)
                for topic, envelope in outcome.emitted:
                    ctx.emit(topic, envelope)
            dispositions.append(outcome.disposition)
            if debug:
                log.debug(
                    "process message", machine=machine.name, key=key, type=ctx.envelope.type,
                    disposition=outcome.disposition,
                    state=outcome.instance.state if outcome.instance else None,
                )
        await store_batch.write(conn, machine.name, batch)
        for disposition in dispositions:
            if disposition is not None:
                self.dispositions[(machine.name, disposition)] += 1
        return dispositions

    async def _runnable(
        self, conn: AsyncConnection, machine: Machine, instance: InstanceState | None
    ) -> tuple[Machine, InstanceState | None]:
        """The definition an instance runs on, and the instance (moved to the current version if mapped)."""
        if instance is None or instance.version == machine.version:
            return machine, instance
        mapping = machine.migrations.get(instance.version, {})
        if instance.state in mapping:
            return machine, replace(instance, version=machine.version, state=mapping[instance.state])
        return await self._old_version(conn, machine.name, instance.version), instance

    async def _old_version(self, conn: AsyncConnection, name: str, version: str) -> Machine:
        cached = self._old.get((name, version))
        if cached is not None:
            return cached
        source = await store.version_source(conn, name, version)
        if source is None or self._parse is None:
            raise HandlerRejected(
                f"machine {name}: an instance runs on version {version}, whose source is not known and which "
                "the current file's `migrations` does not map"
            )
        parsed = self._parse(source, f"{name}@{version}")
        if len(self._old) >= OLD_VERSIONS_CACHED_MAX:
            self._old.clear()
        self._old[(name, version)] = parsed
        return parsed


def _target(machine: str, message: Envelope) -> tuple[str, int | None] | None:
    """The instance key a message is for and the timer row it names; None: another machine's timer."""
    body = message.payload
    if isinstance(body, TimerFired):
        if body.machine != machine:
            return None
        return body.instance_key, body.timer_id
    return message.key, None

