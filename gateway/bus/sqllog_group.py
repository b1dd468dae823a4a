"""Consumer groups of the SQL log bus: membership, partition leases, fetch positions and fenced commits.

A member registers a row in ``bus_group_member`` and keeps its ``heartbeat_at`` fresh while it fetches. The
partitions of its topics are shared through ``bus_group_offset``: a row per (group, partition) holds the
committed offset and a lease (``owner``, ``lease_expires_at``). Every poll a member compares what it holds
with its fair share, ceil(partitions / live members): it gives back what is above the share (so that a new
member gets something) and claims free partitions (no owner, or an expired lease) below it. Claims are
compare-and-set updates, so two members never hold the same partition. Heartbeat and leases are written
together, so a member whose heartbeat is stale has stale leases too, and its partitions become free.

A commit updates only rows still owned by the committing member: a member that lost a partition can never
move the offset of the new owner back or forward.

All instants come from the injected clock, so tests expire a member deterministically with ``ManualClock``.
Members of one group are expected to read the same topics (as the consumer runtime does); the fair share is
computed over the member's own topics.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import math
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import limits
from gateway.bus.base import BusConsumer, Headers, Record, TopicPartition
from gateway.clock import Clock, as_utc
from gateway.errors import BusUnavailable, ConfigError
from gateway.store.db import is_transient
from gateway.store.tables import bus_group_member, bus_group_offset, bus_log, bus_partition

#: Heartbeat and leases are renewed once this fraction of the session timeout has passed, so a member
#: survives a couple of slow polls before its lease runs out.
LEASE_RENEW_FRACTION: Final = 1 / 3
#: Partitions one fetch reads from at most: bounds the UNION query (SQLite allows 500 compound terms);
#: the partitions left out come first in the next fetch.
FETCH_PARTITIONS_MAX: Final = 64

_offsets = bus_group_offset.c
_members = bus_group_member.c


@contextlib.contextmanager
def bus_errors(what: str) -> Iterator[None]:
    """Re-raise transient database failures as ``BusUnavailable``; leave the others (bugs) alone."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        if is_transient(exc):
            raise BusUnavailable(f"SQL log bus: {what}: {exc.__class__.__name__}: {exc}") from exc
        raise


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows ``ON CONFLICT DO NOTHING`` on both supported databases."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def encode_headers(headers: Headers) -> list[list[str]]:
    # The column is JSON, which has no bytes; base64 keeps binary header values intact.
    return [[name, base64.b64encode(value).decode("ascii")] for name, value in headers]


def decode_headers(raw: Sequence[Sequence[str]]) -> Headers:
    return tuple((name, base64.b64decode(value)) for name, value in raw)


@dataclass(frozen=True, slots=True)
class _Lease:
    """One ``bus_group_offset`` row as read at the start of a poll."""

    tp: TopicPartition
    committed: int
    owner: str | None
    expires_at: dt.datetime | None

    def held_by(self, member_id: str, now: dt.datetime) -> bool:
        return self.owner == member_id and self.expires_at is not None and self.expires_at > now

    def is_free(self, now: dt.datetime) -> bool:
        return self.owner is None or self.expires_at is None or self.expires_at <= now


def _tp_key(tp: TopicPartition) -> tuple[str, int]:
    return (tp.topic, tp.partition)


def _pk(tp: TopicPartition) -> sa.ColumnElement[bool]:
    return sa.and_(_offsets.topic == tp.topic, _offsets.partition == tp.partition)


