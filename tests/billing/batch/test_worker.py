"""The billing worker's batch handler (``many``, the runner's ``handler_many``) answers a batch of
``billing.bill_requested`` exactly as its single handler answers them one by one: billed (``billing.billed``
only: the worker renders no documents), outsorted, waiting for a reading, ``BILLING_ERROR``; over two
partitions, so two invoice series. The one-by-one answers are made in a transaction rolled back afterwards,
so both see the same data and draw the same numbers."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.checks import Checks
from gateway.billing.topics import BILLING_WORK
from gateway.billing.worker import BillingWorker, series_worker
from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from schemas.billing.orders import Billed, BillRequested, Outsorted, WaitingForReading
from schemas.envelope import decode, new_envelope
from tests.billing.bill.support import NOW, PERIOD_FROM, PERIOD_TO, Supplied, day, read, supplied
from tests.process.rules_support import REPO_RULES


def _request(parties: Supplied, period_to: str = PERIOD_TO.isoformat()) -> BillRequested:
    return BillRequested(
        order=f"{parties.contract}@{period_to}", contract=parties.contract, account=parties.account,
        opm=parties.opm, period_from=PERIOD_FROM, period_to=day(period_to),
    )


def _contexts(conn: AsyncConnection, requests: list[BillRequested]) -> list[HandlerContext]:
    contexts = []
    for offset, request in enumerate(requests):
        envelope = new_envelope(request, key=request.opm, now=NOW)
        record = Record(topic=BILLING_WORK.name, partition=offset % 2, offset=offset, key=request.opm,
                        value=b"")
        contexts.append(HandlerContext(conn=conn, envelope=envelope, record=record, group_id="test", now=NOW,
                                       attempt=1))
    return contexts


def _answers(contexts: list[HandlerContext]) -> list[list[Any]]:
    """Each message's answers, as payloads."""
    return [[decode(record.value).payload for _id, record in ctx.emitted] for ctx in contexts]


async def test_a_batch_is_answered_as_its_messages_one_by_one(engine: AsyncEngine) -> None:
    billed, other, unread, recent = [await supplied(engine) for _ in range(4)]
    for parties in (billed, other, recent):
        await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, billed.opm, "2026-06-30", "2500")
    await read(engine, other.opm, "2026-06-30", "1900")
    missing = dataclasses.replace(unread, contract="NO-SUCH-CONTRACT")
    requests = [_request(billed), _request(other), _request(unread), _request(recent, "2026-11-20"),
                _request(missing)]
    worker = BillingWorker(Checks(REPO_RULES), REPO_RULES / "prices")

    async with engine.connect() as conn:
        transaction = await conn.begin()
        one_by_one = _contexts(conn, requests)
        for ctx in one_by_one:
            await worker(ctx)
        await transaction.rollback()
    async with engine.begin() as conn:
        batch = _contexts(conn, requests)
        await worker.many(batch)

    answers = _answers(batch)
    assert answers == _answers(one_by_one)
    assert [[type(answer) for answer in found] for found in answers] == [
        [Billed], [Billed], [Outsorted], [WaitingForReading], [Outsorted],
    ]
    assert [finding.code for finding in answers[2][0].findings] == ["READING_MISSING"]
    assert [finding.code for finding in answers[4][0].findings] == ["BILLING_ERROR"]
    assert "NO-SUCH-CONTRACT" in answers[4][0].findings[0].text
    # Partitions 0 and 1: each draws from its own series.
    numbers = [answers[0][0].invoice, answers[1][0].invoice]
    assert [number[6:8] for number in numbers] == [f"{series_worker(0):02}", f"{series_worker(1):02}"]
