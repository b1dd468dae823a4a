"""``SqlLogBus`` on SQLite and PostgreSQL: the bus contract, then what only the SQL log has to get right
(Kafka's partitioner, leases and fenced commits under a manual clock, retention, and offsets that stay
contiguous and in order while several processes publish)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, Record
from gateway.bus.sqllog import RETENTION_FOREVER, SqlLogBus, partition_for
from gateway.bus.topics import TopicSpec
from gateway.clock import Clock, ManualClock, SystemClock
from gateway.errors import BusUnavailable, NotFound
from gateway.store.db import create_engine
from tests.bus.contract import PARTITIONS, BusContract, drain, next_offsets

POLL_INTERVAL_S = 0.01
SESSION_TIMEOUT_S = 10.0
SESSION = dt.timedelta(seconds=SESSION_TIMEOUT_S)
START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
#: Zero-timeout fetch rounds a group gets to share its partitions out (two or three suffice).
SETTLE_ROUNDS_MAX = 20
#: The shortest retention a topic may have.
RETENTION_MS = 60_000
ALL_PARTITIONS = frozenset(range(PARTITIONS))


def _bus(engine: AsyncEngine, clock: Clock) -> SqlLogBus:
    return SqlLogBus(
        engine, clock=clock, poll_interval_s=POLL_INTERVAL_S, session_timeout_s=SESSION_TIMEOUT_S
    )


class TestSqliteContract(BusContract):
    @pytest.fixture
    async def bus(self, sqlite_engine: AsyncEngine) -> AsyncIterator[Bus]:
        async with _bus(sqlite_engine, SystemClock()) as bus:
            yield bus


@pytest.mark.postgres
class TestPostgresContract(BusContract):
    @pytest.fixture
    async def bus(self, pg_engine: AsyncEngine) -> AsyncIterator[Bus]:
        async with _bus(pg_engine, SystemClock()) as bus:
            yield bus


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def bus(engine: AsyncEngine, clock: ManualClock) -> AsyncIterator[SqlLogBus]:
    bus = _bus(engine, clock)
    await bus.start()
    yield bus
    await bus.stop()


async def _topic(bus: Bus, unique: str, name: str = "t", retention_ms: int = 7 * 86_400_000) -> str:
    topic = f"sql.{name}.{unique}"
    await bus.ensure_topics([TopicSpec(topic, "test key", PARTITIONS, retention_ms)], PARTITIONS)
    return topic


def _partitions(consumer: BusConsumer) -> frozenset[int]:
    return frozenset(tp.partition for tp in consumer.assignment())


async def _settle(*members: BusConsumer) -> None:
    """Zero-timeout fetches (the manual clock stands still) until the members split the partitions."""
    for _ in range(SETTLE_ROUNDS_MAX):
        for member in members:
            await member.fetch(max_records=10, timeout_s=0)
        held = [_partitions(m) for m in members]
        if all(held) and sum(map(len, held)) == PARTITIONS and frozenset().union(*held) == ALL_PARTITIONS:
            return
    pytest.fail(f"group never settled: {held}")


async def _committed(bus: Bus, topic: str, group: str) -> dict[int, int]:
    return {info.partition: info.committed.get(group, 0) for info in await bus.describe([topic])}


def _spread(topic: str, count: int) -> list[OutgoingRecord]:
    return [OutgoingRecord(topic, f"k{n % 20}", str(n).encode()) for n in range(count)]


def test_partition_for_is_kafkas_default_partitioner() -> None:
    kafka = DefaultPartitioner()
    for partitions in (1, 3, 6, 256):
        numbers = list(range(partitions))
        for key in [f"customer-{n}" for n in range(300)] + ["", "Příliš žluťoučký kůň"]:
            assert partition_for(key, partitions) == kafka(key.encode(), numbers, numbers), key


async def test_a_dead_members_partitions_go_to_a_live_member(
    bus: Bus, clock: ManualClock, unique: str
) -> None:
    topic = await _topic(bus, unique)
    group = f"g-{unique}"
    async with bus.consumer(group, [topic]) as a, bus.consumer(group, [topic]) as b:
        await _settle(a, b)
        a_parts, b_parts = _partitions(a), _partitions(b)
        sent = _spread(topic, 60)
        await bus.publish(sent)
        a_count = sum(partition_for(r.key, PARTITIONS) in a_parts for r in sent)
        a_records = await drain(a, a_count)  # a reads and then stops fetching: it "dies" uncommitted
        b_records = await drain(b, len(sent) - a_count)
        assert await b.commit(next_offsets(b_records))

        clock.advance(SESSION * 0.9)  # a is late but not dead yet: b keeps to its share
        assert await b.fetch(500, 0) == []
        assert _partitions(b) == b_parts

        clock.advance(SESSION * 0.2)
        again = await drain(b, a_count)
        assert _partitions(b) == ALL_PARTITIONS
        # From a's committed offsets (none): everything a had read comes again, nothing of b's.
        assert sorted((r.partition, r.offset, r.value) for r in again) == sorted(
            (r.partition, r.offset, r.value) for r in a_records
        )
        assert {r.partition for r in again} == a_parts


async def test_commit_is_fenced_once_the_partition_moved(bus: Bus, clock: ManualClock, unique: str) -> None:
    topic = await _topic(bus, unique)
    group = f"g-{unique}"
    sent = _spread(topic, 30)
    await bus.publish(sent)
    async with bus.consumer(group, [topic]) as a:
        a_records = await drain(a, len(sent))  # a alone: it takes all partitions
        assert _partitions(a) == ALL_PARTITIONS
        clock.advance(SESSION + dt.timedelta(seconds=1))
        b = bus.consumer(group, [topic])
        await b.start()
        b_records = await drain(b, len(sent))  # a's leases expired: b takes over from offset 0
        assert _partitions(b) == ALL_PARTITIONS

        assert not await a.commit(next_offsets(a_records))
        assert await _committed(bus, topic, group) == dict.fromkeys(range(PARTITIONS), 0)
        assert await b.commit(next_offsets(b_records))
        ends = {info.partition: info.end_offset for info in await bus.describe([topic])}
        assert await _committed(bus, topic, group) == ends

        # a comes back, the group shares out again, and a commit naming one partition a lost does nothing.
        await _settle(a, b)
        [mine, *_] = sorted(a.assignment(), key=lambda tp: tp.partition)
        [theirs, *_] = sorted(b.assignment(), key=lambda tp: tp.partition)
        before = await _committed(bus, topic, group)
        assert not await a.commit({mine: 1, theirs: 1})
        assert await _committed(bus, topic, group) == before
        assert await a.commit({mine: 1})
        assert (await _committed(bus, topic, group))[mine.partition] == 1
        await b.stop()


async def test_stop_hands_partitions_over_without_waiting_for_the_lease(bus: Bus, unique: str) -> None:
    topic = await _topic(bus, unique)
    group = f"g-{unique}"
    async with bus.consumer(group, [topic]) as a:
        b = bus.consumer(group, [topic])
        await b.start()
        await _settle(a, b)
        await b.stop()
        await b.stop()  # idempotent
        assert b.assignment() == frozenset()
        await a.fetch(10, 0)  # the manual clock has not moved: only the release explains the takeover
        assert _partitions(a) == ALL_PARTITIONS


async def test_trim_removes_only_records_past_retention(
    bus: SqlLogBus, clock: ManualClock, unique: str
) -> None:
    short = await _topic(bus, unique, "short", retention_ms=RETENTION_MS)
    forever = await _topic(bus, unique, "forever", retention_ms=RETENTION_FOREVER)
    for topic in (short, forever):
        await bus.publish([OutgoingRecord(topic, "k", f"old-{n}".encode()) for n in range(4)])
    clock.advance(dt.timedelta(seconds=30))
    for topic in (short, forever):
        await bus.publish([OutgoingRecord(topic, "k", f"new-{n}".encode()) for n in range(3)])
    clock.advance(dt.timedelta(seconds=40))  # the old records are 70 s old, the new ones 40 s

    assert await bus.trim() == 4
    assert await bus.trim() == 0
    assert sum(info.end_offset for info in await bus.describe([short])) == 7  # offsets are not reused
    async with bus.consumer(f"g-{unique}", [short]) as reader:
        kept = await drain(reader, 3)
    assert [(r.offset, r.value) for r in kept] == [(4, b"new-0"), (5, b"new-1"), (6, b"new-2")]
    async with bus.consumer(f"g-{unique}", [forever]) as reader:
        assert len(await drain(reader, 7)) == 7

    clock.advance(dt.timedelta(seconds=30))
    assert await bus.trim() == 3


async def test_concurrent_publishers_leave_no_gaps_and_readers_skip_nothing(db_url: str, unique: str) -> None:
    """Two engines (two pools, like two processes) publish onto the same partitions while a reader reads."""
    writers, per_writer, batch = 2, 500, 5
    engines = [create_engine(db_url) for _ in range(writers + 1)]
    buses = [_bus(engine, SystemClock()) for engine in engines]
    try:
        topic = await _topic(buses[0], unique)

        async def publish(bus: Bus, writer: int) -> None:
            for start in range(0, per_writer, batch):
                await bus.publish([
                    OutgoingRecord(topic, f"k{n % 7}", f"{writer}:{n}".encode())
                    for n in range(start, start + batch)
                ])

        async with buses[-1].consumer(f"g-{unique}", [topic]) as reader:
            reading = asyncio.create_task(drain(reader, writers * per_writer))
            await asyncio.gather(*(publish(buses[w], w) for w in range(writers)))
            records = await reading
    finally:
        for engine in engines:
            await engine.dispose()
    _assert_contiguous_in_order(records, writers * per_writer)


def _assert_contiguous_in_order(records: Sequence[Record], count: int) -> None:
    offsets: dict[int, list[int]] = defaultdict(list)
    per_key: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for record in records:
        offsets[record.partition].append(record.offset)
        writer, n = record.value.decode().split(":")
        per_key[(writer, record.key)].append(int(n))
    assert len(records) == count == len({r.value for r in records})
    assert len(offsets) > 1
    for partition, seen in offsets.items():
        assert seen == list(range(len(seen))), f"partition {partition}: gap, duplicate or disorder"
    assert all(ns == sorted(ns) for ns in per_key.values()), "per-key order broken"


async def test_fetch_honours_max_records_and_serves_every_partition(bus: Bus, unique: str) -> None:
    topic = await _topic(bus, unique)
    await bus.publish(_spread(topic, 60))
    async with bus.consumer(f"g-{unique}", [topic]) as consumer:
        first = await consumer.fetch(max_records=7, timeout_s=5)
        rest = await drain(consumer, 60 - len(first))
    assert len(first) == 7
    assert {r.partition for r in first} == ALL_PARTITIONS
    assert len({(r.partition, r.offset) for r in first + rest}) == 60


async def test_headers_and_binary_values_round_trip(bus: Bus, unique: str) -> None:
    topic = await _topic(bus, unique)
    headers = (("proud-type", b"bench.event"), ("raw", b"\x00\xff\xfe"), ("empty", b""), ("raw", b"2"))
    await bus.publish([OutgoingRecord(topic, "k", b"\x00\x01binary\xff", headers)])
    async with bus.consumer(f"g-{unique}", [topic]) as consumer:
        [record] = await drain(consumer, 1)
    assert (record.value, record.headers) == (b"\x00\x01binary\xff", headers)
    assert record.timestamp_ms == int(START.timestamp() * 1000)


async def test_publish_to_an_unknown_topic_names_it(bus: Bus, unique: str) -> None:
    known = await _topic(bus, unique)
    missing = f"sql.missing.{unique}"
    with pytest.raises(NotFound, match=missing):
        await bus.publish([OutgoingRecord(known, "k", b"x"), OutgoingRecord(missing, "k", b"x")])
    assert all(info.end_offset == 0 for info in await bus.describe([known])), "half a batch was published"


async def test_an_unreachable_database_is_bus_unavailable(unique: str) -> None:
    engine = create_engine("postgresql+asyncpg://proud:proud@127.0.0.1:1/proud_test")  # nothing listens
    try:
        bus = _bus(engine, SystemClock())
        with pytest.raises(BusUnavailable):
            await bus.ping()
        with pytest.raises(BusUnavailable):
            await bus.publish([OutgoingRecord(f"sql.t.{unique}", "k", b"x")])
        with pytest.raises(BusUnavailable):
            await bus.start()
    finally:
        await engine.dispose()
