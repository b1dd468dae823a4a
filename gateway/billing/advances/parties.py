"""Who and what an advance document is about, read for an instalment: the customer as invoiced, the
contract account's VS and billing address, the OPM and its supply address, the contract's commodity."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.tables import advance_instalment, advance_schedule
from gateway.errors import NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.opm_rows import address_from_row
from schemas.billing.invoice import Customer
from schemas.masterdata.common import Address

#: Which of the customer's addresses a document goes to when the account names no billing address.
CUSTOMER_ADDRESS_ORDER: Final = ("billing", "correspondence", "permanent", "registered")
_ICO: Final = re.compile(r"[0-9]{8}")
_DIC: Final = re.compile(r"CZ[0-9]{8,10}")


@dataclass(frozen=True)
class InstalmentContext:
    instalment_id: uuid.UUID
    sequence: int
    period_from: dt.date
    period_to: dt.date
    due_date: dt.date
    amount: Decimal
    paid_amount: Decimal
    state: str
    request_number: str | None
    commodity: str
    opm_code: str
    supply_address: Address
    variable_symbol: str
    customer: Customer


async def instalment_context(conn: AsyncConnection, instalment_id: uuid.UUID) -> InstalmentContext:
    i, s, c = advance_instalment.c, advance_schedule.c, t.contract.c
    row = (await conn.execute(
        sa.select(advance_instalment, c.commodity, c.opm_id, c.customer_id, t.opm.c.code,
                  t.account.c.variable_symbol, t.account.c.billing_address)
        .join(advance_schedule, s.id == i.schedule_id).join(t.contract, c.id == s.contract_id)
        .join(t.opm, t.opm.c.id == c.opm_id).join(t.account, t.account.c.id == s.account_id)
        .where(i.id == instalment_id)
    )).first()
    if row is None:
        raise NotFound(f"no advance instalment {instalment_id}")
    supply = await _supply_address(conn, row.opm_id)
    return InstalmentContext(
        instalment_id=row.id, sequence=row.sequence, period_from=row.period_from, period_to=row.period_to,
        due_date=row.due_date, amount=row.amount, paid_amount=row.paid_amount, state=row.state,
        request_number=row.request_number, commodity=row.commodity, opm_code=row.code,
        supply_address=supply, variable_symbol=row.variable_symbol,
        customer=await _customer(conn, row.customer_id, row.billing_address, supply),
    )


async def _supply_address(conn: AsyncConnection, opm_id: uuid.UUID) -> Address:
    row = (await conn.execute(sa.select(t.address).where(t.address.c.opm_id == opm_id).limit(1))).first()
    if row is None:
        raise NotFound(f"OPM {opm_id} has no supply address")
    return address_from_row(row)


async def _customer(
    conn: AsyncConnection, customer_id: uuid.UUID, billing_address: Any, supply: Address
) -> Customer:
    """The customer as invoiced, at the account's billing address, else the customer's own (billing,
    correspondence, permanent, registered), else the supply address (a household without a recorded
    address lives where it is supplied, as far as a letter is concerned)."""
    row = (await conn.execute(sa.select(t.customer).where(t.customer.c.id == customer_id))).one()
    if billing_address is not None:
        address = msgspec.convert(billing_address, Address)
    else:
        rows = (await conn.execute(sa.select(t.address).where(t.address.c.customer_id == customer_id))).all()
        ranked = sorted(rows, key=lambda item: _rank(item.kind))
        address = address_from_row(ranked[0]) if ranked else supply
    name = row.company_name if row.kind == "company" else f"{row.first_name or ''} {row.last_name or ''}"
    return Customer(
        name=name.strip() or row.number, address=address, customer_number=row.number,
        ico=row.ico if row.ico and _ICO.fullmatch(row.ico) else None,
        dic=row.dic if row.dic and _DIC.fullmatch(row.dic) else None,
    )


def _rank(kind: str) -> int:
    order = CUSTOMER_ADDRESS_ORDER
    return order.index(kind) if kind in order else len(order)
