"""One million live instances of one machine on PostgreSQL: no per-machine cap, and the runtime still
creates, transitions and fires timers correctly among them.

The million are bulk-inserted in the state the ``open`` entry leaves them in (with their pending timers),
because creating them one message at a time is the benchmark's job (``proud bench rules``), not a test's.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.clock import ManualClock
from gateway.process.actions import ACTIONS
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.expressions import Decisions
from gateway.process.handler import ProcessHandler
from gateway.process.loader import load_rules
from gateway.process.scheduler import TimerScheduler
from gateway.process.tables import process_history, process_instance, process_timer
from gateway.store.db import create_engine
from gateway.store.tables import outbox
from schemas.envelope import encode, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived

INSTANCES = 1_000_000
DUE_NOW = 200
PAID = 500
ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=PRAGUE)

pytestmark = pytest.mark.slow


async def _bulk_create(engine: AsyncEngine, version: str) -> None:
    """A million ``open`` instances and their ``first_reminder`` timers; the first DUE_NOW are due."""
    created = NOW.astimezone(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO process_instance (machine, key, version, state, data, seq, entered_seq,"
                " transitions, created_at, updated_at)"
                " SELECT 'reminder', 'M-' || n, :version, 'open',"
                ' \'{"reminders_sent": 0, "amount_due": 1200.50, "final_date": "2027-01-20"}\','
                " 1, 1, 0, CAST(:at AS timestamptz), CAST(:at AS timestamptz)"
                " FROM generate_series(1, :count) AS n"
            ),
            {"version": version, "at": created, "count": INSTANCES},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO process_timer (instance_id, machine, key, name, due_at, state_entry, status)"
                " SELECT id, machine, key, 'first_reminder',"
                " CASE WHEN id - (SELECT min(id) FROM process_instance WHERE machine = 'reminder') < :due"
                " THEN CAST(:past AS timestamptz) ELSE CAST(:future AS timestamptz) END, 1, 'pending'"
                " FROM process_instance WHERE machine = 'reminder'"
            ),
            {
                "due": DUE_NOW,
                "past": created - dt.timedelta(minutes=1),
                "future": created + dt.timedelta(days=14),
            },
        )


async def _states(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(process_instance.c.state, sa.func.count())
            .where(process_instance.c.machine == "reminder")
            .group_by(process_instance.c.state)
        )
        return {state: int(n) for state, n in rows}


async def test_a_million_instances_of_one_machine(pg_url: str, unique: str) -> None:
    engine = create_engine(pg_url)
    rules = load_rules(ROOT / "rules")
    machine = rules.machines["reminder"]
    async with engine.begin() as conn:
        for table in (process_history, process_timer, process_instance):
            await conn.execute(table.delete())
    try:
        await _bulk_create(engine, machine.version)
        clock = ManualClock(NOW)
        handler = ProcessHandler(
            [machine],
            calendar=WorkingCalendar(),
            actions=ACTIONS,
            decisions=Decisions(ROOT / "rules" / "decisions"),
            sources=rules.sources,
        )
        runner = ConsumerRunner(
            engine=engine,
            bus=None,
            subscription=handler.subscription("reminder"),  # type: ignore[arg-type]
            clock=clock,
            retry=RetryPolicy(attempts_max=1),
            batch_max=500,
            poll_timeout_s=0.1,
            message_bytes_max=100_000,
        )
        # Payments for PAID instances that are not due, and one brand-new instance.
        keys = [f"M-{n}" for n in random.Random(7).sample(range(DUE_NOW + 1, INSTANCES + 1), PAID)]
        messages = [
            new_envelope(PaymentReceived(amount=Decimal("1200.50")), key=k, now=clock.now()) for k in keys
        ]
        messages.append(
            new_envelope(
                InvoiceOverdue(invoice="FV-1", amount=Decimal("99.90"), final_date=dt.date(2027, 1, 20)),
                key=f"NEW-{unique}",
                now=clock.now(),
            )
        )
        await runner.process(
            [Record("payments.events", 0, i, m.key, encode(m)) for i, m in enumerate(messages)]
        )

        scheduler = TimerScheduler(engine, clock, batch_max=100, poll_interval_s=0.05)
        fired = 0
        while (claimed := await scheduler.run_once()) > 0:
            fired += claimed
        assert fired == DUE_NOW, "exactly the due timers fire, in bounded batches"
        async with engine.connect() as conn:
            timer_rows = (
                await conn.execute(
                    sa.select(outbox.c.key, outbox.c.value).where(outbox.c.topic == "process.timers")
                )
            ).all()
        await runner.process([Record("process.timers", 0, i, k, v) for i, (k, v) in enumerate(timer_rows)])

        assert await _states(engine) == {
            "open": INSTANCES - PAID - DUE_NOW + 1,
            "paid": PAID,
            "reminded": DUE_NOW,
        }
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("TRUNCATE process_history, process_timer, process_instance"))
        await engine.dispose()
