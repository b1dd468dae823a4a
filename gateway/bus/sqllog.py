"""The SQL log bus: Kafka's model (a partitioned append-only log, consumer groups) in the store's database.

The embedded "one-box" backend: no broker, the log lives in ``bus_log`` next to the application's tables
(SQLite or PostgreSQL). ``bus_partition`` holds each partition's next offset; a publisher takes offsets by
incrementing it, which locks the row until the publishing transaction ends, so on PostgreSQL a partition's
records become visible strictly in offset order and a reader that saw offset n has seen every offset below n
(a sequence would hand out numbers whose transactions can commit in any order). SQLite serialises writers.

Consumer groups are in ``sqllog_group``. Retention is ``trim``, for the owner of the bus to call
periodically (Kafka expires old segments by itself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import sqlalchemy as sa
from aiokafka.partitioner import murmur2
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bus.base import Bus, BusConsumer, OutgoingRecord, PartitionInfo, TopicPartition
from gateway.bus.sqllog_group import SqlLogConsumer, bus_errors, dialect_insert, encode_headers
from gateway.bus.topics import TopicSpec
from gateway.clock import Clock
from gateway.errors import BusUnavailable, NotFound
from gateway.store.tables import bus_group_offset, bus_log, bus_partition

#: Kafka's default partitioner drops the sign bit of the murmur2 hash before taking the modulo.
KAFKA_HASH_MASK: Final = 0x7FFFFFFF
#: Log rows one trim transaction deletes at most, so trimming never holds the SQLite write lock for long.
TRIM_BATCH_ROWS_MAX: Final = 10_000
#: Trim transactions per partition per ``trim`` call; a larger backlog is finished by the next calls.
TRIM_BATCHES_PER_PARTITION_MAX: Final = 100
#: Defaults for callers without settings (benchmarks, tests); the daemon passes ``sql_bus_*`` settings.
DEFAULT_POLL_INTERVAL_S: Final = 0.05
DEFAULT_SESSION_TIMEOUT_S: Final = 10.0
#: ``retention_ms`` of a topic that keeps its records for ever (Kafka's convention).
RETENTION_FOREVER: Final = -1

_parts = bus_partition.c
_log = bus_log.c


def partition_for(key: str, partitions: int) -> int:
    """Kafka's default partitioner, so a key lands on the same partition number in both backends."""
    return (int(murmur2(key.encode())) & KAFKA_HASH_MASK) % partitions


def _epoch_ms(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1000)


