"""The outbox's per-database statements (array parameters on PostgreSQL, executemany on SQLite) agree:
rows get sequence numbers in the order given, headers with any bytes come back unchanged, and a relay
round marks exactly the rows it published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bus import outbox
from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, PartitionInfo
from gateway.bus.outbox import OutboxRelay
from gateway.bus.runner import claim
from gateway.bus.topics import TopicSpec
from gateway.clock import ManualClock
from gateway.errors import MessageTooLarge
from gateway.ids import uuid7
from gateway.store.tables import inbox
from gateway.store.tables import outbox as outbox_table

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


class CapturingBus(Bus):
    backend = "capture"

    def __init__(self) -> None:
        self.published: list[OutgoingRecord] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self, specs: Sequence[TopicSpec], default_partitions: int) -> None: ...

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        self.published.extend(records)

    def consumer(self, group_id: str, topics: Sequence[str]) -> BusConsumer:
        raise NotImplementedError

    async def describe(self, topics: Sequence[str] | None = None) -> list[PartitionInfo]:
        return []

    async def ping(self) -> None: ...


async def test_rows_are_published_in_the_order_given_with_headers_intact(engine: AsyncEngine) -> None:
    odd = bytes(range(256))  # every byte value, NUL included
    records = [
        OutgoingRecord("t", f"k{i % 3}", f"v{i}".encode(), (("proud-id", str(i).encode()), ("raw", odd)))
        for i in range(25)
    ]
    async with engine.begin() as conn:
        await outbox.add(conn, [(uuid7(), r) for r in records[:10]], NOW)
    async with engine.begin() as conn:
        await outbox.add(conn, [(uuid7(), r) for r in records[10:]], NOW)
    bus = CapturingBus()
    relay = OutboxRelay(engine, bus, clock=ManualClock(NOW), batch_max=7, poll_interval_s=1.0,
                        sent_retention_s=60.0)
    assert await relay.run_once() == 7
    async with engine.connect() as conn:
        sent = await conn.scalar(
            sa.select(sa.func.count()).select_from(outbox_table).where(outbox_table.c.sent_at.is_not(None))
        )
    assert sent == 7  # exactly the rows published, no more
    while await relay.run_once():
        pass
    assert bus.published == records
    assert (await outbox.backlog(engine))[0] == 0


async def test_claim_returns_only_new_ids_once(engine: AsyncEngine) -> None:
    group = f"claim-{uuid7().hex[:8]}"
    first, second, third = uuid7(), uuid7(), uuid7()
    async with engine.begin() as conn:
        assert await claim(conn, group, [first, second, first], NOW) == {first, second}
    async with engine.begin() as conn:
        assert await claim(conn, group, [second, third], NOW) == {third}
        await conn.execute(inbox.delete().where(inbox.c.group_id == group))


async def test_a_record_over_the_bus_limit_fails_its_transaction_and_queues_nothing(
    engine: AsyncEngine,
) -> None:
    fits = OutgoingRecord("t", "k", b"x" * limits.MESSAGE_BYTES_MAX, ())
    over = OutgoingRecord("t", "big", b"x" * (limits.MESSAGE_BYTES_MAX + 1), ())
    with pytest.raises(MessageTooLarge) as refused:
        async with engine.begin() as conn:
            await outbox.add(conn, [(uuid7(), fits), (uuid7(), over)], NOW)
    assert f"topic t (key 'big') is {limits.MESSAGE_BYTES_MAX + 1} bytes" in str(refused.value)
    assert (await outbox.backlog(engine))[0] == 0
    async with engine.begin() as conn:  # the limit itself is allowed
        await outbox.add(conn, [(uuid7(), fits)], NOW)
    assert (await outbox.backlog(engine))[0] == 1
