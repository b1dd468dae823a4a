"""Runs side by side on PostgreSQL: two regenerations of one account write one schedule, two issuers
issue each request once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.advances.documents import issue_due
from gateway.billing.advances.mass import account_id_of
from gateway.billing.bill_documents import SAMPLE_SUPPLIER
from gateway.clock import ManualClock
from tests.billing.advances.support import NOW, advances_of, regenerate_account, supplied


@pytest.mark.postgres
async def test_concurrent_regenerations_and_issuers(pg_engine: AsyncEngine) -> None:
    parties = await supplied(pg_engine)
    first, second = await asyncio.gather(*(regenerate_account(pg_engine, parties.account) for _ in range(2)))
    assert sorted([first.created, second.created]) == [0, 1], (first, second)
    schedules = (await advances_of(pg_engine, parties.account)).schedules
    assert [(item.version, item.state) for item in schedules] == [(1, "active")]
    async with pg_engine.connect() as conn:
        account_id = await account_id_of(conn, parties.account)
    runs = await asyncio.gather(*(
        issue_due(pg_engine, ManualClock(NOW), SAMPLE_SUPPLIER, due_before=dt.date(2027, 6, 1), worker=worker,
                  account_id=account_id)
        for worker in (11, 12)
    ))
    numbers = [number for run in runs for number in run.numbers]
    # December, January and February, each once; March is more than 90 days after 30 November.
    assert len(numbers) == len(set(numbers)) == 3
    states = [item.state for item in (await advances_of(pg_engine, parties.account)).schedules[0].instalments]
    assert states == ["requested"] * 3 + ["planned"] * 9
