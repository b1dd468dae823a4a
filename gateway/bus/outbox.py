"""Transactional outbox: messages are written in the same database transaction as the state change that
caused them, and a relay publishes them to the bus afterwards.

A crash between publishing and marking rows sent publishes those rows again on restart. That is the
at-least-once half of the design; the consumer's inbox (``runner``) turns it into exactly-once effects.

Only one relay publishes at a time, so that rows reach the bus in ``seq`` order (and per key, in the order
their transactions committed). On PostgreSQL a session advisory lock elects it; a SQLite file is one box.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import limits
from gateway.bus import outbox_parked
from gateway.bus.base import Bus, Headers, OutgoingRecord
from gateway.clock import Clock
from gateway.errors import MessageTooLarge, ProudError
from gateway.metrics import Metrics
from gateway.store.db import is_postgres, is_sqlite, translate_errors
from gateway.store.tables import outbox
from gateway.tasks import failure, finish, spawn
from schemas.envelope import Envelope, encode

log = structlog.get_logger(__name__)

#: Advisory lock key that elects the single active relay on PostgreSQL ("proud-ob" in ASCII).
RELAY_LOCK_KEY = 0x70726F75642D6F62
#: Rounds between purges of rows published longer ago than the retention.
PURGE_EVERY_ROUNDS = 200
#: Delay before a relay retries after the bus or the database failed.
RELAY_ERROR_DELAY_S = 1.0

HEADER_MESSAGE_ID = "proud-id"
HEADER_TYPE = "proud-type"


def envelope_record(
    topic: str, envelope: Envelope, headers: Headers = ()
) -> tuple[uuid.UUID, OutgoingRecord]:
    base: Headers = ((HEADER_MESSAGE_ID, str(envelope.id).encode()), (HEADER_TYPE, envelope.type.encode()))
    return envelope.id, OutgoingRecord(topic, envelope.key, encode(envelope), base + headers)


# PostgreSQL fast paths: one statement with one array parameter per column, so neither SQLAlchemy nor asyncpg
# processes parameters row by row (an executemany of 1000 rows spent most of the producer's time there).
# WITH ORDINALITY ... ORDER BY keeps the sequence numbers in the order the records were given.
_PG_INSERT = (
    "INSERT INTO outbox (message_id, topic, key, value, headers, created_at) "
    "SELECT m, t, k, v, h::json, $6 FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::bytea[], "
    "$5::text[]) WITH ORDINALITY AS u(m, t, k, v, h, n) ORDER BY n"
)
_PG_UNSENT = (
    "SELECT seq, topic, key, value, headers FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1"
)
_PG_MARK_SENT = "UPDATE outbox SET sent_at = $1 WHERE seq = ANY($2::bigint[])"
_headers_encoder = msgspec.json.Encoder()


def headers_json(headers: Headers) -> str:
    return _headers_encoder.encode([[k, v.decode("latin-1")] for k, v in headers]).decode()


async def add(
    conn: AsyncConnection, items: Sequence[tuple[uuid.UUID, OutgoingRecord]], now: dt.datetime
) -> None:
    """Queue records for publication inside the caller's open transaction.

    A record over the bus's limit is refused here, failing the caller's transaction with ``MessageTooLarge``
    (a consumer's input is dead-lettered with that reason): queued, the bus would refuse it at every relay
    round and hold back every row after it."""
    if not items:
        return
    for message_id, rec in items:
        if len(rec.value) > limits.MESSAGE_BYTES_MAX:
            raise MessageTooLarge(
                f"outbox: message {message_id} for topic {rec.topic} (key {rec.key!r}) is {len(rec.value)} "
                f"bytes, over the bus's limit of {limits.MESSAGE_BYTES_MAX} bytes (MESSAGE_BYTES_MAX)"
            )
    if is_postgres(conn):
        columns = (
            [message_id for message_id, _ in items],
            [rec.topic for _, rec in items],
            [rec.key for _, rec in items],
            [rec.value for _, rec in items],
            [headers_json(rec.headers) for _, rec in items],
            now,
        )
        await conn.exec_driver_sql(_PG_INSERT, columns)
        return
    rows = [
        {
            "message_id": message_id,
            "topic": rec.topic,
            "key": rec.key,
            "value": rec.value,
            "headers": [[k, v.decode("latin-1")] for k, v in rec.headers],
            "created_at": now,
        }
        for message_id, rec in items
    ]
    await conn.execute(outbox.insert(), rows)


def _record(row: Any) -> OutgoingRecord:
    topic, key, value, headers = row[1], row[2], row[3], row[4]
    return OutgoingRecord(topic, key, value, tuple([(k, v.encode("latin-1")) for k, v in headers]))


async def _unsent(conn: AsyncConnection, limit: int) -> Sequence[Any]:
    if is_postgres(conn):
        return (await conn.exec_driver_sql(_PG_UNSENT, (limit,))).all()
    query = (
        sa.select(outbox.c.seq, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
        .where(outbox.c.sent_at.is_(None))
        .order_by(outbox.c.seq)
        .limit(limit)
    )
    return (await conn.execute(query)).all()


async def _mark_sent(conn: AsyncConnection, seqs: list[int], now: dt.datetime) -> None:
    if is_postgres(conn):
        # One array parameter instead of an IN list of up to batch_max parameters to render and bind.
        await conn.exec_driver_sql(_PG_MARK_SENT, (now, seqs))
        return
    await conn.execute(outbox.update().where(outbox.c.seq.in_(seqs)).values(sent_at=now))


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: Bus,
        *,
        clock: Clock,
        batch_max: int,
        poll_interval_s: float,
        sent_retention_s: float,
        record_bytes_max: int = limits.MESSAGE_BYTES_MAX,
        metrics: Metrics | None = None,
    ) -> None:
        assert batch_max > 0 and poll_interval_s > 0 and 0 < record_bytes_max <= limits.MESSAGE_BYTES_MAX
        self._engine, self._bus, self._clock = engine, bus, clock
        self._batch_max, self._poll_interval_s = batch_max, poll_interval_s
        #: The configured ``message_bytes_max``: a row over it is parked (``outbox_parked``), not published.
        self._record_bytes_max = record_bytes_max
        self._sent_retention = dt.timedelta(seconds=sent_retention_s)
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None
        self._lock_conn: AsyncConnection | None = None
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        assert self._task is None, "relay started twice"
        self._task = spawn(self._run(), "outbox-relay")

    async def stop(self) -> None:
        """Finish the round in hand, then stop. Idempotent. (Cancelling mid-transaction can strand a SQLite
        write lock, see ``ConsumerRunner.stop``; a round is bounded by the bus's own timeouts.)"""
        task, self._task = self._task, None
        self._stopping.set()
        self._wakeup.set()
        await finish(task)
        await self._release_lock()

    def failure(self) -> tuple[str, str] | None:
        """The loop's name and what ended it while it should run (``tasks.failure``), for ``/ready``."""
        return failure(self._task)

    def notify(self) -> None:
        """Wake the relay now (after a local commit wrote to the outbox) instead of at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        rounds = 0
        while not self._stopping.is_set():
            try:
                if not await self._elected():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), RELAY_ERROR_DELAY_S)
                    continue
                sent = await self.run_once()
                rounds += 1
                if rounds % PURGE_EVERY_ROUNDS == 0:
                    await self.purge()
            except ProudError as exc:
                log.warning("outbox relay failed, retrying", error=str(exc), retryable=exc.retryable)
                await self._release_lock()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RELAY_ERROR_DELAY_S)
                continue
            if sent < self._batch_max and not self._stopping.is_set():
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)

    async def _elected(self) -> bool:
        if is_sqlite(self._engine) or self._lock_conn is not None:
            return True
        with translate_errors("outbox relay election"):
            conn = await self._engine.connect()
            got = await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(RELAY_LOCK_KEY)))
            await conn.commit()
        if got:
            self._lock_conn = conn
            log.info("outbox relay elected")
            return True
        await conn.close()
        return False

    async def _release_lock(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            # Closing the session releases the advisory lock even if the unlock call fails.
            await asyncio.gather(conn.close(), return_exceptions=True)

    async def run_once(self) -> int:
        """Publish up to ``batch_max`` unsent rows in order and mark them sent, parking any over the limit.
        Returns how many rows it took off the line (published or parked)."""
        with translate_errors("outbox read"):
            async with self._engine.connect() as conn:
                rows = await _unsent(conn, self._batch_max)
                await conn.rollback()
        fitting = [row for row in rows if len(row[3]) <= self._record_bytes_max]
        if len(fitting) < len(rows):
            await self._park([(row[0], len(row[3])) for row in rows if len(row[3]) > self._record_bytes_max])
        if not fitting:
            return len(rows)
        records = [_record(row) for row in fitting]
        await self._bus.publish(records)
        with translate_errors("outbox mark sent"):
            async with self._engine.begin() as conn:
                await _mark_sent(conn, [row[0] for row in fitting], self._clock.now())
        if self._metrics is not None:
            for record in records:
                self._metrics.messages_out.labels(record.topic).inc()
        return len(rows)

    async def _park(self, seqs_sizes: list[tuple[int, int]]) -> None:
        with translate_errors("outbox park"):
            async with self._engine.begin() as conn:
                await outbox_parked.park(conn, seqs_sizes, self._record_bytes_max, self._clock.now())
                parked = await outbox_parked.count(conn)
        for seq, size_bytes in seqs_sizes:
            log.error("outbox row parked: over message_bytes_max", seq=seq, size_bytes=size_bytes,
                      bytes_max=self._record_bytes_max, parked=parked)
        if self._metrics is not None:
            self._metrics.outbox_parked.set(parked)

    async def purge(self) -> int:
        cutoff = self._clock.now() - self._sent_retention
        with translate_errors("outbox purge"):
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    outbox.delete().where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < cutoff)
                )
                pending, parked = await _backlog(conn)
        if self._metrics is not None:
            self._metrics.outbox_pending.set(pending)
            self._metrics.outbox_parked.set(parked)
        return result.rowcount or 0


async def backlog(engine: AsyncEngine) -> tuple[int, int]:
    """Rows not yet published and rows parked (``outbox_parked``), for ``/metrics``."""
    async with engine.connect() as conn:
        return await _backlog(conn)


async def _backlog(conn: AsyncConnection) -> tuple[int, int]:
    unsent = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    pending = await conn.scalar(unsent)
    return int(pending or 0), await outbox_parked.count(conn)