def split_budget(budget: int, available: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Records to read per partition: an equal share each, then what short partitions left, in turn."""
    quotas = dict.fromkeys(available, 0)
    left = budget
    share = max(1, budget // max(1, len(available)))
    for tp, count in available.items():
        quotas[tp] = min(count, share, left)
        left -= quotas[tp]
    for tp, count in available.items():
        extra = min(count - quotas[tp], left)
        quotas[tp] += extra
        left -= extra
    return {tp: n for tp, n in quotas.items() if n > 0}


class SqlLogConsumer(BusConsumer):
    def __init__(
        self, engine: AsyncEngine, clock: Clock, group_id: str, topics: Sequence[str], *,
        poll_interval_s: float, session_timeout_s: float,
    ) -> None:
        assert topics, "a consumer reads at least one topic"
        assert poll_interval_s > 0 and session_timeout_s > 0
        self.group_id = group_id
        self.topics = tuple(dict.fromkeys(topics))
        self.member_id = f"{os.getpid()}-{uuid.uuid4().hex}"
        self._engine = engine
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._session = dt.timedelta(seconds=session_timeout_s)
        self._joined = False
        self._renew_due = dt.datetime.min.replace(tzinfo=dt.UTC)
        # Partitions held, with the next offset to fetch (in memory; the committed one is in the database).
        self._positions: dict[TopicPartition, int] = {}
        self._rotation = 0  # which held partition reads first, so a busy one cannot starve the others
        self._lock = asyncio.Lock()  # one database round at a time per member; stop waits for a poll

    def _now(self) -> dt.datetime:
        return as_utc(self._clock.now())

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self._positions)

    async def start(self) -> None:
        async with self._lock:
            if self._joined:
                return
            now = self._now()
            with bus_errors(f"join group {self.group_id}"):
                async with self._engine.begin() as conn:
                    live, _dead = await self._read_members(conn, now)
                    if len(live) >= limits.SQL_BUS_MEMBERS_MAX:
                        raise ConfigError("consumer group", self.group_id, (
                            f"has {len(live)} live members already, "
                            f"at most {limits.SQL_BUS_MEMBERS_MAX} may share a group"
                        ))
                    await conn.execute(bus_group_member.insert().values(
                        group_id=self.group_id, member_id=self.member_id,
                        topics=list(self.topics), heartbeat_at=now,
                    ))
            self._joined = True
            self._renew_due = now  # the first poll claims partitions and renews at once

    async def stop(self) -> None:
        async with self._lock:
            if not self._joined:
                return
            self._joined = False
            self._positions = {}
            with bus_errors(f"leave group {self.group_id}"):
                async with self._engine.begin() as conn:
                    # Releasing (rather than letting the leases expire) hands the partitions over at once.
                    await conn.execute(
                        sa.update(bus_group_offset)
                        .where(_offsets.group_id == self.group_id, _offsets.owner == self.member_id)
                        .values(owner=None, lease_expires_at=None)
                    )
                    await conn.execute(sa.delete(bus_group_member).where(
                        _members.group_id == self.group_id, _members.member_id == self.member_id,
                    ))

    async def fetch(self, max_records: int, timeout_s: float) -> list[Record]:
        assert self._joined, "start the consumer before fetching"
        budget = max(1, min(max_records, limits.CONSUMER_BATCH_MAX))
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._joined:  # bounded by the deadline: every round either returns or sleeps towards it
            records = await self._poll(budget)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await asyncio.sleep(min(self._poll_interval_s, remaining))
        return []

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> bool:
        assert all(offset >= 0 for offset in offsets.values())
        async with self._lock:
            with bus_errors(f"commit for group {self.group_id}"):
                async with self._engine.connect() as conn, conn.begin() as tx:
                    # A fixed order, so two members committing overlapping sets cannot deadlock.
                    for tp in sorted(offsets, key=_tp_key):
                        result = await conn.execute(
                            sa.update(bus_group_offset)
                            .where(_offsets.group_id == self.group_id, _pk(tp),
                                   _offsets.owner == self.member_id)
                            .values(next_offset=offsets[tp])
                        )
                        if result.rowcount != 1:
                            await tx.rollback()  # all or nothing, as the interface promises
                            self._positions.pop(tp, None)
                            return False
        return True

    async def _poll(self, budget: int) -> list[Record]:
        async with self._lock:
            if not self._joined:
                return []
            now = self._now()
            with bus_errors(f"fetch for group {self.group_id}"):
                async with self._engine.begin() as conn:
                    ends, positions, renewed = await self._sync(conn, now)
                    records = await self._read(conn, positions, ends, budget)
            # State changes only after the transaction committed: a failed poll leaves it as it was.
            for record in records:
                positions[record.tp] = record.offset + 1
            self._positions = positions
            if renewed:
                self._renew_due = now + self._session * LEASE_RENEW_FRACTION
            return records

    async def _sync(
        self, conn: AsyncConnection, now: dt.datetime
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int], bool]:
        """Rebalance and renew as needed; returns end offsets, positions of the partitions held, renewed."""
        ends = await self._end_offsets(conn)
        leases = await self._read_leases(conn, ends)
        live, dead = await self._read_members(conn, now)
        held = sorted((tp for tp, lease in leases.items() if lease.held_by(self.member_id, now)),
                      key=_tp_key)
        share = math.ceil(len(leases) / len(live | {self.member_id}))
        keep, release = held[:share], held[share:]
        free = sorted((tp for tp, lease in leases.items() if lease.is_free(now)), key=_tp_key)
        wanted = free[: max(0, share - len(keep))]
        positions = {tp: self._positions.get(tp, leases[tp].committed) for tp in keep}
        if not (now >= self._renew_due or release or wanted or dead):
            return ends, positions, False
        await self._heartbeat(conn, now)
        if dead:
            await conn.execute(sa.delete(bus_group_member).where(
                _members.group_id == self.group_id, _members.heartbeat_at <= now - self._session,
            ))
        for tp in release:
            await conn.execute(
                sa.update(bus_group_offset)
                .where(_offsets.group_id == self.group_id, _pk(tp), _offsets.owner == self.member_id)
                .values(owner=None, lease_expires_at=None)
            )
        positions |= await self._claim(conn, wanted, now)
        return ends, positions, True

    async def _end_offsets(self, conn: AsyncConnection) -> dict[TopicPartition, int]:
        rows = await conn.execute(
            sa.select(bus_partition.c.topic, bus_partition.c.partition, bus_partition.c.next_offset)
            .where(bus_partition.c.topic.in_(self.topics))
        )
        return {TopicPartition(topic, partition): end for topic, partition, end in rows}

    async def _read_leases(
        self, conn: AsyncConnection, ends: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, _Lease]:
        """The group's row per partition of our topics; rows missing (a new group) start at offset 0."""
        rows = await conn.execute(
            sa.select(_offsets.topic, _offsets.partition, _offsets.next_offset, _offsets.owner,
                      _offsets.lease_expires_at)
            .where(_offsets.group_id == self.group_id, _offsets.topic.in_(self.topics))
        )
        leases: dict[TopicPartition, _Lease] = {}
        for topic, partition, committed, owner, expires in rows:
            tp = TopicPartition(topic, partition)
            leases[tp] = _Lease(tp, committed, owner, None if expires is None else as_utc(expires))
        missing = [tp for tp in ends if tp not in leases]
        if missing:
            # Another member may insert the same rows now; the claim's compare-and-set sorts that out.
            await conn.execute(dialect_insert(conn, bus_group_offset).on_conflict_do_nothing(), [
                {"group_id": self.group_id, "topic": tp.topic, "partition": tp.partition,
                 "next_offset": 0, "owner": None, "lease_expires_at": None}
                for tp in missing
            ])
            leases |= {tp: _Lease(tp, 0, None, None) for tp in missing}
        return leases

    async def _read_members(self, conn: AsyncConnection, now: dt.datetime) -> tuple[set[str], bool]:
        """Live member ids of the group, and whether dead ones are still registered."""
        rows = await conn.execute(
            sa.select(_members.member_id, _members.heartbeat_at).where(_members.group_id == self.group_id)
        )
        cutoff = now - self._session
        live: set[str] = set()
        dead = False
        for member_id, heartbeat_at in rows:
            if as_utc(heartbeat_at) > cutoff:
                live.add(member_id)
            else:
                dead = dead or member_id != self.member_id
        return live, dead

    async def _heartbeat(self, conn: AsyncConnection, now: dt.datetime) -> None:
        """Refresh our member row and every lease still held, to the same instant."""
        result = await conn.execute(
            sa.update(bus_group_member)
            .where(_members.group_id == self.group_id, _members.member_id == self.member_id)
            .values(heartbeat_at=now)
        )
        if result.rowcount == 0:  # another member removed us as dead: join again
            await conn.execute(dialect_insert(conn, bus_group_member).on_conflict_do_nothing().values(
                group_id=self.group_id, member_id=self.member_id, topics=list(self.topics),
                heartbeat_at=now,
            ))
        await conn.execute(
            sa.update(bus_group_offset)
            .where(_offsets.group_id == self.group_id, _offsets.owner == self.member_id,
                   _offsets.lease_expires_at > now)
            .values(lease_expires_at=now + self._session)
        )

    async def _claim(
        self, conn: AsyncConnection, wanted: Sequence[TopicPartition], now: dt.datetime
    ) -> dict[TopicPartition, int]:
        """Take the partitions still free; returns their committed offsets (where fetching starts)."""
        claimed: dict[TopicPartition, int] = {}
        for tp in wanted:  # at most the partitions of our topics
            committed = (await conn.execute(
                sa.update(bus_group_offset)
                .where(_offsets.group_id == self.group_id, _pk(tp), sa.or_(
                    _offsets.owner.is_(None), _offsets.lease_expires_at.is_(None),
                    _offsets.lease_expires_at <= now,
                ))
                .values(owner=self.member_id, lease_expires_at=now + self._session)
                .returning(_offsets.next_offset)
            )).scalar_one_or_none()
            if committed is not None:  # None: another member was faster
                claimed[tp] = int(committed)
        return claimed

    async def _read(
        self, conn: AsyncConnection, positions: Mapping[TopicPartition, int],
        ends: Mapping[TopicPartition, int], budget: int,
    ) -> list[Record]:
        held = sorted(positions, key=_tp_key)
        if not held:
            return []
        start = self._rotation % len(held)
        self._rotation += 1
        order = held[start:] + held[:start]
        available = {tp: ends.get(tp, 0) - positions[tp] for tp in order}
        ready = [tp for tp in order if available[tp] > 0][:FETCH_PARTITIONS_MAX]
        quotas = split_budget(budget, {tp: available[tp] for tp in ready})
        if not quotas:
            return []
        log = bus_log.c
        selects = [
            sa.select(log.topic, log.partition, log.offset, log.key, log.value, log.headers,
                      log.timestamp_ms)
            .where(log.topic == tp.topic, log.partition == tp.partition, log.offset >= positions[tp])
            .order_by(log.offset).limit(quota)
            for tp, quota in quotas.items()
        ]
        # Each term reads one partition through the primary key; SQLite needs LIMIT inside a subquery.
        statement: sa.Executable = (
            selects[0] if len(selects) == 1
            else sa.union_all(*(sa.select(s.subquery()) for s in selects))
        )
        rank = {tp: i for i, tp in enumerate(order)}
        records = [
            Record(topic, partition, offset, key, bytes(value), decode_headers(headers), timestamp_ms)
            for topic, partition, offset, key, value, headers, timestamp_ms in await conn.execute(statement)
        ]
        return sorted(records, key=lambda r: (rank[r.tp], r.offset))