class SqlLogBus(Bus):
    backend: ClassVar[str] = "sql"

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock, poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S,
    ) -> None:
        assert poll_interval_s > 0 and session_timeout_s > poll_interval_s
        self._engine = engine
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._session_timeout_s = session_timeout_s
        # Partitions per topic, cached: ensure_topics never changes the count of an existing topic.
        self._partition_counts: dict[str, int] = {}

    async def start(self) -> None:
        await self.ping()

    async def stop(self) -> None:
        # Nothing is buffered (publish returns once committed) and the engine belongs to the store.
        self._partition_counts.clear()

    async def ping(self) -> None:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(sa.select(_parts.topic).limit(1))
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise BusUnavailable(f"SQL log bus does not answer: {exc.__class__.__name__}: {exc}") from exc

    async def ensure_topics(self, specs: Sequence[TopicSpec], default_partitions: int) -> None:
        assert 1 <= default_partitions <= limits.TOPIC_PARTITIONS_MAX
        if not specs:
            return
        with bus_errors("ensure topics"):
            async with self._engine.begin() as conn:
                existing = set((await conn.execute(
                    sa.select(_parts.topic).distinct().where(_parts.topic.in_([s.name for s in specs]))
                )).scalars())
                # Only whole missing topics: adding rows to an existing topic would move its keys.
                rows = [
                    {"topic": spec.name, "partition": partition, "next_offset": 0,
                     "retention_ms": spec.retention_ms}
                    for spec in specs if spec.name not in existing
                    for partition in range(spec.partition_count(default_partitions))
                ]
                if rows:
                    # Another process may create the same topic now; its rows win, ours are skipped.
                    await conn.execute(dialect_insert(conn, bus_partition).on_conflict_do_nothing(), rows)

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if not records:
            return
        counts = await self._counts({record.topic for record in records})
        batches: dict[TopicPartition, list[OutgoingRecord]] = defaultdict(list)
        for record in records:
            partition = partition_for(record.key, counts[record.topic])
            batches[TopicPartition(record.topic, partition)].append(record)
        timestamp_ms = _epoch_ms(self._clock)
        with bus_errors(f"publish {len(records)} records"):
            async with self._engine.begin() as conn:
                rows: list[dict[str, Any]] = []
                # Partitions in a fixed order, so two publishers lock rows alike and never deadlock.
                for tp in sorted(batches, key=lambda tp: (tp.topic, tp.partition)):
                    batch = batches[tp]
                    end = (await conn.execute(
                        sa.update(bus_partition)
                        .where(_parts.topic == tp.topic, _parts.partition == tp.partition)
                        .values(next_offset=_parts.next_offset + len(batch))
                        .returning(_parts.next_offset)
                    )).scalar_one()
                    first = int(end) - len(batch)
                    rows += [
                        {"topic": tp.topic, "partition": tp.partition, "offset": first + i,
                         "key": record.key, "value": record.value,
                         "headers": encode_headers(record.headers), "timestamp_ms": timestamp_ms}
                        for i, record in enumerate(batch)
                    ]
                await conn.execute(bus_log.insert(), rows)

    async def _counts(self, topics: set[str]) -> dict[str, int]:
        missing = topics - self._partition_counts.keys()
        if missing:
            with bus_errors("look up topics"):
                async with self._engine.connect() as conn:
                    found = await conn.execute(
                        sa.select(_parts.topic, sa.func.count()).where(_parts.topic.in_(missing))
                        .group_by(_parts.topic)
                    )
                    self._partition_counts |= {topic: int(count) for topic, count in found}
        unknown = sorted(topics - self._partition_counts.keys())
        if unknown:
            raise NotFound(f"SQL log bus: no topic {', '.join(unknown)} (ensure_topics creates topics)")
        return {topic: self._partition_counts[topic] for topic in topics}

    def consumer(self, group_id: str, topics: Sequence[str]) -> BusConsumer:
        return SqlLogConsumer(
            self._engine, self._clock, group_id, topics,
            poll_interval_s=self._poll_interval_s, session_timeout_s=self._session_timeout_s,
        )

    async def describe(self, topics: Sequence[str] | None = None) -> list[PartitionInfo]:
        ends_q = sa.select(_parts.topic, _parts.partition, _parts.next_offset)
        offsets = bus_group_offset.c
        commits_q = sa.select(offsets.topic, offsets.partition, offsets.group_id, offsets.next_offset)
        if topics is not None:
            ends_q = ends_q.where(_parts.topic.in_(topics))
            commits_q = commits_q.where(offsets.topic.in_(topics))
        with bus_errors("describe"):
            async with self._engine.connect() as conn:
                ends = (await conn.execute(ends_q.order_by(_parts.topic, _parts.partition))).all()
                commits = (await conn.execute(commits_q)).all()
        committed: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
        for topic, partition, group_id, next_offset in commits:
            committed[(topic, partition)][group_id] = next_offset
        return [
            PartitionInfo(topic, partition, end, dict(committed.get((topic, partition), {})))
            for topic, partition, end in ends
        ]

    async def trim(self) -> int:
        """Delete records older than their topic's retention; returns how many rows went."""
        cutoff_base_ms = _epoch_ms(self._clock)
        with bus_errors("trim: list partitions"):
            async with self._engine.connect() as conn:
                partitions = (await conn.execute(
                    sa.select(_parts.topic, _parts.partition, _parts.retention_ms)
                    .where(_parts.retention_ms != RETENTION_FOREVER)
                    .order_by(_parts.topic, _parts.partition)
                )).all()
        deleted = 0
        for topic, partition, retention_ms in partitions:
            deleted += await self._trim_partition(topic, partition, cutoff_base_ms - retention_ms)
        return deleted

    async def _trim_partition(self, topic: str, partition: int, cutoff_ms: int) -> int:
        """Delete the partition's oldest records, up to the first one still within retention.

        Only a prefix goes, as in Kafka (which drops whole old segments): publishers on hosts with skewed
        clocks can write timestamps out of order, and a hole inside a partition would look like lost data.
        """
        where = sa.and_(_log.topic == topic, _log.partition == partition)
        deleted = 0
        for _ in range(TRIM_BATCHES_PER_PARTITION_MAX):
            with bus_errors(f"trim {topic}[{partition}]"):
                async with self._engine.begin() as conn:
                    lowest = (await conn.execute(sa.select(sa.func.min(_log.offset)).where(where))).scalar()
                    if lowest is None:
                        return deleted
                    upper = lowest + TRIM_BATCH_ROWS_MAX
                    # Looked for within this batch only, so each round scans at most a batch of rows.
                    first_kept = (await conn.execute(
                        sa.select(_log.offset)
                        .where(where, _log.offset < upper, _log.timestamp_ms >= cutoff_ms)
                        .order_by(_log.offset).limit(1)
                    )).scalar()
                    if first_kept is not None:
                        upper = first_kept
                    result = await conn.execute(sa.delete(bus_log).where(
                        where, _log.offset < upper, _log.timestamp_ms < cutoff_ms
                    ))
            deleted += result.rowcount
            if result.rowcount < TRIM_BATCH_ROWS_MAX:
                return deleted
        return deleted
