"""The bus contract: every backend must pass these tests unchanged.

A backend's test module subclasses ``BusContract`` and provides the ``bus`` fixture (a started bus). Topic
and group names are unique per test, because Kafka topics and groups outlive a test run.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence

from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, Record, TopicPartition
from gateway.bus.topics import TopicSpec

#: Longest any contract test waits for records to arrive; generous for a cold broker on 2 cores.
WAIT_S_MAX = 60.0
PARTITIONS = 3


async def drain(consumer: BusConsumer, count: int, *, wait_s: float = WAIT_S_MAX) -> list[Record]:
    """Fetch until ``count`` records arrived (or fail after ``wait_s``)."""
    records: list[Record] = []
    deadline = time.monotonic() + wait_s
    while len(records) < count:
        assert time.monotonic() < deadline, f"got {len(records)} of {count} records in {wait_s}s"
        records += await consumer.fetch(max_records=500, timeout_s=0.5)
    return records


async def fetch_quiet(consumer: BusConsumer, quiet_s: float = 2.0) -> list[Record]:
    """Fetch until nothing more comes for ``quiet_s``."""
    records: list[Record] = []
    quiet_until = time.monotonic() + quiet_s
    while time.monotonic() < quiet_until:
        batch = await consumer.fetch(max_records=500, timeout_s=0.3)
        if batch:
            records += batch
            quiet_until = time.monotonic() + quiet_s
    return records


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        offsets[record.tp] = max(offsets.get(record.tp, 0), record.offset + 1)
    return offsets


class BusContract:
    async def make_topic(self, bus: Bus, unique: str, name: str = "t") -> str:
        topic = f"contract.{name}.{unique}"
        await bus.ensure_topics([TopicSpec(topic, key_meaning="test key", partitions=PARTITIONS)], 3)
        return topic

    async def test_publish_then_consume_keeps_key_value_headers(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        await bus.publish([OutgoingRecord(topic, "k1", b"v1", (("h", b"x"),))])
        async with bus.consumer(f"g-{unique}", [topic]) as consumer:
            [record] = await drain(consumer, 1)
        assert (record.topic, record.key, record.value) == (topic, "k1", b"v1")
        assert record.header("h") == b"x"
        assert record.offset == 0
        assert 0 <= record.partition < PARTITIONS

    async def test_per_key_order_and_same_key_same_partition(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        keys = [f"key-{i}" for i in range(20)]
        sent = [OutgoingRecord(topic, k, f"{k}:{n}".encode()) for n in range(50) for k in keys]
        for start in range(0, len(sent), 250):
            await bus.publish(sent[start : start + 250])
        async with bus.consumer(f"g-{unique}", [topic]) as consumer:
            records = await drain(consumer, len(sent))
        seen: dict[str, list[int]] = defaultdict(list)
        partition_of: dict[str, set[int]] = defaultdict(set)
        for record in records:
            assert record.key is not None
            key, n = record.value.decode().split(":")
            assert key == record.key
            seen[key].append(int(n))
            partition_of[key].add(record.partition)
        assert all(numbers == list(range(50)) for numbers in seen.values()), "per-key order broken"
        assert all(len(p) == 1 for p in partition_of.values()), "a key spread over partitions"
        assert len({p for ps in partition_of.values() for p in ps}) > 1, "all keys on one partition"

    async def test_group_members_share_partitions_each_record_once(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        sent = [OutgoingRecord(topic, f"k{i}", str(i).encode()) for i in range(300)]
        group = f"g-{unique}"
        first, second = bus.consumer(group, [topic]), bus.consumer(group, [topic])
        await first.start()
        await second.start()
        try:
            await self._wait_balanced(first, second)
            await bus.publish(sent)
            got = await asyncio.gather(self._fetch_commit(first), self._fetch_commit(second))
        finally:
            await first.stop()
            await second.stop()
        values = [r.value for batch in got for r in batch]
        assert sorted(values) == sorted(r.value for r in sent), "lost or duplicated within a group"
        assert got[0] and got[1], "one member got nothing"
        assert not ({r.partition for r in got[0]} & {r.partition for r in got[1]})

    async def _wait_balanced(self, first: BusConsumer, second: BusConsumer) -> None:
        deadline = time.monotonic() + WAIT_S_MAX
        while True:
            await asyncio.gather(first.fetch(10, 0.2), second.fetch(10, 0.2))
            a, b = first.assignment(), second.assignment()
            if a and b and not (a & b) and len(a | b) == PARTITIONS:
                return
            assert time.monotonic() < deadline, f"group never balanced: {a} / {b}"

    async def _fetch_commit(self, consumer: BusConsumer) -> list[Record]:
        records = await fetch_quiet(consumer, quiet_s=3.0)
        assert await consumer.commit(next_offsets(records))
        return records

    async def test_other_groups_each_get_everything(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        await bus.publish([OutgoingRecord(topic, f"k{i}", str(i).encode()) for i in range(40)])
        for group in ("a", "b"):
            async with bus.consumer(f"g-{group}-{unique}", [topic]) as consumer:
                assert len(await drain(consumer, 40)) == 40

    async def test_committed_offsets_resume_uncommitted_redeliver(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        await bus.publish([OutgoingRecord(topic, "same", str(i).encode()) for i in range(10)])
        group = f"g-{unique}"
        async with bus.consumer(group, [topic]) as consumer:
            records = await drain(consumer, 10)
            assert await consumer.commit(next_offsets(records[:4]))
        async with bus.consumer(group, [topic]) as consumer:
            again = await drain(consumer, 6)
            assert [r.value for r in again] == [str(i).encode() for i in range(4, 10)]
            assert not await fetch_quiet(consumer, quiet_s=1.0)

    async def test_describe_reports_end_offsets_and_group_commits(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        await bus.publish([OutgoingRecord(topic, "one-key", b"x") for _ in range(5)])
        group = f"g-{unique}"
        async with bus.consumer(group, [topic]) as consumer:
            records = await drain(consumer, 5)
            assert await consumer.commit(next_offsets(records[:3]))
        infos = {i.partition: i for i in await bus.describe([topic])}
        assert sorted(infos) == list(range(PARTITIONS))
        [used] = [i for i in infos.values() if i.end_offset > 0]
        assert used.end_offset == 5
        assert used.committed[group] == 3
        assert used.lag(group) == 2

    async def test_ensure_topics_is_idempotent_and_ping_answers(self, bus: Bus, unique: str) -> None:
        topic = await self.make_topic(bus, unique)
        await self.make_topic(bus, unique)
        assert len(await bus.describe([topic])) == PARTITIONS
        await bus.ping()
