"""A batch with several messages for the same key ends exactly as the same messages applied one by one:
instances, history, timers, emitted messages and dispositions, on SQLite and PostgreSQL.

The handler applies a batch with a few multi-row statements (``ProcessHandler.apply_many``); the runner
applies messages one at a time only after a batch failed. Both runs below go through the runner; the batch
run must not fall back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from gateway.process.definition import Machine
from gateway.process.engine import Disposition
from gateway.process.expressions import Decisions
from gateway.process.tables import process_history, process_instance, process_timer
from schemas.envelope import Envelope, decode, encode
from tests.process.test_engine import overdue, payment
from tests.process.test_runtime_db import Runtime


def _story(prefix: str) -> list[Envelope]:
    """Messages for five keys, several per key, interleaved as a partition would deliver them."""
    k = [f"{prefix}-{n}" for n in range(5)]
    return [
        overdue(key=k[0]), payment("1200.49", key=k[0]),  # create + payment in one batch
        overdue(key=k[1]), payment("200.00", key=k[1]), payment("300.00", key=k[1]),  # two partials
        payment("700.49", key=k[1]),  # ... and the rest: paid
        payment("1.00", key=k[2]), overdue(key=k[2]), overdue(key=k[2]),  # no instance; then no match
        overdue(key=k[3]), payment("5000.00", key=k[3]), payment("1.00", key=k[3]),  # paid; then final
        overdue(key=k[4]),  # its timer fires below
    ]


async def _state(rt: Runtime, prefix: str) -> dict[str, object]:
    """Everything the store holds for the keys of ``prefix``, without ids and message ids."""
    i, h, t = process_instance, process_history, process_timer
    like = f"{prefix}-%"
    async with rt.engine.connect() as conn:
        instances = (await conn.execute(
            sa.select(i.c.key, i.c.version, i.c.state, i.c.data, i.c.seq, i.c.entered_seq, i.c.transitions)
            .where(i.c.key.like(like)).order_by(i.c.key)
        )).all()
        history = (await conn.execute(
            sa.select(i.c.key, h.c.seq, h.c.from_state, h.c.to_state, h.c.transition_at, h.c.message_type,
                      h.c.disposition)
            .join(i, i.c.id == h.c.instance_id).where(i.c.key.like(like)).order_by(i.c.key, h.c.seq)
        )).all()
        timers = (await conn.execute(
            sa.select(t.c.key, t.c.name, t.c.due_at, t.c.state_entry, t.c.status, t.c.fired_at)
            .where(t.c.key.like(like)).order_by(t.c.key, t.c.id)
        )).all()
    emitted = sorted(
        (e.key, e.type) for e in (decode(r.value) for r in await rt.outbox_rows("process.events"))
        if e.key.startswith(prefix)
    )
    strip = len(prefix)
    return {
        "instances": [(r[0][strip:], *r[1:]) for r in instances],
        "history": [(r[0][strip:], *r[1:]) for r in history],
        "timers": [(r[0][strip:], *r[1:]) for r in timers],
        "emitted": [(key[strip:], kind) for key, kind in emitted],
        "dispositions": dict(rt.handler.dispositions),
    }


async def _run(engine: AsyncEngine, decisions: Decisions, prefix: str, *, batch: bool) -> dict[str, object]:
    rt = Runtime(engine, decisions)
    sizes: list[int] = []
    apply_many = rt.handler.apply_many

    async def spy(machine: Machine, contexts: Sequence[HandlerContext]) -> list[Disposition | None]:
        sizes.append(len(contexts))
        return await apply_many(machine, contexts)

    rt.handler.apply_many = spy  # type: ignore[method-assign]
    messages = _story(prefix)
    if batch:
        await rt.deliver("payments.events", *messages)
    else:
        for message in messages:
            await rt.deliver("payments.events", message)
    rt.clock.advance(dt.timedelta(days=30))
    timers = [r for r in await rt.fire_timers() if r.key and r.key.startswith(prefix)]
    assert len(timers) == 2  # the first reminders of keys 2 and 4
    # The timer moves key 4 to "reminded" (arming final_notice); the payment then cancels that new timer.
    after = [*timers, *(_record(payment("1.00", key=f"{prefix}-4"), rt) for _ in range(2))]
    if batch:
        await rt.runner.process(after)
    else:
        for record in after:
            await rt.runner.process([record])
    expected_sizes = [len(messages), len(after)] if batch else [1] * (len(messages) + len(after))
    assert sizes == expected_sizes  # the batch run never fell back to one by one
    return await _state(rt, prefix)


def _record(envelope: Envelope, rt: Runtime) -> Record:
    rt.offset += 1
    return Record("payments.events", 0, rt.offset, envelope.key, encode(envelope))


async def test_a_batch_with_several_messages_per_key_ends_as_one_by_one(
    engine: AsyncEngine, decisions: Decisions, unique: str
) -> None:
    one_by_one = await _run(engine, decisions, f"S-{unique}", batch=False)
    batched = await _run(engine, decisions, f"B-{unique}", batch=True)
    assert batched == one_by_one
    states = {row[0]: row[2] for row in one_by_one["instances"]}  # type: ignore[attr-defined]
    assert states == {"-0": "paid", "-1": "paid", "-2": "reminded", "-3": "paid", "-4": "paid"}
    timers = [(row[0], row[1], row[4]) for row in one_by_one["timers"]]  # type: ignore[attr-defined]
    assert ("-4", "final_notice", "cancelled") in timers and ("-4", "first_reminder", "fired") in timers
    reminders = [("-2", "process.reminder_requested"), ("-4", "process.reminder_requested")]
    assert one_by_one["emitted"] == reminders
