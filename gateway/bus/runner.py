"""The consumer runtime: fetch a batch, apply it exactly once, commit offsets, dead-letter the unusable.

For each batch, in one database transaction: insert the message ids into the inbox (a redelivered message
finds its id there and has no second effect), call the handler for the new ones, write what they emitted to
the outbox, and dead-letter the records that cannot be decoded. Only after that transaction commits are the
bus offsets committed. If a handler fails, the batch is rolled back and applied again one message at a time,
each with its own retries, so one poison message does not hold back the others for long.

Infrastructure failures (database or bus unreachable) are not the message's fault: they never dead-letter a
message. The runner restarts its consumer after a backoff and resumes from the last committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.bus import dlq, outbox
from gateway.bus.base import Bus, BusConsumer, Record, TopicPartition
from gateway.bus.handler import HandlerContext, Subscription
from gateway.bus.outbox import OutboxRelay
from gateway.bus.retry import RetryPolicy
from gateway.clock import Clock
from gateway.errors import MessageError, ProudError, StoreUnavailable, is_retryable
from gateway.metrics import Metrics
from gateway.store.db import is_transient
from gateway.store.tables import inbox
from gateway.tasks import failure, finish, spawn
from schemas.envelope import Envelope, decode

log = structlog.get_logger(__name__)

#: Delay before the first consumer restart after an infrastructure failure, and the cap on later ones.
RESTART_DELAY_S_INITIAL = 0.5
RESTART_DELAY_S_MAX = 30.0


@dataclass(slots=True)
class _Item:
    record: Record
    envelope: Envelope | None = None
    error: MessageError | None = None
    errors: list[tuple[float, BaseException]] = field(default_factory=list)


def _is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailable):
        return True
    return isinstance(exc, sa.exc.SQLAlchemyError | OSError) and is_transient(exc)


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"


# One array parameter for the whole batch on PostgreSQL: no per-row parameter processing by SQLAlchemy.
_PG_CLAIM = (
    "INSERT INTO inbox (group_id, message_id, processed_at) SELECT $1, m, $3 FROM unnest($2::uuid[]) AS u(m) "
    "ON CONFLICT DO NOTHING RETURNING message_id"
)


async def claim(
    conn: AsyncConnection, group_id: str, ids: Sequence[uuid.UUID], now: dt.datetime
) -> set[uuid.UUID]:
    """Insert inbox rows; return the ids that were not there yet (the messages to apply)."""
    if not ids:
        return set()
    unique = list(dict.fromkeys(ids))
    if conn.dialect.name == "postgresql":
        return set((await conn.exec_driver_sql(_PG_CLAIM, (group_id, unique, now))).scalars())
    rows = [{"group_id": group_id, "message_id": i, "processed_at": now} for i in unique]
    # executemany with RETURNING ("insertmanyvalues") reuses one compiled statement; building a VALUES list
    # per batch instead would recompile the statement for every batch, which dominated the hot path.
    statement = sqlite_insert(inbox).on_conflict_do_nothing().returning(inbox.c.message_id)
    return set((await conn.execute(statement, rows)).scalars())


class ConsumerRunner:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        bus: Bus,
        subscription: Subscription,
        clock: Clock,
        retry: RetryPolicy,
        batch_max: int,
        poll_timeout_s: float,
        message_bytes_max: int,
        metrics: Metrics | None = None,
        relay: OutboxRelay | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.subscription = subscription
        self._engine, self._bus, self._clock, self._retry = engine, bus, clock, retry
        self._batch_max, self._poll_timeout_s = batch_max, poll_timeout_s
        self._message_bytes_max = message_bytes_max
        self._metrics, self._relay, self._sleep = metrics, relay, sleep
        self._consumer: BusConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def group_id(self) -> str:
        return self.subscription.group_id

    async def start(self) -> None:
        assert self._task is None, "runner started twice"
        await self._open_consumer()
        self._task = spawn(self._run(), f"consumer:{self.group_id}")

    async def start_consumer(self) -> None:
        """Join the group without the background loop; the caller drives ``run_once`` (benchmarks, tests)."""
        assert self._task is None and self._consumer is None
        await self._open_consumer()

    async def stop(self) -> None:
        """Let the batch in hand finish, then leave the group. Idempotent.

        Cancelling a task in the middle of a SQLite transaction can leave the file's write lock held by a
        connection nobody uses any more, so the loop is asked to stop and only cancelled past a grace period.
        """
        task, self._task = self._task, None
        self._stopping.set()
        await finish(task)
        await self._close_consumer()

    def failure(self) -> tuple[str, str] | None:
        """The loop's name and what ended it while it should run (``tasks.failure``), for ``/ready``."""
        return failure(self._task)

    async def _open_consumer(self) -> None:
        consumer = self._bus.consumer(self.group_id, self.subscription.topics)
        await consumer.start()
        self._consumer = consumer

    async def _close_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await asyncio.gather(consumer.stop(), return_exceptions=True)

    async def _run(self) -> None:
        delay_s = RESTART_DELAY_S_INITIAL
        while not self._stopping.is_set():
            try:
                if self._consumer is None:
                    await self._open_consumer()
                await self.run_once()
                delay_s = RESTART_DELAY_S_INITIAL
            except (ProudError, sa.exc.SQLAlchemyError, OSError) as exc:
                # Uncommitted records come back to whoever owns their partition next; the inbox makes it safe.
                log.error("consumer failed; restarting", group=self.group_id, error=_describe(exc))
                await self._close_consumer()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay_s)
                delay_s = min(RESTART_DELAY_S_MAX, delay_s * 2)

    async def run_once(self) -> int:
        """Fetch one batch, apply it, commit its offsets. Returns the number of records fetched."""
        assert self._consumer is not None, "runner not started"
        records = await self._consumer.fetch(self._batch_max, self._poll_timeout_s)
        if not records:
            return 0
        await self.process(records)
        # Plain tuples in the per-record loop: ``record.tp`` builds a TopicPartition per record.
        ends: dict[tuple[str, int], int] = {}
        for record in records:
            tp, end = (record.topic, record.partition), record.offset + 1
            if end > ends.get(tp, 0):
                ends[tp] = end
        offsets = {TopicPartition(topic, partition): end for (topic, partition), end in ends.items()}
        if not await self._consumer.commit(offsets):
            log.warning("offsets not committed: partitions were reassigned", group=self.group_id)
        return len(records)

    async def process(self, records: Sequence[Record]) -> None:
        """Apply records in order; returns when each is applied, skipped as a duplicate, or dead-lettered."""
        items = [self._decode(r) for r in records if self._is_for_us(r)]
        if not items:
            return
        started = time.perf_counter()
        try:
            await self._apply_batch(items)
        except Exception as exc:
            if _is_infrastructure(exc):
                raise StoreUnavailable(f"applying a batch: {_describe(exc)}") from exc
            log.info("batch failed; applying one by one", group=self.group_id, error=_describe(exc))
            for item in items:
                await self._apply_one(item)
        if self._metrics is not None:
            per_message_s = (time.perf_counter() - started) / len(items)
            histogram = self._metrics.handler_seconds.labels(self.group_id)
            for _ in items:
                histogram.observe(per_message_s)

    def _is_for_us(self, record: Record) -> bool:
        target = record.header(dlq.HEADER_REPLAY_GROUP)
        return target is None or target.decode() == self.group_id

    def _decode(self, record: Record) -> _Item:
        try:
            return _Item(record, envelope=decode(record.value, bytes_max=self._message_bytes_max))
        except MessageError as exc:
            return _Item(record, error=exc)

    async def _apply_batch(self, items: Sequence[_Item]) -> None:
        now = self._clock.now()
        async with self._engine.begin() as conn:
            good = [i for i in items if i.envelope is not None]
            fresh = await claim(conn, self.group_id, [i.envelope.id for i in good if i.envelope], now)
            contexts = []
            duplicates = []
            for item in good:
                assert item.envelope is not None
                if item.envelope.id not in fresh:
                    duplicates.append(item.record)
                    continue
                fresh.discard(item.envelope.id)  # the same id twice in one batch is applied once
                contexts.append(HandlerContext(
                    conn=conn, envelope=item.envelope, record=item.record, group_id=self.group_id,
                    now=now, attempt=1,
                ))
            await self.subscription.apply(contexts)
            emitted = [e for ctx in contexts for e in ctx.emitted]
            for item in items:
                if item.error is not None:
                    await self._dead_letter(conn, item, item.error, attempts=1)
            await outbox.add(conn, emitted, now)
        # Counted after the commit, so a batch that fails and is applied again one by one counts once.
        for record in duplicates:
            self._count("duplicates", record)
        for ctx in contexts:
            self._count("messages_in", ctx.record)
        if emitted or any(i.error for i in items):
            self._notify_relay()

    async def _apply_one(self, item: _Item) -> None:
        if item.error is not None:
            async with self._engine.begin() as conn:
                await self._dead_letter(conn, item, item.error, attempts=1)
            self._notify_relay()
            return
        assert item.envelope is not None
        for attempt in range(1, self._retry.attempts_max + 1):
            try:
                await self._apply_single(item.envelope, item.record, attempt)
                return
            except Exception as exc:
                if _is_infrastructure(exc):
                    raise StoreUnavailable(f"applying {item.envelope.id}: {_describe(exc)}") from exc
                item.errors.append((time.time(), exc))
                if not is_retryable(exc) or attempt == self._retry.attempts_max:
                    break
                log.warning(
                    "handler failed; will retry",
                    group=self.group_id,
                    attempt=attempt,
                    message_id=str(item.envelope.id),
                    error=_describe(exc),
                )
                if self._metrics is not None:
                    self._metrics.retries.labels(item.record.topic, self.group_id).inc()
                await self._sleep(self._retry.delay_s(attempt))
        async with self._engine.begin() as conn:
            await self._dead_letter(conn, item, item.errors[-1][1], attempts=len(item.errors))
        self._notify_relay()

    async def _apply_single(self, envelope: Envelope, record: Record, attempt: int) -> None:
        now = self._clock.now()
        async with self._engine.begin() as conn:
            if not await claim(conn, self.group_id, [envelope.id], now):
                self._count("duplicates", record)
                return
            ctx = HandlerContext(
                conn=conn, envelope=envelope, record=record, group_id=self.group_id, now=now, attempt=attempt
            )
            await self.subscription.apply([ctx])
            await outbox.add(conn, ctx.emitted, now)
        self._count("messages_in", record)
        if ctx.emitted:
            self._notify_relay()

    async def _dead_letter(
        self, conn: AsyncConnection, item: _Item, last: BaseException, attempts: int
    ) -> None:
        now = self._clock.now()
        errors = item.errors or [(now.timestamp(), last)]
        first_at, first = errors[0]
        if isinstance(last, MessageError):
            reason = f"unusable message: {_describe(last)}"
        elif is_retryable(last):
            reason = f"retries exhausted after {attempts} attempts: {_describe(last)}"
        else:
            reason = f"handler failed (not retryable): {_describe(last)}"
        failure = dlq.Failure(
            reason=reason,
            error_type=last.__class__.__name__,
            attempts=attempts,
            first_error=_describe(first),
            first_error_at=_at(first_at),
            last_error=_describe(last),
            last_error_at=now,
        )
        envelope = item.envelope
        await dlq.add(
            conn,
            group_id=self.group_id,
            record=item.record,
            failure=failure,
            message_id=envelope.id if envelope else None,
            message_type=envelope.type if envelope else None,
            now=now,
        )
        log.error(
            "message dead-lettered",
            group=self.group_id,
            topic=item.record.topic,
            offset=item.record.offset,
            reason=reason,
        )
        if self._metrics is not None:
            self._metrics.dead_letters.labels(item.record.topic, self.group_id).inc()

    def _count(self, metric: Literal["duplicates", "messages_in"], record: Record) -> None:
        if self._metrics is not None:
            getattr(self._metrics, metric).labels(record.topic, self.group_id).inc()

    def _notify_relay(self) -> None:
        if self._relay is not None:
            self._relay.notify()


def _at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)
