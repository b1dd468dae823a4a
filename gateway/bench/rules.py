"""``proud bench rules``: persisted state-machine transitions per second, and decision evaluations per second.

Transitions: the demo ``reminder`` machine through the real consumer runtime — each message is one inbox
row, the instance row, a history row and its timer changes, all in the batch's database transaction.
Phase one creates N instances (``invoice.overdue``: created, entry steps, timer armed); phase two pays them
(``payment.received``: open → paid, timer cancelled). ``transitions_per_s`` counts the history entries
both phases wrote over their wall time. The bus is not involved (``proud bench bus`` measures it).

Decisions: the repository's ``reminder_level`` table over a batch of contexts.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.bus.sqllog import SqlLogBus
from gateway.clock import SystemClock
from gateway.ids import uuid7
from gateway.process.actions import ACTIONS
from gateway.process.calendar import WorkingCalendar
from gateway.process.expressions import Decisions
from gateway.process.handler import ProcessHandler
from gateway.process.loader import load_rules
from gateway.process.tables import process_history, process_instance, process_timer
from gateway.store.tables import inbox
from schemas.envelope import Envelope, encode, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived

#: Messages per consumer batch, as the daemon's default ``consumer_batch_max``.
BATCH_MESSAGES = 500
MACHINE = "reminder"
DECISION = "reminder_level"


@dataclass(frozen=True, slots=True)
class RulesBenchResult:
    instances: int
    transitions: int
    transitions_s: float
    decisions: int
    decisions_s: float

    def line(self) -> str:
        return (
            f"transitions_per_s={self.transitions / self.transitions_s:.0f} "
            f"decisions_per_s={self.decisions / self.decisions_s:.0f}"
        )


async def run_rules_bench(
    engine: AsyncEngine, rules_dir: Path, *, instances: int, decisions: int
) -> RulesBenchResult:
    assert instances > 0 and decisions > 0
    rules = load_rules(rules_dir)
    machine = rules.machines[MACHINE]
    clock = SystemClock()
    handler = ProcessHandler(
        [machine],
        calendar=WorkingCalendar(),
        actions=ACTIONS,
        decisions=Decisions(rules_dir / "decisions"),
        sources=rules.sources,
    )
    group = f"bench-rules-{uuid7().hex[:12]}"
    subscription = handler.subscription(MACHINE)
    runner = ConsumerRunner(
        # The runner is driven by ``process`` here, so its bus is never started or read.
        engine=engine,
        bus=SqlLogBus(engine, clock=clock),
        subscription=subscription.__class__(
            group, subscription.topics, subscription.handler, subscription.handler_many
        ),
        clock=clock,
        retry=RetryPolicy(attempts_max=1),
        batch_max=BATCH_MESSAGES,
        poll_timeout_s=0.1,
        message_bytes_max=100_000,
    )
    run = uuid7().hex[:8]
    keys = [f"BENCH-{run}-{n}" for n in range(instances)]
    started = time.perf_counter()
    await _feed(runner, [_overdue(key, clock.now()) for key in keys])
    await _feed(
        runner,
        [new_envelope(PaymentReceived(amount=Decimal("1200.50")), key=k, now=clock.now()) for k in keys],
    )
    transitions_s = time.perf_counter() - started
    transitions = await _history_rows(engine, keys)
    decisions_s = _time_decisions(rules_dir, decisions)
    await _cleanup(engine, keys, group)
    return RulesBenchResult(instances, transitions, transitions_s, decisions, decisions_s)


def _overdue(key: str, now: dt.datetime) -> Envelope:
    body = InvoiceOverdue(invoice=f"FV-{key}", amount=Decimal("1200.50"), final_date=dt.date(2027, 3, 1))
    return new_envelope(body, key=key, now=now)


async def _feed(runner: ConsumerRunner, envelopes: list[Envelope]) -> None:
    for start in range(0, len(envelopes), BATCH_MESSAGES):
        chunk = envelopes[start : start + BATCH_MESSAGES]
        await runner.process(
            [Record("payments.events", 0, start + n, e.key, encode(e)) for n, e in enumerate(chunk)]
        )


async def _history_rows(engine: AsyncEngine, keys: list[str]) -> int:
    async with engine.connect() as conn:
        query = (
            sa.select(sa.func.count())
            .select_from(process_history)
            .join(process_instance, process_instance.c.id == process_history.c.instance_id)
            .where(
                process_instance.c.machine == MACHINE,
                process_instance.c.key.like(keys[0].rsplit("-", 1)[0] + "-%"),
            )
        )
        return int(await conn.scalar(query) or 0)


def _time_decisions(rules_dir: Path, count: int) -> float:
    decisions = Decisions(rules_dir / "decisions")
    contexts = [{"data": {"amount_due": float(n % 80_000)}} for n in range(count)]
    decisions.evaluate(DECISION, contexts[0])  # load and compile outside the timing
    started = time.perf_counter()
    results = decisions.evaluate_many(DECISION, contexts)
    elapsed_s = time.perf_counter() - started
    assert len(results) == count
    return elapsed_s


async def _cleanup(engine: AsyncEngine, keys: list[str], group: str) -> None:
    prefix = keys[0].rsplit("-", 1)[0] + "-%"
    async with engine.begin() as conn:
        ids = sa.select(process_instance.c.id).where(process_instance.c.key.like(prefix))
        await conn.execute(process_history.delete().where(process_history.c.instance_id.in_(ids)))
        await conn.execute(process_timer.delete().where(process_timer.c.instance_id.in_(ids)))
        await conn.execute(process_instance.delete().where(process_instance.c.key.like(prefix)))
        await conn.execute(inbox.delete().where(inbox.c.group_id == group))
