"""Mass regeneration of advance schedules: ``proud billing advances regenerate`` and the API's per-account
``POST /api/accounts/{vs}/advances/regenerate``.

Contracts are walked in id order, ``REGENERATION_BATCH_SIZE`` at a time, each batch in a transaction of its
own (keyset paging: a batch never rescans what earlier ones did, and a batch committed stays committed if
the run stops). Running it again changes nothing that is already right (``schedules.store``), so a run cut
short is finished by running it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.advances import plan
from gateway.billing.advances.inputs import active_contracts
from gateway.billing.advances.schedules import Options, regenerate_batch
from gateway.billing.quote import resolve_list
from gateway.clock import Clock
from gateway.errors import NotFound
from gateway.masterdata import tables as t
from gateway.process.calendar import WorkingCalendar
from schemas.billing.advances import RegenerationSummary

#: Contracts per batch and transaction: a batch prices each contract (about 0.5 ms) and writes 13 rows per
#: new schedule, so a batch holds its locks for well under a second.
REGENERATION_BATCH_SIZE: Final = 500
#: Contracts one run walks at most: ten times a million-OPM book, so the loop is bounded yet never cut short.
REGENERATION_CONTRACTS_MAX: Final = 10_000_000
#: Skipped contracts listed in a summary at most (the count covers all).
SKIPPED_LISTED_MAX: Final = 100

assert 0 < REGENERATION_BATCH_SIZE <= 10_000

Progress = Callable[[RegenerationSummary], None]


async def account_id_of(conn: AsyncConnection, variable_symbol: str) -> uuid.UUID:
    query = sa.select(t.account.c.id).where(t.account.c.variable_symbol == variable_symbol)
    found: uuid.UUID | None = await conn.scalar(query)
    if found is None:
        raise NotFound(f"no contract account with variable symbol {variable_symbol}")
    return found


async def regenerate(
    engine: AsyncEngine, clock: Clock, options: Options, *, variable_symbol: str | None = None,
    progress: Progress | None = None, calendar: WorkingCalendar | None = None,
) -> RegenerationSummary:
    """Regenerate the schedules of every active contract (or of one account's) in batches."""
    calendar = calendar or WorkingCalendar()
    # An unknown list is the request's mistake (422 naming price_list), not every contract's.
    resolve_list(options.prices_root, options.price_list, paths_allowed=options.paths_allowed)
    summary = RegenerationSummary()
    account_id = None
    if variable_symbol is not None:
        async with engine.connect() as conn:
            account_id = await account_id_of(conn, variable_symbol)
    after: uuid.UUID | None = None
    for _ in range(REGENERATION_CONTRACTS_MAX // REGENERATION_BATCH_SIZE):
        now = clock.now()
        start = plan.schedule_start(calendar.local_date(now))
        async with engine.begin() as conn:
            query = active_contracts(start, after, account_id).limit(REGENERATION_BATCH_SIZE)
            ids = list((await conn.scalars(query)).all())
            if not ids:
                break
            await regenerate_batch(conn, ids, options, now=now, calendar=calendar, summary=summary)
        after = ids[-1]
        del summary.skipped_contracts[SKIPPED_LISTED_MAX:]
        if progress is not None:
            progress(summary)
        if len(ids) < REGENERATION_BATCH_SIZE:
            break
    return summary

