"""The batch's lookups in ``bl_invoice`` on PostgreSQL, planned as a mass run on a new book meets them: the
table's statistics taken while it was empty (its first minutes), the table since filled by the run. Each
lookup must stay a probe of an index by its keys; a scan of a whole index grows with every batch before it
(the settlements by account once scanned all of ``uq_bl_invoice_issued_period``: 32 ms a batch of 500 on
average over 100,000 settlements, 171 ms at most)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing import batch_ledger
from gateway.store.db import create_engine
from tests.db_fixtures import own_database

pytestmark = pytest.mark.postgres

#: Issued settlements the run has stored when the lookups are planned.
FILLED = 50_000
KEYS = 500


@pytest.fixture
async def filled(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database whose ``bl_invoice`` was analysed empty, then filled with ``FILLED`` issued
    settlements (settlement texts of 800 characters: rows as wide as a bill's)."""
    async with own_database(pg_url, "ledger_plans") as url:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("ANALYZE bl_invoice"))
                await conn.commit()
            async with engine.begin() as conn:
                await conn.execute(sa.text(
                    "INSERT INTO bl_invoice (number, uuid, kind, status, contract, account, opm, period_from,"
                    " period_to, issue_date, due_date, total_base, total_vat, total, advances_paid, balance,"
                    " settlement, documents, created_at) "
                    "SELECT 'FV' || lpad(n::text, 10, '0'), gen_random_uuid(), 'settlement', 'issued',"
                    " 'C' || lpad(n::text, 9, '0'), lpad(n::text, 10, '0'), lpad(n::text, 18, '0'),"
                    " DATE '2026-01-01', DATE '2026-12-31', DATE '2027-01-10', DATE '2027-01-24',"
                    " 100, 21, 121, 0, 121, repeat('x', 800), '[]', now() "
                    f"FROM generate_series(0, {FILLED - 1}) AS n"
                ))
            yield engine
        finally:
            await engine.dispose()


def _spread(prefix: str, width: int) -> list[str]:
    """``KEYS`` keys across the filled range, as a batch of a run names them."""
    step = FILLED // KEYS
    return [prefix + str(n).rjust(width, "0") for n in range(0, FILLED, step)]


@pytest.mark.parametrize(("query", "name", "keys", "column"), [
    (batch_ledger._SETTLED, "accounts", _spread("", 10), "account"),
    (batch_ledger._ISSUED, "contracts", _spread("C", 9), "contract"),
])
async def test_a_ledger_lookup_probes_an_index_by_its_keys_on_stale_statistics(
    filled: AsyncEngine, query: batch_ledger.FixedQuery, name: str, keys: list[str], column: str,
) -> None:
    async with filled.connect() as conn:
        plan = await query.plan(conn, **{name: keys})
        found = await query.rows(conn, **{name: keys})
    shown = plan[:400]  # the keys' list is long
    assert f"Index Cond: (({column})::text = " in plan, shown
    assert "Seq Scan" not in plan, shown
    assert len(found) == KEYS  # the plan's rows are the keys' settlements
