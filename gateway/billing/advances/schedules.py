"""Making and storing advance schedules: one contract's (after its settlement, or on request) or a batch's.

``plan`` prices the year with the calculator (``gateway.billing.quote``) and divides it (``plan.py``);
``store`` writes a new schedule version unless the active one already says the same. What "the same" means
makes regeneration idempotent: the same frequency, price list, consumption and instalment amount, and the
active schedule still running when the new one would start. Then nothing is written and the contract counts
as ``unchanged``.

Supersession keeps what the customer was already told: the old schedule's ``requested`` and ``paid``
instalments stay, only ``planned`` ones become ``superseded``, and the new schedule starts with the first
month no kept instalment covers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances import plan
from gateway.billing.advances.inputs import ContractBasis, load_bases
from gateway.billing.advances.tables import advance_instalment, advance_schedule
from gateway.billing.dso_codes import price_list_dso
from gateway.billing.quote import quote, resolve_list
from gateway.errors import InvalidField
from gateway.masterdata import tables as t
from gateway.process.calendar import WorkingCalendar
from schemas.billing.advances import INSTALMENTS_PER_YEAR, RegenerationSummary, Skipped
from schemas.billing.settlement import Consumption, QuoteOpm, QuoteRequest, Settlement

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Options:
    """How to regenerate: the price lists' directory and which list (None: the default one; a path only
    when ``paths_allowed``, i.e. from the command line), a frequency overriding the accounts', and the
    reason recorded on new schedules."""

    prices_root: Path
    price_list: str | None = None
    paths_allowed: bool = False
    frequency: str | None = None
    reason: str = "manual"


@dataclass(frozen=True)
class Planned:
    frequency: str
    price_list: str
    priced_from: dt.date
    priced_to: dt.date
    source: str
    consumption: dict[str, Decimal]
    annual_total: Decimal
    instalment_amount: Decimal


def plan_schedule(
    basis: ContractBasis, start: dt.date, options: Options, settlement: Settlement | None = None
) -> Planned:
    """Price the contract's year from ``start``; ``InvalidField`` names what stops it (nothing is written)."""
    frequency = options.frequency or basis.advance_frequency
    if frequency not in INSTALMENTS_PER_YEAR:
        raise InvalidField("advance_frequency", frequency, "the account pays no advances")
    price_list = resolve_list(options.prices_root, options.price_list, paths_allowed=options.paths_allowed)
    dso = price_list_dso(basis.commodity, basis.dso)
    if dso is None:
        raise InvalidField("opm.dso", basis.dso, "has no price-list code (gateway/billing/dso_codes.py)")
    product = plan.product_code(price_list, basis.commodity, basis.product)
    tdd = price_list.meta.tdd.gas if basis.commodity == "gas" else price_list.meta.tdd.electricity
    consumption, source = _consumption(basis, price_list.rates.get(dso, {}), settlement, tdd)
    priced_from, priced_to = plan.priced_window(start, price_list)
    gas = basis.commodity == "gas"
    request = QuoteRequest(
        commodity="gas" if gas else "electricity", period_from=priced_from, period_to=priced_to,
        opm=QuoteOpm(dso=dso, band=basis.gas_band) if gas else QuoteOpm(
            dso=dso, rate=basis.rate, breaker_phases=basis.breaker_phases, breaker_amps=basis.breaker_amps,
        ),
        product=product, price_list=options.price_list, consumption=consumption,
        # Gas for households is exempt from the gas tax (zákon 261/2007 Sb. část 45 §4, docs/billing.md).
        gas_tax_exempt=gas and basis.household,
    )
    total = quote(request, options.prices_root, paths_allowed=options.paths_allowed).total
    count = INSTALMENTS_PER_YEAR[frequency]
    return Planned(
        frequency=frequency, price_list=price_list.id, priced_from=priced_from, priced_to=priced_to,
        source=source, consumption=plan.consumption_mwh(consumption), annual_total=total,
        instalment_amount=plan.instalment_amount(total, count),
    )


def _consumption(
    basis: ContractBasis, rates: Mapping[str, object], settlement: Settlement | None, tdd: Sequence[Decimal],
) -> tuple[Consumption, str]:
    """The last settlement's consumption scaled to a year by the commodity's TDD weights, when there is one
    (given now, the contract's last issued one, or recorded on the active schedule), else the OPM's
    technical estimate."""
    settled = None if settlement is None else plan.settled_consumption(basis.commodity, settlement, tdd)
    if settled is None and basis.last_settlement is not None:
        settled = plan.settled_consumption(basis.commodity, basis.last_settlement, tdd)
    if settled is not None:
        return settled, "settlement"
    active = basis.active
    if active is not None and active.consumption_source == "settlement":
        return plan.consumption_of(basis.commodity, active.consumption), "settlement"
    rate = rates.get(basis.rate or "")
    registers = getattr(rate, "registers", "single")
    kwh = basis.annual_consumption_kwh
    estimate = plan.technical_consumption(basis.commodity, kwh, basis.rate, registers)
    return estimate, "technical"


def _unchanged(basis: ContractBasis, planned: Planned, start: dt.date) -> bool:
    active = basis.active
    return active is not None and active.ends_on >= start and (
        active.frequency, active.price_list, active.consumption, active.instalment_amount,
    ) == (planned.frequency, planned.price_list, planned.consumption, planned.instalment_amount)


