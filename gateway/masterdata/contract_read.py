"""Contracts as of a day: the stored rows turned into ``Contract`` structs with the terms and status then.

Status on a day: ``withdrawn`` once withdrawn (whatever the day), ``signed`` before ``valid_from``,
``active`` while the day lies in the supply period, ``ended`` after it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.masterdata import tables as t
from gateway.masterdata.service_base import as_utc
from gateway.store.fixed import FixedQuery
from schemas.masterdata.contracts import Contract, ContractStatus, Terms

_ONE_DAY = dt.timedelta(days=1)


def _contracts_query() -> sa.Select[Any]:
    c = t.contract.c
    return (
        sa.select(
            t.contract, t.customer.c.number.label("customer_number"), t.opm.c.code.label("opm_code"),
            t.supply.c.start.label("supply_start"), t.supply.c.end.label("supply_end"),
        )
        .join(t.customer, t.customer.c.id == c.customer_id).join(t.opm, t.opm.c.id == c.opm_id)
        .outerjoin(t.supply, t.supply.c.contract_id == c.id)
        .order_by(c.valid_from, c.number)
    )


_terms = t.contract_terms.c
#: Every terms version of contracts (``store.fixed``: a mass run reads those of every batch).
_VERSIONS: Final = FixedQuery(lambda keys: sa.select(
    _terms.contract_id, _terms.version, _terms.effective_from, _terms.product, _terms.valid_to,
    _terms.notice_period_days, _terms.note, t.account.c.variable_symbol,
).join(
    t.account, t.account.c.id == _terms.account_id
).where(keys(_terms.contract_id, "contracts")).order_by(_terms.contract_id, _terms.effective_from),
    ["contracts"])


async def load(conn: AsyncConnection, condition: sa.ColumnElement[bool], as_of: dt.date) -> list[Contract]:
    """The contracts matching ``condition`` (on ``md_contract``) as of ``as_of``, by ``valid_from``."""
    result: Any = await conn.execute(_contracts_query().where(condition))  # Rows, not the tuples their stubs
    rows = result.all()  # say (``gateway.compiled`` checks those)
    versions = await versions_of(conn, [row.id for row in rows])
    return [contract_from(row, versions[row.id], as_of) for row in rows]


async def versions_of(
    conn: AsyncConnection, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Terms]]:
    """Every terms version of each contract, oldest first, with its account's variable symbol."""
    by_contract: dict[uuid.UUID, list[Terms]] = defaultdict(list)
    if not contract_ids:
        return by_contract
    rows = await _VERSIONS.rows(conn, contracts=contract_ids)
    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.contract_id].append(row)
    for contract_id, group in grouped.items():
        ends = [later.effective_from - _ONE_DAY for later in group[1:]] + [None]
        by_contract[contract_id] = [
            Terms(
                version=row.version, effective_from=row.effective_from, effective_to=end,
                product=row.product, account=row.variable_symbol, valid_to=row.valid_to,
                notice_period_days=row.notice_period_days, note=row.note,
            )
            for row, end in zip(group, ends, strict=True)
        ]
    return by_contract


def in_force(versions: Sequence[Terms], day: dt.date) -> Terms | None:
    """The version whose period holds ``day``; None before the first."""
    current = None
    for terms in versions:
        if terms.effective_from > day:
            break
        current = terms
    return current


def status_on(row: Any, day: dt.date) -> ContractStatus:
    if row.end_kind == "withdrawal":
        return "withdrawn"
    if day < row.valid_from:
        return "signed"
    assert row.supply_start is not None, f"contract {row.number} is not withdrawn but has no supply period"
    if row.supply_end is not None and day > row.supply_end:
        return "ended"
    return "active"


def contract_from(row: Any, versions: list[Terms], as_of: dt.date) -> Contract:
    assert versions, f"contract {row.number} has no terms"
    assert versions[0].effective_from == row.valid_from, (row.number, versions[0].effective_from)
    withdrawn = row.end_kind == "withdrawal" and as_of >= row.ended_on
    return Contract(
        id=row.id, number=row.number, customer=row.customer_number, opm=row.opm_code,
        commodity=row.commodity, status=status_on(row, as_of), signed_on=row.signed_on,
        valid_from=row.valid_from, negotiation=row.negotiation, start_reason=row.start_reason,
        withdrawal_until=row.withdrawal_until,
        ended_on=row.ended_on, terms=None if withdrawn else in_force(versions, as_of), versions=versions,
        version=row.version, created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),
        billed_until=row.billed_until,
    )
