"""A row over the configured ``message_bytes_max`` is parked by the relay, not retried at the head of the
line: the rows after it are published, the parked one is kept with its reason and released, with its message
id, once the limit allows it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import outbox, outbox_parked
from gateway.bus.base import OutgoingRecord
from gateway.bus.outbox import HEADER_MESSAGE_ID, OutboxRelay
from gateway.clock import ManualClock
from gateway.errors import Conflict, NotFound
from gateway.ids import uuid7
from gateway.metrics import Metrics
from tests.bus.test_outbox_paths import CapturingBus

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
LIMIT_BYTES = 2_048


def relay(
    engine: AsyncEngine, bus: CapturingBus, bytes_max: int, metrics: Metrics | None = None
) -> OutboxRelay:
    return OutboxRelay(engine, bus, clock=ManualClock(NOW), batch_max=100, poll_interval_s=1.0,
                       sent_retention_s=60.0, record_bytes_max=bytes_max, metrics=metrics)


def record(key: str, size_bytes: int, message_id: str) -> OutgoingRecord:
    return OutgoingRecord("t", key, b"x" * size_bytes, ((HEADER_MESSAGE_ID, message_id.encode()),))


async def test_a_row_over_the_limit_is_parked_and_the_rows_after_it_are_published(
    engine: AsyncEngine,
) -> None:
    ids = [uuid7() for _ in range(4)]
    records = [record("k", 100, str(ids[0])), record("k", LIMIT_BYTES + 1, str(ids[1])),
               record("k", LIMIT_BYTES, str(ids[2])), record("j", 5_000, str(ids[3]))]
    async with engine.begin() as conn:
        await outbox.add(conn, list(zip(ids, records, strict=True)), NOW)
    bus, metrics = CapturingBus(), Metrics()
    assert await relay(engine, bus, LIMIT_BYTES, metrics).run_once() == 4  # two published, two parked
    assert bus.published == [records[0], records[2]]  # the limit itself is allowed
    assert await outbox.backlog(engine) == (0, 2)
    assert metrics.registry.get_sample_value("proud_outbox_parked") == 2

    parked, total = await outbox_parked.listing(engine)
    assert total == 2
    assert [(p.message_id, p.key, p.size_bytes, p.parked_at) for p in parked] == [
        (ids[1], "k", LIMIT_BYTES + 1, NOW), (ids[3], "j", 5_000, NOW),
    ]
    assert parked[0].seq < parked[1].seq
    assert parked[0].reason.startswith(f"value is {LIMIT_BYTES + 1} bytes, over message_bytes_max of "
                                       f"{LIMIT_BYTES} bytes")
    assert await relay(engine, bus, LIMIT_BYTES).run_once() == 0  # nothing left in the line


async def test_release_refuses_a_row_still_over_the_limit_and_then_queues_it_again(
    engine: AsyncEngine,
) -> None:
    first, big, later = uuid7(), uuid7(), uuid7()
    async with engine.begin() as conn:
        await outbox.add(conn, [(first, record("k", 10, str(first))), (big, record("k", 3_000, str(big)))],
                         NOW)
    bus = CapturingBus()
    await relay(engine, bus, LIMIT_BYTES).run_once()
    [parked], _ = await outbox_parked.listing(engine)

    with pytest.raises(Conflict) as still_over:
        await outbox_parked.release(engine, [parked.seq], LIMIT_BYTES)
    refusal = f"parked outbox row {parked.seq} (message {big}, topic t, key 'k') is 3000 bytes, still over"
    assert refusal in str(still_over.value)
    with pytest.raises(NotFound) as unknown:
        await outbox_parked.release(engine, [parked.seq, parked.seq + 1_000], 4_096)
    assert f"seq {parked.seq + 1_000}" in str(unknown.value)
    assert (await outbox_parked.listing(engine))[1] == 1  # all or none: nothing was released

    async with engine.begin() as conn:  # queued while it was parked: published before it
        await outbox.add(conn, [(later, record("k", 20, str(later)))], NOW)
    released = await outbox_parked.release(engine, None, 4_096)
    assert [p.message_id for p in released] == [big]
    assert await outbox.backlog(engine) == (2, 0)
    while await relay(engine, bus, 4_096).run_once():
        pass
    assert [dict(r.headers)[HEADER_MESSAGE_ID] for r in bus.published] == [
        str(first).encode(), str(later).encode(), str(big).encode(),
    ]
    assert bus.published[-1].value == b"x" * 3_000