async def store(
    conn: AsyncConnection, basis: ContractBasis, planned: Planned, *, start: dt.date, reason: str,
    now: dt.datetime, calendar: WorkingCalendar,
) -> int | None:
    """Write ``planned`` as the contract's new active schedule; None if unchanged, else the number of the
    old schedule's instalments superseded."""
    if _unchanged(basis, planned, start):
        return None
    superseded = 0
    if basis.active is not None:
        start, superseded = await _supersede(conn, basis.active.id, start, now)
    count = INSTALMENTS_PER_YEAR[planned.frequency]
    periods = plan.instalment_periods(start, count)
    latest = await conn.scalar(
        sa.select(sa.func.max(advance_schedule.c.version))
        .where(advance_schedule.c.contract_id == basis.contract_id)
    )
    schedule_id = uuid.uuid4()
    await conn.execute(sa.insert(advance_schedule).values(
        id=schedule_id, contract_id=basis.contract_id, account_id=basis.account_id, version=(latest or 0) + 1,
        state="active", reason=reason, frequency=planned.frequency, starts_on=start,
        ends_on=periods[-1][1], price_list=planned.price_list, priced_from=planned.priced_from,
        priced_to=planned.priced_to, consumption_source=planned.source,
        consumption={name: str(value) for name, value in planned.consumption.items()},
        annual_total=planned.annual_total, instalment_amount=planned.instalment_amount, created_at=now,
    ))
    await conn.execute(sa.insert(advance_instalment), [
        {
            "id": uuid.uuid4(), "schedule_id": schedule_id, "account_id": basis.account_id, "sequence": index,
            "period_from": first, "period_to": last, "due_date": plan.due_date(first, calendar),
            "amount": planned.instalment_amount, "state": "planned", "paid_amount": Decimal("0"),
        }
        for index, (first, last) in enumerate(periods, start=1)
    ])
    return superseded


async def _supersede(
    conn: AsyncConnection, schedule_id: uuid.UUID, start: dt.date, now: dt.datetime
) -> tuple[dt.date, int]:
    """Retire the active schedule: its planned instalments are superseded, requested and paid ones stay.
    Returns the new schedule's start (after the last kept instalment) and how many were superseded."""
    i = advance_instalment.c
    kept_to = await conn.scalar(
        sa.select(sa.func.max(i.period_to))
        .where(i.schedule_id == schedule_id, i.state.in_(("requested", "paid")))
    )
    if kept_to is not None and kept_to >= start:
        start = kept_to + _DAY
    result = await conn.execute(
        sa.update(advance_instalment).where(i.schedule_id == schedule_id, i.state == "planned")
        .values(state="superseded")
    )
    await conn.execute(
        sa.update(advance_schedule).where(advance_schedule.c.id == schedule_id)
        .values(state="superseded", superseded_at=now)
    )
    return start, int(result.rowcount)


async def _lock(conn: AsyncConnection, contract_ids: Sequence[uuid.UUID]) -> None:
    """Lock the contracts' rows (PostgreSQL; SQLite serialises writers) before reading their active
    schedules: a second regeneration of a contract waits, then finds the first's schedule and changes
    nothing, instead of failing on the one-active-schedule index."""
    c = t.contract.c
    await conn.execute(sa.select(c.id).where(c.id.in_(contract_ids)).order_by(c.id).with_for_update())


async def regenerate_batch(
    conn: AsyncConnection, contract_ids: Sequence[uuid.UUID], options: Options, *, now: dt.datetime,
    calendar: WorkingCalendar, summary: RegenerationSummary,
) -> None:
    """Regenerate the schedules of ``contract_ids`` in the caller's transaction, counting into ``summary``;
    a contract that cannot be priced is skipped with the field and value that stopped it."""
    start = plan.schedule_start(calendar.local_date(now))
    await _lock(conn, contract_ids)
    for basis in await load_bases(conn, contract_ids, start):
        summary.contracts += 1
        try:
            planned = plan_schedule(basis, start, options)
        except InvalidField as exc:
            summary.skipped += 1
            value = None if exc.value is None else str(exc.value)
            summary.skipped_contracts.append(Skipped(contract=basis.contract, field=exc.field, value=value,
                                                     reason=exc.reason))
            continue
        superseded = await store(conn, basis, planned, start=start, reason=options.reason, now=now,
                                 calendar=calendar)
        if superseded is None:
            summary.unchanged += 1
        else:
            summary.created += 1
            summary.superseded_instalments += superseded


async def regenerate_after_settlement(
    conn: AsyncConnection, contract_id: uuid.UUID, settlement: Settlement, options: Options, *,
    now: dt.datetime, calendar: WorkingCalendar,
) -> bool:
    """The billing flow's call, in the bill's transaction: a new schedule for the contract from the settled
    consumption scaled to a year (the OPM's estimate when the period is too short). True if a schedule was
    written; ``InvalidField`` when the contract cannot be priced (nothing written)."""
    start = plan.schedule_start(calendar.local_date(now))
    await _lock(conn, [contract_id])
    bases = await load_bases(conn, [contract_id], start)
    if not bases:
        raise InvalidField("contract", str(contract_id), "is not a contract")
    basis = bases[0]
    planned = plan_schedule(basis, start, options, settlement)
    written = await store(conn, basis, planned, start=start, reason="settlement", now=now, calendar=calendar)
    return written is not None
