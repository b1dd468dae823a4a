"""The process runtime on SQLite and PostgreSQL, driven through ``ConsumerRunner.process`` like a bus would.

Creation by ``start_on``, transitions with history, timers armed and cancelled, the scheduler firing them
with a manual clock moved by days, a timer message applied once despite redelivery, a stale timer ignored,
emitted messages in the outbox exactly once, author errors dead-lettered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import dlq
from gateway.bus.base import Record
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.clock import ManualClock, as_utc
from gateway.process import store
from gateway.process.actions import ACTIONS
from gateway.process.calendar import PRAGUE, WorkingCalendar
from gateway.process.definition import Machine
from gateway.process.expressions import Decisions
from gateway.process.handler import ParseSource, ProcessHandler
from gateway.process.scheduler import TimerScheduler
from gateway.process.tables import process_instance, process_timer
from gateway.store.tables import outbox
from schemas.envelope import Envelope, decode, encode
from schemas.process import ReminderRequested, TimerFired
from tests.process.test_engine import NOW, overdue, payment, reminder_machine


class Runtime:
    def __init__(
        self,
        engine: AsyncEngine,
        decisions: Decisions,
        machine: Machine | None = None,
        parse: ParseSource | None = None,
    ) -> None:
        self.engine, self.clock = engine, ManualClock(NOW)
        self.machine = machine or reminder_machine()
        self.handler = ProcessHandler(
            [self.machine],
            calendar=WorkingCalendar(),
            actions=ACTIONS,
            decisions=decisions,
            sources={"reminder": "machine: reminder # v1"},
            parse=parse,
        )
        [subscription] = self.handler.subscriptions()
        self.runner = ConsumerRunner(
            engine=engine,
            bus=None,  # type: ignore[arg-type]  # process() never touches the bus
            subscription=subscription,
            clock=self.clock,
            retry=RetryPolicy(attempts_max=2, delay_s_initial=0.01, delay_s_max=0.02),
            batch_max=100,
            poll_timeout_s=0.1,
            message_bytes_max=100_000,
            sleep=_no_sleep,
        )
        self.scheduler = TimerScheduler(engine, self.clock, batch_max=50, poll_interval_s=0.05)
        self.offset = 0

    async def deliver(self, topic: str, *envelopes: Envelope) -> list[Record]:
        records = []
        for envelope in envelopes:
            self.offset += 1
            records.append(Record(topic, 0, self.offset, envelope.key, encode(envelope)))
        await self.runner.process(records)
        return records

    async def instance(self, key: str) -> sa.Row[tuple[object, ...]]:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(sa.select(process_instance).where(process_instance.c.key == key))
            ).one()

    async def timers(self, key: str) -> dict[str, str]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(process_timer).where(process_timer.c.key == key))).all()
        return {row.name: row.status for row in rows}

    async def outbox_rows(self, topic: str) -> list[sa.Row[tuple[object, ...]]]:
        async with self.engine.connect() as conn:
            query = sa.select(outbox).where(outbox.c.topic == topic).order_by(outbox.c.seq)
            return list((await conn.execute(query)).all())

    async def fire_timers(self) -> list[Record]:
        """Run the scheduler once and turn its new outbox rows into records, as the relay and bus would."""
        before = {row.seq for row in await self.outbox_rows("process.timers")}
        await self.scheduler.run_once()
        fresh = [row for row in await self.outbox_rows("process.timers") if row.seq not in before]
        records = []
        for row in fresh:
            self.offset += 1
            records.append(Record("process.timers", 0, self.offset, row.key, row.value))
        return records


async def _no_sleep(_: float) -> None:
    return None


async def history(engine: AsyncEngine, instance_id: int) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        rows = await store.history(conn, instance_id)
    return [(r.seq, r.from_state, r.to_state, r.disposition, r.message_type) for r in rows]


async def test_reminder_lifecycle_with_timers_fired_by_the_scheduler(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt, key = Runtime(engine, decisions), f"CA-{unique}"
    await rt.handler.register_versions(engine, NOW)
    await rt.deliver("payments.events", overdue(key=key, amount="1200.49"))
    row = await rt.instance(key)
    assert row.state == "open" and row.version == "v1" and row.seq == 1
    assert row.data == {"reminders_sent": 0, "amount_due": Decimal("1200.49"), "final_date": "2027-01-20"}
    assert str(row.data["amount_due"]) == "1200.49"  # exact through the database
    assert await rt.timers(key) == {"first_reminder": "pending"}

    rt.clock.advance(dt.timedelta(days=13))  # Sunday 13 December: not due until Monday 09:00 Prague
    assert await rt.fire_timers() == []
    rt.clock.advance(dt.timedelta(days=1))
    [timer_record] = await rt.fire_timers()
    assert await rt.fire_timers() == []  # fired exactly once
    assert await rt.timers(key) == {"first_reminder": "fired"}
    message = decode(timer_record.value)
    assert isinstance(message.payload, TimerFired) and message.key == key
    assert message.payload.due_at == dt.datetime(2026, 12, 14, 9, tzinfo=PRAGUE)

    await rt.runner.process([timer_record])
    await rt.runner.process([timer_record])  # redelivered: the inbox keeps it to one effect
    row = await rt.instance(key)
    assert row.state == "reminded" and row.data["reminders_sent"] == 1
    [reminder] = await rt.outbox_rows("process.events")
    assert decode(reminder.value).payload == ReminderRequested(level=1, amount_due=Decimal("1200.49"))
    assert await rt.timers(key) == {"first_reminder": "fired", "final_notice": "pending"}

    rt.clock.set(dt.datetime(2027, 1, 18, 10, 0, tzinfo=PRAGUE))  # by 10:00, 2 working days before 20 Jan
    [final_record] = await rt.fire_timers()
    await rt.runner.process([final_record])
    row = await rt.instance(key)
    assert row.state == "escalated" and row.data["escalation"] == {"level": "high", "fee": Decimal("150.5")}
    assert len(await rt.outbox_rows("process.events")) == 2
    assert await history(engine, int(row.id)) == [
        (1, None, "open", "created", "invoice.overdue"),
        (2, "open", "reminded", "transitioned", "process.timer"),
        (3, "reminded", "escalated", "transitioned", "process.timer"),
    ]
    async with engine.connect() as conn:
        assert await store.version_source(conn, "reminder", "v1") == "machine: reminder # v1"


async def test_payment_cancels_the_timer_and_a_fired_timer_that_raced_it_is_stale(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt, key = Runtime(engine, decisions), f"CA-{unique}"
    await rt.deliver("payments.events", overdue(key=key))
    await rt.deliver("payments.events", payment("1200.48", key=key))  # partial: stays open, timer kept
    row = await rt.instance(key)
    assert row.state == "open" and row.data["amount_due"] == Decimal("0.01") and row.transitions == 1
    assert await rt.timers(key) == {"first_reminder": "pending"}

    rt.clock.advance(dt.timedelta(days=30))
    [timer_record] = await rt.fire_timers()  # fired, but the payment below is consumed first
    await rt.deliver("payments.events", payment("0.01", key=key))
    assert (await rt.instance(key)).state == "paid"
    await rt.runner.process([timer_record])
    row = await rt.instance(key)
    assert row.state == "paid" and row.data["reminders_sent"] == 0
    assert rt.handler.dispositions[("reminder", "ignored_stale_timer")] == 1
    assert await rt.outbox_rows("process.events") == []
    assert [h[3] for h in await history(engine, int(row.id))] == ["created", "internal", "transitioned"]


async def test_exit_cancels_pending_timers_and_ignored_messages_change_nothing(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt, key = Runtime(engine, decisions), f"CA-{unique}"
    await rt.deliver("payments.events", payment("1.00", key=key))  # no instance, not a start type
    await rt.deliver("payments.events", overdue(key=key))
    before = await rt.instance(key)
    await rt.deliver("payments.events", overdue(key=key))  # no transition for it in "open"
    assert (await rt.instance(key)).updated_at == before.updated_at
    await rt.deliver("payments.events", payment("5000.00", key=key))
    assert await rt.timers(key) == {"first_reminder": "cancelled"}
    rt.clock.advance(dt.timedelta(days=60))
    assert await rt.fire_timers() == []
    await rt.deliver("payments.events", payment("1.00", key=key))
    counts = rt.handler.dispositions
    assert counts[("reminder", "ignored_no_instance")] == 1 and counts[("reminder", "ignored_no_match")] == 1
    assert counts[("reminder", "ignored_final")] == 1 and counts[("reminder", "transitioned")] == 1


async def test_timer_messages_of_other_machines_are_ignored(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt, key = Runtime(engine, decisions), f"CA-{unique}"
    await rt.deliver("payments.events", overdue(key=key))
    body = TimerFired(machine="switch", name="first_reminder", timer_id=1, due_at=NOW, instance_key=key)
    from schemas.envelope import new_envelope

    await rt.deliver("process.timers", new_envelope(body, key=key, now=NOW))
    assert (await rt.instance(key)).state == "open" and sum(rt.handler.dispositions.values()) == 1


async def test_author_error_dead_letters_the_message_and_changes_nothing(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt, key = Runtime(engine, decisions), f"CA-{unique}"
    await rt.deliver("payments.events", overdue(key=key, final=dt.date(2027, 1, 20)))
    async with engine.begin() as conn:  # corrupt the date the next state's timer needs
        await conn.execute(
            process_instance.update()
            .where(process_instance.c.key == key)
            .values(data={"reminders_sent": 0, "amount_due": Decimal("1200.49"), "final_date": "soon"})
        )
    rt.clock.advance(dt.timedelta(days=30))
    [timer_record] = await rt.fire_timers()
    await rt.runner.process([timer_record])
    [letter] = await dlq.list_letters(engine)
    assert letter.reason.startswith("handler failed (not retryable): HandlerRejected")
    assert "reminder.yaml:33" in letter.reason and "'data.final_date' is 'soon'" in letter.reason
    assert (await rt.instance(key)).state == "open"
    assert await rt.outbox_rows("process.events") == []


async def test_scheduler_loop_and_concurrent_rounds_fire_each_timer_once(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    rt = Runtime(engine, decisions)
    keys = [f"CA-{unique}-{n}" for n in range(12)]
    await rt.deliver("payments.events", *[overdue(key=k) for k in keys])
    rt.clock.advance(dt.timedelta(days=30))
    small = TimerScheduler(engine, rt.clock, batch_max=5, poll_interval_s=0.05)
    fired = await asyncio.gather(small.run_once(), small.run_once(), small.run_once())
    assert sum(fired) == min(15, len(keys))
    await rt.scheduler.start()
    for _ in range(100):
        if len(await rt.outbox_rows("process.timers")) == len(keys):
            break
        await asyncio.sleep(0.02)
    await rt.scheduler.stop()
    await rt.scheduler.stop()  # idempotent
    rows = await rt.outbox_rows("process.timers")
    ids = [decode(r.value).payload.timer_id for r in rows]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == len(keys)
    async with engine.connect() as conn:
        due = await conn.scalar(sa.select(sa.func.min(process_timer.c.fired_at)))
    assert due is not None and as_utc(due) == rt.clock.now()


async def test_instances_keep_their_version_unless_a_migration_maps_their_state(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    old, key, other = Runtime(engine, decisions), f"CA-{unique}", f"CB-{unique}"
    await old.handler.register_versions(engine, NOW)
    await old.deliver("payments.events", overdue(key=key), overdue(key=other))
    parsed: list[str] = []

    def parse(source: str, label: str) -> Machine:
        parsed.append(label)
        assert source == "machine: reminder # v1"
        return reminder_machine("v1")

    # v2 has no partial payments in "open"; instances started on v1 still have them.
    v2 = reminder_machine("v2")
    v2 = dataclasses.replace(
        v2,
        states={
            **v2.states,
            "open": dataclasses.replace(v2.states["open"], transitions=v2.states["open"].transitions[:2]),
        },
    )
    new = Runtime(engine, decisions, v2, parse=parse)  # the daemon passes ``loader.parse_machine``
    await new.deliver("payments.events", payment("100.00", key=key), payment("100.00", key=key))
    row = await new.instance(key)
    assert (row.version, row.state, row.data["amount_due"]) == ("v1", "open", Decimal("1000.49"))
    assert parsed == ["reminder@v1"]  # parsed once, then cached

    moved = Runtime(engine, decisions, reminder_machine("v3", migrations={"v1": {"open": "open"}}))
    await moved.deliver("payments.events", payment("0.49", key=other))
    row = await moved.instance(other)
    assert (row.version, row.state, row.data["amount_due"]) == ("v3", "open", Decimal("1200.00"))


async def test_restart_runs_again_on_the_stored_instance_and_its_newest_version(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    """A machine with ``restart`` begins a new run on an ended instance: the same row, the current version
    (also when the instance ended on an older one), history continued, the new run's timer armed."""
    key = f"CA-{unique}"
    old = Runtime(engine, decisions)
    await old.handler.register_versions(engine, NOW)
    await old.deliver("payments.events", overdue(key=key), payment("5000.00", key=key))
    ended = await old.instance(key)
    assert (ended.version, ended.state) == ("v1", "paid")

    def parse(source: str, label: str) -> Machine:
        return reminder_machine("v1")

    v2 = dataclasses.replace(reminder_machine("v2"), restart=True)
    new = Runtime(engine, decisions, v2, parse=parse)
    await new.deliver("payments.events", payment("1.00", key=key))  # not a start message: still ended
    assert (await new.instance(key)).state == "paid"
    await new.deliver("payments.events", overdue(key=key, amount="10.00"))
    row = await new.instance(key)
    assert (row.id, row.version, row.state) == (ended.id, "v2", "open")
    assert row.data["amount_due"] == Decimal("10.00") and row.seq == ended.seq + 1
    steps = [(h[1], h[2], h[3]) for h in await history(engine, row.id)]
    assert steps[-1] == ("paid", "open", "restarted") and len(steps) == row.seq
    assert await new.timers(key) == {"first_reminder": "pending"}
    assert new.handler.dispositions[("reminder", "restarted")] == 1
