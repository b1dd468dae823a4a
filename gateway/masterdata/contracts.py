"""Contract services: sign, amend and terminate supply contracts, and read them as of a day.

A contract supplies one OPM from ``valid_from`` to its ``valid_to`` (or indefinitely); its supply period is
reserved under a lock on the OPM, so no two of our contracts supply one OPM on the same day. Terms are
versions from an effective date: an amendment appends one (or replaces the latest, given its date) and
carries over what it leaves out. Every write is audited and announced on ``masterdata.contracts`` with the
contract as of the change's day: creation as of ``now``'s day, an amendment as of its ``effective_from``,
a termination as of the day it was served.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.ids import uuid7
from gateway.masterdata import audit, supply
from gateway.masterdata import tables as t
from gateway.masterdata.audit import Change
from gateway.masterdata.contract_read import in_force, load
from gateway.masterdata.opm_checks import lookup_code
from gateway.masterdata.service_base import constrained, local_date, next_number
from schemas.masterdata.contracts import (
    WITHDRAWAL_DAYS,
    Amendment,
    Contract,
    ContractIn,
    Termination,
    Terms,
)

_NUMBER_FORM: Final = re.compile(r"^[0-9A-Z/-]{1,20}$")
#: Ways of signing that give a consumer the statutory right to withdraw (distance and off-premises sales).
WITHDRAWABLE_NEGOTIATIONS: Final = frozenset({"off_premises", "distance"})
#: Customer kind that is a consumer; consumer protection does not cover companies.
CONSUMER_KIND: Final = "person"


async def create_contract(conn: AsyncConnection, actor: str, now: dt.datetime, data: ContractIn) -> Contract:
    """A signed contract and its supply period; refused when another contract supplies the OPM then."""
    data = constrained(data)
    customer = await _customer(conn, data.customer)
    account = await _account(conn, "account", data.account, customer)
    opm = await _opm(conn, data.opm)
    if data.valid_from < data.signed_on:
        reason = f"is before the contract was signed on {data.signed_on}"
        raise InvalidField("valid_from", data.valid_from.isoformat(), reason)
    if data.valid_to is not None and data.valid_to < data.valid_from:
        reason = f"is before the contract starts on {data.valid_from}"
        raise InvalidField("valid_to", data.valid_to.isoformat(), reason)
    if data.billed_until is not None and data.billed_until < data.valid_from:
        reason = f"is before the contract starts on {data.valid_from}: nothing of it was billed then"
        raise InvalidField("billed_until", data.billed_until.isoformat(), reason)
    if data.number is not None:
        await _require_number_free(conn, data.number)
    contract_id = uuid7()
    await supply.reserve(conn, opm.id, contract_id, data.valid_from, data.valid_to)
    if data.start_reason == "change_of_customer":
        await _require_previous_customer(conn, opm.id, customer.id, data.valid_from)
    number = data.number or await next_number(conn, "contract", t.contract.c.number)
    withdrawable = customer.kind == CONSUMER_KIND and data.negotiation in WITHDRAWABLE_NEGOTIATIONS
    await conn.execute(sa.insert(t.contract).values(
        id=contract_id, number=number, customer_id=customer.id, opm_id=opm.id, commodity=opm.commodity,
        signed_on=data.signed_on, valid_from=data.valid_from, negotiation=data.negotiation,
        start_reason=data.start_reason,
        withdrawal_until=data.signed_on + dt.timedelta(days=WITHDRAWAL_DAYS) if withdrawable else None,
        ended_on=None, end_kind=None, billed_until=data.billed_until, version=1, created_at=now,
        updated_at=now,
    ))
    await conn.execute(sa.insert(t.contract_terms).values(
        contract_id=contract_id, version=1, effective_from=data.valid_from, product=data.product,
        account_id=account.id, valid_to=data.valid_to, notice_period_days=data.notice_period_days,
        note="", recorded_at=now,
    ))
    await supply.add(conn, opm.id, contract_id, data.valid_from, data.valid_to)
    contract = await _as_of(conn, contract_id, local_date(now))
    created = Change("contract", contract_id, number, "created", 1, None, contract)
    await audit.record(conn, actor, now, [created])
    return contract


async def _require_previous_customer(
    conn: AsyncConnection, opm_id: uuid.UUID, customer_id: uuid.UUID, valid_from: dt.date
) -> None:
    """A change of customer (přepis) continues our supply: another customer's contract at the OPM must end
    the day before (after ``supply.reserve`` the OPM is locked, so the answer holds until commit)."""
    day_before = valid_from - dt.timedelta(days=1)
    previous = (await conn.execute(
        sa.select(t.contract.c.customer_id).join(t.supply, t.supply.c.contract_id == t.contract.c.id)
        .where(t.supply.c.opm_id == opm_id, t.supply.c.end == day_before)
    )).first()
    if previous is None or previous.customer_id == customer_id:
        whose = "no contract of ours" if previous is None else "only this customer's own contract"
        reason = f"the OPM has {whose} ending on {day_before}, the day before this one starts"
        raise InvalidField("start_reason", "change_of_customer", reason)


async def amend_contract(
    conn: AsyncConnection, actor: str, now: dt.datetime, number: str, amendment: Amendment
) -> Contract:
    """New terms from ``amendment.effective_from``; a change of ``valid_to`` moves the supply end too."""
    amendment = constrained(amendment)
    row = await _row(conn, number, for_update=True)
    if row.end_kind == "withdrawal":
        raise Conflict(f"contract {row.number} was withdrawn on {row.ended_on}; it cannot be amended")
    day = amendment.effective_from
    latest = (await conn.execute(
        sa.select(t.contract_terms).where(t.contract_terms.c.contract_id == row.id)
        .order_by(t.contract_terms.c.version.desc()).limit(1)
    )).one()
    _check_amendment_day(row, latest, day)
    period = await supply.period_row(conn, row.id)
    if period.end is not None and day > period.end:
        raise Conflict(
            f"contract {row.number} ends on {period.end}; an amendment from {day} would never apply"
        )
    account_id = latest.account_id
    if isinstance(amendment.account, str):
        customer = await conn.execute(sa.select(t.customer).where(t.customer.c.id == row.customer_id))
        account_id = (await _account(conn, "account", amendment.account, customer.one())).id
    valid_to = latest.valid_to if isinstance(amendment.valid_to, msgspec.UnsetType) else amendment.valid_to
    before = await _as_of(conn, row.id, day)
    if valid_to != latest.valid_to:
        _check_new_valid_to(row, day, valid_to)
        await supply.move_end(conn, row.id, valid_to)
    values = {
        "effective_from": day, "account_id": account_id, "valid_to": valid_to, "note": amendment.note,
        "recorded_at": now,
        "product": latest.product if isinstance(amendment.product, msgspec.UnsetType) else amendment.product,
        "notice_period_days": latest.notice_period_days
        if isinstance(amendment.notice_period_days, msgspec.UnsetType) else amendment.notice_period_days,
    }
    terms = t.contract_terms.c
    if day == latest.effective_from:  # the same day: this amendment replaces the latest version
        await conn.execute(sa.update(t.contract_terms).where(
            terms.contract_id == row.id, terms.version == latest.version,
        ).values(values))
    else:
        await conn.execute(sa.insert(t.contract_terms).values(
            contract_id=row.id, version=latest.version + 1, **values,
        ))
    return await _bump(conn, actor, now, row, "amended", before, day)


async def terminate_contract(
    conn: AsyncConnection, actor: str, now: dt.datetime, number: str, termination: Termination
) -> Contract:
    """End the contract by withdrawal (within the withdrawal period) or by notice (after its period)."""
    termination = constrained(termination)
    row = await _row(conn, number, for_update=True)
    if row.end_kind is not None:
        raise Conflict(f"contract {row.number} was already ended ({row.end_kind}) on {row.ended_on}")
    served = termination.served_on
    if served < row.signed_on:
        reason = f"is before the contract was signed on {row.signed_on}"
        raise InvalidField("served_on", served.isoformat(), reason)
    before = await _as_of(conn, row.id, served)
    if termination.kind == "withdrawal":
        ended_on = await _withdraw(conn, row, termination)
        action = "withdrawn"
    else:
        ended_on = await _give_notice(conn, row, termination, before.versions)
        action = "terminated"
    return await _bump(conn, actor, now, row, action, before, served,
                       end_kind=termination.kind, ended_on=ended_on)


async def get_contract(conn: AsyncConnection, number: str, as_of: dt.date) -> Contract:
    """The contract with its status and terms on ``as_of``; every version in ``versions``."""
    found = await load(conn, t.contract.c.number == number, as_of)
    if not found:
        raise NotFound(f"contract {number!r} does not exist")
    return found[0]


async def contracts_of_customer(
    conn: AsyncConnection, customer_id: uuid.UUID, as_of: dt.date
) -> list[Contract]:
    """Every contract of the customer (whatever its status), as of ``as_of``, oldest ``valid_from`` first."""
    return await load(conn, t.contract.c.customer_id == customer_id, as_of)


async def _withdraw(conn: AsyncConnection, row: Any, termination: Termination) -> dt.date:
    """The consumer withdraws: supply that had not started never will, supply that had ends that day."""
    served = termination.served_on
    if termination.end_on is not None:
        reason = "is not given for a withdrawal: it takes effect on the day it is served"
        raise InvalidField("end_on", termination.end_on.isoformat(), reason)
    if row.withdrawal_until is None:
        raise Conflict(
            f"contract {row.number} has no withdrawal period: only a consumer who signed off premises or at "
            "a distance may withdraw; give notice instead"
        )
    if served > row.withdrawal_until:
        raise Conflict(
            f"the withdrawal period of contract {row.number} ended on {row.withdrawal_until}; a withdrawal "
            f"served on {served} is too late, give notice instead"
        )
    period = await supply.period_row(conn, row.id)
    if served < period.start:
        await supply.release(conn, row.id)
    elif period.end is None or served < period.end:
        await supply.move_end(conn, row.id, served)
    return served


async def _give_notice(
    conn: AsyncConnection, row: Any, termination: Termination, versions: list[Terms]
) -> dt.date:
    """Supply ends on ``end_on``, no earlier than the notice period of the terms in force when served."""
    served, end_on = termination.served_on, termination.end_on
    if end_on is None:
        raise InvalidField("end_on", None, "is required for a termination by notice")
    # Notice served before supply starts runs under the first terms: the only ones agreed by then.
    terms = in_force(versions, served) or versions[0]
    earliest = served + dt.timedelta(days=terms.notice_period_days)
    if end_on < earliest:
        raise Conflict(
            f"notice on contract {row.number} served on {served} with a notice period of "
            f"{terms.notice_period_days} days ends it on {earliest} at the earliest, not on {end_on}"
        )
    if end_on < row.valid_from:
        reason = f"is before the contract starts on {row.valid_from}"
        raise InvalidField("end_on", end_on.isoformat(), reason)
    period = await supply.period_row(conn, row.id)
    if period.end is not None and end_on > period.end:
        reason = f"is after the contract ends anyway, on {period.end}"
        raise InvalidField("end_on", end_on.isoformat(), reason)
    await supply.move_end(conn, row.id, end_on)
    return end_on


def _check_amendment_day(row: Any, latest: Any, day: dt.date) -> None:
    if day < row.valid_from:
        reason = f"is before the contract starts on {row.valid_from}"
        raise InvalidField("effective_from", day.isoformat(), reason)
    if day < latest.effective_from:
        reason = (
            f"is before the latest terms (version {latest.version} from {latest.effective_from}); "
            "an amendment adds terms after it or, with its date, replaces it"
        )
        raise InvalidField("effective_from", day.isoformat(), reason)


def _check_new_valid_to(row: Any, day: dt.date, valid_to: dt.date | None) -> None:
    if row.end_kind is not None:
        raise Conflict(
            f"contract {row.number} was terminated by {row.end_kind} to end on {row.ended_on}; "
            "its valid_to can no longer change"
        )
    if valid_to is not None and valid_to < max(row.valid_from, day):
        reason = f"is before the amendment takes effect on {day}" if day > row.valid_from else (
            f"is before the contract starts on {row.valid_from}"
        )
        raise InvalidField("valid_to", valid_to.isoformat(), reason)


async def _bump(
    conn: AsyncConnection, actor: str, now: dt.datetime, row: Any, action: str, before: Contract,
    as_of: dt.date, **values: Any,
) -> Contract:
    """Store the next version of the contract row, then audit ``before`` → the contract as of ``as_of``."""
    version = row.version + 1
    await conn.execute(
        sa.update(t.contract).where(t.contract.c.id == row.id, t.contract.c.version == row.version)
        .values(version=version, updated_at=now, **values)
    )
    after = await _as_of(conn, row.id, as_of)
    assert after.version == version, (after.version, version)
    await audit.record(
        conn, actor, now, [Change("contract", row.id, row.number, action, version, before, after)]
    )
    return after


async def _as_of(conn: AsyncConnection, contract_id: uuid.UUID, day: dt.date) -> Contract:
    found = await load(conn, t.contract.c.id == contract_id, day)
    assert len(found) == 1, (contract_id, len(found))
    return found[0]


async def _row(conn: AsyncConnection, number: str, *, for_update: bool = False) -> Any:
    query = sa.select(t.contract).where(t.contract.c.number == number)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"contract {number!r} does not exist")
    return row


async def _require_number_free(conn: AsyncConnection, number: str) -> None:
    if not _NUMBER_FORM.fullmatch(number):
        raise InvalidField("number", number, "must be 1 to 20 characters of 0-9, A-Z, '/' and '-'")
    if await conn.scalar(sa.select(t.contract.c.id).where(t.contract.c.number == number)) is not None:
        raise Conflict(f"contract number {number} is already taken")


async def _customer(conn: AsyncConnection, number: str) -> Any:
    # Looked up directly: the customers service (get_customer) builds the whole struct, more than needed here.
    row = (await conn.execute(sa.select(t.customer).where(t.customer.c.number == number))).first()
    if row is None:
        raise InvalidField("customer", number, "is not the number of a customer")
    return row


async def _account(conn: AsyncConnection, field: str, variable_symbol: str, customer: Any) -> Any:
    """The contract account with that VS, which must be one of ``customer``'s."""
    row = (await conn.execute(
        sa.select(t.account).where(t.account.c.variable_symbol == variable_symbol)
    )).first()
    if row is None:
        raise InvalidField(field, variable_symbol, "is not the variable symbol of a contract account")
    if row.customer_id != customer.id:
        reason = f"is an account of another customer, not of {customer.number}"
        raise InvalidField(field, variable_symbol, reason)
    return row


async def _opm(conn: AsyncConnection, code: str) -> Any:
    row = (await conn.execute(sa.select(t.opm).where(t.opm.c.code == lookup_code(code)))).first()
    if row is None:
        raise InvalidField("opm", code, "is not the code of an OPM we know")
    return row
