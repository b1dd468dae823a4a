"""What a schedule is made from, read from master data for a batch of contracts: the contract, its terms
in force when the schedule starts (product, account), the account's VS and advance frequency, the OPM's DSO
and technical data in force then, the customer's segment, the contract's active schedule and its last
issued settlement (``bl_invoice``).

Reads are per batch (one query per table for up to ``REGENERATION_BATCH_SIZE`` contracts), never per
contract, so a mass regeneration costs a handful of statements per batch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.tables import advance_schedule
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.masterdata import tables as t
from schemas.billing.settlement import Settlement


@dataclass(frozen=True)
class ActiveSchedule:
    id: uuid.UUID
    version: int
    frequency: str
    ends_on: dt.date
    price_list: str
    consumption_source: str
    consumption: dict[str, Decimal]
    instalment_amount: Decimal


@dataclass(frozen=True)
class ContractBasis:
    contract_id: uuid.UUID
    contract: str
    commodity: str
    opm: str
    dso: str
    product: str
    account_id: uuid.UUID
    variable_symbol: str
    advance_frequency: str
    household: bool
    rate: str | None
    breaker_phases: int | None
    breaker_amps: int | None
    gas_band: str | None
    annual_consumption_kwh: Decimal | None
    active: ActiveSchedule | None
    #: The contract's last issued settlement (``bl_invoice``), if any: its consumption comes first.
    last_settlement: Settlement | None = None


def active_contracts(start: dt.date, after: uuid.UUID | None, account_id: uuid.UUID | None) -> sa.Select[Any]:
    """Ids of contracts supplied on or after ``start`` and not withdrawn, in id order after ``after``
    (keyset paging); with ``account_id`` only contracts that were ever billed into that account."""
    c = t.contract.c
    query = (
        sa.select(c.id).join(t.supply, t.supply.c.contract_id == c.id)
        .where(sa.or_(t.supply.c.end.is_(None), t.supply.c.end >= start))
        .where(sa.or_(c.end_kind.is_(None), c.end_kind != "withdrawal"))
        .order_by(c.id)
    )
    if after is not None:
        query = query.where(c.id > after)
    if account_id is not None:
        terms = t.contract_terms.c
        query = query.where(c.id.in_(sa.select(terms.contract_id).where(terms.account_id == account_id)))
    return query


async def load_bases(
    conn: AsyncConnection, contract_ids: Sequence[uuid.UUID], start: dt.date
) -> list[ContractBasis]:
    """The basis of each contract in ``contract_ids`` (in that order) for a schedule from ``start``."""
    if not contract_ids:
        return []
    c = t.contract.c
    rows = {row.id: row for row in (await conn.execute(
        sa.select(c.id, c.number, c.commodity, c.opm_id, t.opm.c.code, t.opm.c.dso,
                  t.customer.c.segment)
        .join(t.opm, t.opm.c.id == c.opm_id).join(t.customer, t.customer.c.id == c.customer_id)
        .where(c.id.in_(contract_ids))
    )).all()}
    terms = await _terms_on(conn, contract_ids, start)
    technical = await _technical_on(conn, [row.opm_id for row in rows.values()], start)
    accounts = await _accounts(conn, {term.account_id for term in terms.values()})
    active = await active_schedules(conn, contract_ids)
    settled = await last_settlements(conn, [row.number for row in rows.values()])
    bases = []
    for contract_id in contract_ids:
        row, term = rows[contract_id], terms[contract_id]
        account, tech = accounts[term.account_id], technical.get(row.opm_id)
        bases.append(ContractBasis(
            contract_id=contract_id, contract=row.number, commodity=row.commodity, opm=row.code, dso=row.dso,
            product=term.product, account_id=term.account_id, variable_symbol=account.variable_symbol,
            advance_frequency=account.advance_frequency, household=row.segment == "household",
            rate=tech.distribution_rate if tech else None,
            breaker_phases=tech.breaker_phases if tech else None,
            breaker_amps=tech.breaker_amps if tech else None, gas_band=tech.gas_band if tech else None,
            annual_consumption_kwh=tech.annual_consumption_kwh if tech else None,
            active=active.get(contract_id), last_settlement=settled.get(row.number),
        ))
    return bases


async def last_settlements(conn: AsyncConnection, contracts: Sequence[str]) -> dict[str, Settlement]:
    """Per contract number its issued settlement with the latest period end (a cancelled one was replaced by
    a credit note and, after re-billing, by a new issued one)."""
    i = bl_invoice.c
    rows = await conn.execute(
        sa.select(i.contract, i.settlement)
        .where(i.contract.in_(contracts), i.kind == "settlement", i.status == "issued")
        .order_by(i.contract, i.period_to, i.created_at)
    )
    # Ordered oldest first: the last row of each contract wins.
    return {row.contract: msgspec.json.decode(row.settlement, type=Settlement) for row in rows}


async def _terms_on(
    conn: AsyncConnection, contract_ids: Sequence[uuid.UUID], day: dt.date
) -> dict[uuid.UUID, Any]:
    """Per contract the terms in force on ``day``, or its first terms when it starts later."""
    terms = t.contract_terms.c
    rows = (await conn.execute(
        sa.select(terms.contract_id, terms.effective_from, terms.product, terms.account_id)
        .where(terms.contract_id.in_(contract_ids)).order_by(terms.contract_id, terms.effective_from)
    )).all()
    found: dict[uuid.UUID, Any] = {}
    for row in rows:
        if row.contract_id not in found or row.effective_from <= day:
            found[row.contract_id] = row
    return found


async def _technical_on(
    conn: AsyncConnection, opm_ids: Sequence[uuid.UUID], day: dt.date
) -> dict[uuid.UUID, Any]:
    """Per OPM the technical data in force on ``day``, or its first version when all start later."""
    tech = t.opm_technical.c
    rows = (await conn.execute(
        sa.select(t.opm_technical).where(tech.opm_id.in_(opm_ids)).order_by(tech.opm_id, tech.effective_from)
    )).all()
    found: dict[uuid.UUID, Any] = {}
    for row in rows:
        if row.opm_id not in found or row.effective_from <= day:
            found[row.opm_id] = row
    return found


async def _accounts(conn: AsyncConnection, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    a = t.account.c
    rows = await conn.execute(
        sa.select(a.id, a.variable_symbol, a.advance_frequency).where(a.id.in_(account_ids))
    )
    return {row.id: row for row in rows}


async def active_schedules(
    conn: AsyncConnection, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ActiveSchedule]:
    s = advance_schedule.c
    rows = await conn.execute(
        sa.select(advance_schedule).where(s.contract_id.in_(contract_ids), s.state == "active")
    )
    return {
        row.contract_id: ActiveSchedule(
            id=row.id, version=row.version, frequency=row.frequency, ends_on=row.ends_on,
            price_list=row.price_list,
            consumption_source=row.consumption_source,
            consumption=msgspec.convert(row.consumption, dict[str, Decimal], strict=False),
            instalment_amount=row.instalment_amount,
        )
        for row in rows
    }
