"""The consumer runtime on both databases: inbox dedup, dead letters with reasons, retries, replay.

These drive ``ConsumerRunner.process`` with records as a bus would deliver them; the end-to-end paths
through both real buses are in ``test_pipeline.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import limits
from gateway.bench.handler import BenchHandler
from gateway.bus import dlq
from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext, Subscription
from gateway.bus.retry import RetryPolicy
from gateway.bus.runner import ConsumerRunner
from gateway.clock import ManualClock
from gateway.errors import Conflict, HandlerRejected, TransientError
from gateway.metrics import Metrics
from gateway.store.db import create_engine
from gateway.store.tables import bench_state, dead_letter, effect_log, outbox
from schemas.bench import BenchEvent
from schemas.envelope import encode, new_envelope
from schemas.ote.events import OteReceived

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in (effect_log, bench_state, dead_letter, outbox):
            await conn.execute(table.delete())
    yield engine
    await engine.dispose()


class Flaky:
    """Bench handler that fails for chosen sequence numbers: ``transient`` times, or forever if None."""

    def __init__(self, fail_seqs: set[int], transient: int | None, retryable: bool = True) -> None:
        self.inner = BenchHandler(log_effects=True)
        self.fail_seqs, self.transient, self.retryable = fail_seqs, transient, retryable
        self.calls: dict[int, int] = {}

    async def __call__(self, ctx: HandlerContext) -> None:
        assert isinstance(ctx.envelope.payload, BenchEvent)
        seq = ctx.envelope.payload.seq
        self.calls[seq] = self.calls.get(seq, 0) + 1
        if seq in self.fail_seqs and (self.transient is None or self.calls[seq] <= self.transient):
            error = TransientError if self.retryable else HandlerRejected
            raise error(f"seq {seq} refused on call {self.calls[seq]}")
        await self.inner(ctx)


def make_runner(
    engine: AsyncEngine,
    handler: object,
    group: str = "g1",
    metrics: Metrics | None = None,
) -> ConsumerRunner:
    async def no_sleep(_: float) -> None:
        return None

    subscription = Subscription(group, ("bench.events",), handler)  # type: ignore[arg-type]
    return ConsumerRunner(
        engine=engine,
        bus=None,
        subscription=subscription,
        clock=ManualClock(NOW),  # type: ignore[arg-type]
        retry=RetryPolicy(attempts_max=3, delay_s_initial=0.01, delay_s_max=0.02),
        batch_max=100,
        poll_timeout_s=0.1,
        message_bytes_max=10_000,
        metrics=metrics,
        sleep=no_sleep,
    )


def records(seqs: Sequence[int], start_offset: int = 0) -> list[Record]:
    out = []
    for n, seq in enumerate(seqs):
        envelope = new_envelope(BenchEvent(seq=seq, amount=seq), key=f"k{seq % 3}", now=NOW)
        out.append(Record("bench.events", 0, start_offset + n, envelope.key, encode(envelope)))
    return out


async def count(engine: AsyncEngine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


async def test_redelivered_batch_has_one_effect(engine: AsyncEngine) -> None:
    runner = make_runner(engine, BenchHandler(log_effects=True))
    batch = records(range(10))
    await runner.process(batch)
    await runner.process(batch)  # redelivery after a crash before the offset commit
    await runner.process(batch[:1] + batch[:1])  # and a duplicate inside one batch
    assert await count(engine, effect_log) == 10
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.sum(bench_state.c.events))) == 10
        assert await conn.scalar(sa.select(sa.func.sum(bench_state.c.total))) == sum(range(10))


async def test_unusable_messages_are_dead_lettered_and_the_rest_applied(engine: AsyncEngine) -> None:
    good = records([1, 2])
    envelope = new_envelope(BenchEvent(seq=3), key="k", now=NOW)
    unknown = encode(envelope).replace(b'"bench.event"', b'"bench.nope"')
    huge = encode(new_envelope(BenchEvent(seq=4), key="k" * 12_000, now=NOW))
    bad = [
        Record("bench.events", 0, 10, "k", b"{not json"),
        Record("bench.events", 0, 11, "k", unknown),
        Record("bench.events", 0, 12, "k", huge),
        Record("bench.events", 0, 13, "k", encode(envelope).replace(b'"seq":3', b'"seq":"three"')),
    ]
    await make_runner(engine, BenchHandler(log_effects=True)).process([good[0], *bad, good[1]])
    assert await count(engine, effect_log) == 2
    letters = {letter.offset: letter for letter in await dlq.list_letters(engine)}
    assert sorted(letters) == [10, 11, 12, 13]
    assert "not valid JSON" in letters[10].reason
    assert "unknown message type 'bench.nope'" in letters[11].reason
    assert "limit is 10000" in letters[12].reason
    assert "payload.seq" in letters[13].reason and letters[13].message_type is None
    assert all(letter.attempts == 1 and letter.status == "open" for letter in letters.values())
    # Each dead letter is also queued for the dead-letter topic, with its reason in the headers.
    assert await count(engine, outbox, outbox.c.topic == "bench.events.dlq") == 4


async def test_transient_failure_is_retried_then_applied_once(engine: AsyncEngine) -> None:
    metrics = Metrics()
    handler = Flaky({5}, transient=3)
    await make_runner(engine, handler, metrics=metrics).process(records(range(8)))
    assert await count(engine, effect_log) == 8
    assert await count(engine, dead_letter) == 0
    assert handler.calls[5] == 4  # the batch try fails, then alone: two failures and the success
    assert metrics.retries.labels("bench.events", "g1")._value.get() == 2


async def test_poison_message_dead_lettered_after_retries_then_replayed_once(engine: AsyncEngine) -> None:
    handler = Flaky({3}, transient=None)
    runner = make_runner(engine, handler)
    batch = records(range(6))
    await runner.process(batch)
    assert await count(engine, effect_log) == 5
    [letter] = await dlq.list_letters(engine)
    assert letter.attempts == 3 and letter.error_type == "TransientError"
    assert letter.reason.startswith("retries exhausted after 3 attempts: TransientError: seq 3 refused")
    assert letter.offset == 3 and letter.first_error != letter.last_error

    handler.fail_seqs.clear()  # the handler is fixed
    replayed = await dlq.replay(engine, letter.id, ManualClock(NOW))
    assert replayed.status == "replayed"
    with pytest.raises(Conflict, match="already replayed"):
        await dlq.replay(engine, letter.id, ManualClock(NOW))
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(outbox).where(outbox.c.topic == "bench.events"))).one()
    headers = tuple((k, v.encode("latin-1")) for k, v in row.headers)
    again = Record("bench.events", 0, 99, row.key, row.value, headers)
    await runner.process([again])
    await runner.process([again])
    await make_runner(engine, handler, group="other-group").process([again])  # not addressed to it
    assert await count(engine, effect_log, effect_log.c.seq == 3) == 1
    assert await count(engine, effect_log, effect_log.c.group_id == "other-group") == 0


async def test_non_retryable_failure_is_dead_lettered_at_once(engine: AsyncEngine) -> None:
    handler = Flaky({1}, transient=None, retryable=False)
    await make_runner(engine, handler).process(records(range(3)))
    [letter] = await dlq.list_letters(engine)
    assert letter.attempts == 1 and letter.reason.startswith(
        "handler failed (not retryable): HandlerRejected"
    )
    assert handler.calls[1] == 2  # once in the batch, once alone
    assert await count(engine, effect_log) == 2


async def test_a_handler_emitting_a_record_over_the_bus_limit_is_dead_lettered_naming_it(
    engine: AsyncEngine,
) -> None:
    inner = BenchHandler(log_effects=True)

    async def oversize_for_two(ctx: HandlerContext) -> None:
        await inner(ctx)
        assert isinstance(ctx.envelope.payload, BenchEvent)
        if ctx.envelope.payload.seq == 2:
            big = {"text": "x" * limits.MESSAGE_BYTES_MAX}  # any payload with room for a large field
            ctx.emit_payload("bench.out", OteReceived(
                archive_id=1, family="f", message_code="C", message_id="m", message=big,
            ))

    await make_runner(engine, oversize_for_two).process(records(range(4)))
    [letter] = await dlq.list_letters(engine)
    assert letter.offset == 2 and letter.attempts == 1
    assert "MessageTooLarge" in letter.reason and "for topic bench.out" in letter.reason
    assert await count(engine, effect_log) == 3  # the others applied, seq 2's effect rolled back with it
    assert await count(engine, outbox, outbox.c.topic == "bench.out") == 0
