"""Reading advance schedules back: ``GET /api/accounts/{vs}/advances``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.mass import account_id_of
from gateway.billing.advances.tables import advance_document, advance_instalment, advance_schedule
from gateway.clock import as_utc
from gateway.masterdata import tables as t
from schemas.billing.advances import AccountAdvances, Instalment, Schedule

#: Schedules one answer lists at most (newest first): years of regenerations of a few contracts.
SCHEDULES_LISTED_MAX: Final = 200


async def account_advances(conn: AsyncConnection, variable_symbol: str) -> AccountAdvances:
    """Every schedule of the account (``NotFound`` for an unknown VS), the active ones first, newest first."""
    account_id = await account_id_of(conn, variable_symbol)
    s = advance_schedule.c
    rows = (await conn.execute(
        sa.select(advance_schedule, t.contract.c.number, t.contract.c.commodity, t.opm.c.code)
        .join(t.contract, t.contract.c.id == s.contract_id).join(t.opm, t.opm.c.id == t.contract.c.opm_id)
        .where(s.account_id == account_id)
        .order_by(s.state, t.contract.c.number, s.version.desc()).limit(SCHEDULES_LISTED_MAX)
    )).all()
    instalments = await _instalments(conn, [row.id for row in rows])
    return AccountAdvances(
        variable_symbol=variable_symbol,
        schedules=[_schedule(row, instalments[row.id]) for row in rows],
    )


async def _instalments(
    conn: AsyncConnection, schedule_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Instalment]]:
    found: dict[uuid.UUID, list[Instalment]] = defaultdict(list)
    if not schedule_ids:
        return found
    i = advance_instalment.c
    rows = (await conn.execute(
        sa.select(advance_instalment).where(i.schedule_id.in_(schedule_ids))
        .order_by(i.schedule_id, i.sequence)
    )).all()
    documents: dict[uuid.UUID, list[str]] = defaultdict(list)
    d = advance_document.c
    for document in await conn.execute(
        sa.select(d.instalment_id, d.number).where(
            d.kind == "advance_tax_document", d.instalment_id.in_([row.id for row in rows])
        ).order_by(d.number)
    ):
        documents[document.instalment_id].append(document.number)
    for row in rows:
        found[row.schedule_id].append(Instalment(
            id=row.id, sequence=row.sequence, period_from=row.period_from, period_to=row.period_to,
            due_date=row.due_date, amount=row.amount, state=row.state, request_number=row.request_number,
            paid_amount=row.paid_amount, tax_documents=documents[row.id],
        ))
    return found


def _schedule(row: Any, instalments: list[Instalment]) -> Schedule:
    return Schedule(
        id=row.id, contract=row.number, opm=row.code, commodity=row.commodity, version=row.version,
        state=row.state, reason=row.reason, frequency=row.frequency, starts_on=row.starts_on,
        ends_on=row.ends_on, price_list=row.price_list, priced_from=row.priced_from, priced_to=row.priced_to,
        consumption_source=row.consumption_source,
        consumption_mwh=msgspec.convert(row.consumption, dict[str, Decimal], strict=False),
        annual_total=row.annual_total, instalment_amount=row.instalment_amount,
        created_at=as_utc(row.created_at), instalments=instalments,
    )
