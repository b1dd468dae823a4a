"""Mass billing runs (issue #6, "Mass billing"): ``proud billing run --period 2026-01 [--dso …]`` orders every
contract whose bill is due at the end of that month, and the run's progress and summary.

**What is due.** A contract supplied by us (``md_supply``) whose next bill starts on ``next_start`` — the
day after its latest issued settlement, else the start of its supply — is due in month M when

* its supply ends on or before the last day of M: the **final** bill, up to the supply's last day; or
* its account's billing cycle (monthly 1, quarterly 3, semi-annual 6, annual 12 months) has passed:
  the months from ``next_start``'s month to M, both counted, are at least the cycle. The bill then runs
  from ``next_start`` to the last day of M: a contract that started on 15 March with an annual cycle is
  due in the run of February next year.

A contract is left out (and counted) when its order for that period end already exists (an earlier run,
a final bill ordered by a switching machine: ordering it again would bill or send it twice), when it has
another order still open (the clerk must finish that one first: bills of one contract follow each other),
or when its bill for that period end is already issued.

**How it runs.** Planning writes, per batch of ``PLAN_BATCH_SIZE`` contracts and in one transaction each,
a ``bl_run_item`` row and a ``billing.order_due`` on ``billing.orders`` (the outbox): the
``billing_order`` machine asks the billing worker (``billing.work``, keyed by OPM, so that every worker
process — one machine or many — takes its share of the partitions), and the orders go on through checks,
bill, documents and sending as any order does. A run is keyed by period and DSO; starting it again (after
a kill, or to pick up contracts whose data were fixed) plans only what it has not planned yet, and
billing itself is idempotent per contract and period end, so nothing is billed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.actions import order_key
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ordering import MACHINE
from gateway.billing.run_tables import run as bl_run
from gateway.billing.run_tables import run_item as bl_run_item
from gateway.billing.topics import BILLING_ORDERS
from gateway.bus import outbox
from gateway.errors import InvalidField
from gateway.masterdata import tables as md
from gateway.month import Month
from gateway.process.tables import process_instance
from schemas.billing.orders import OrderDue, OrderReason
from schemas.envelope import new_envelope

#: Contracts read, judged and ordered per transaction while planning.
PLAN_BATCH_SIZE: Final = 1_000
#: Contracts one run may order (a supplier's whole book with room to spare).
RUN_CONTRACTS_MAX: Final = 10_000_000
#: Months of each billing cycle (``schemas.masterdata.accounts.BillingCycle``).
CYCLE_MONTHS: Final = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
#: The ``billing_order`` states an order ends in (``tests/billing/runs`` checks them against the machine).
ORDER_FINAL_STATES: Final = frozenset({"sent", "cancelled"})
#: Open orders read at the start of planning; more means the back office is far behind: refuse to plan.
OPEN_ORDERS_MAX: Final = 2_000_000
#: Skipped contracts the summary names (the counts cover all of them).
SKIPPED_EXAMPLES_MAX: Final = 20
_ONE_DAY: Final = dt.timedelta(days=1)


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """(first, last day) of a ``YYYY-MM`` period; ``InvalidField('period', …)`` otherwise."""
    month = Month.parse(text, field="period")
    return month.first_day, month.last_day


def run_id(period: str, dso: str | None) -> str:
    """The run's key: ``2026-01``, or ``2026-01@<dso>`` for one DSO's OPMs."""
    month = str(Month.parse(period, field="period"))
    if dso is not None and not dso.strip():
        raise InvalidField("dso", dso, "must name a DSO as master data has it, or be left out")
    return month if dso is None else f"{month}@{dso}"


def months_counted(start: dt.date, last: dt.date) -> int:
    """Months from ``start``'s month to ``last``'s, both counted (January to March: 3)."""
    return (last.year - start.year) * 12 + last.month - start.month + 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A supplied contract as planning reads it."""

    contract: str
    contract_id: Any
    commodity: str
    opm: str
    supply_start: dt.date
    supply_end: dt.date | None
    account: str | None  # the variable symbol of the terms in force at the period's end
    billing_cycle: str | None
    billed_to: dt.date | None  # the latest issued settlement's period end, or the previous system's


def due_order(candidate: Candidate, last_day: dt.date) -> OrderDue | None:
    """The order of ``candidate`` in the run ending on ``last_day``, or None when it is not due."""
    next_start = candidate.billed_to + _ONE_DAY if candidate.billed_to else candidate.supply_start
    end = candidate.supply_end
    if next_start > last_day or (end is not None and end < next_start) or candidate.account is None:
        return None
    reason: OrderReason
    if end is not None and end <= last_day:
        period_to, reason = end, "final"
    elif months_counted(next_start, last_day) >= CYCLE_MONTHS.get(candidate.billing_cycle or "", 12):
        period_to, reason = last_day, "periodic"
    else:
        return None
    assert candidate.commodity in ("electricity", "gas"), candidate.commodity
    return OrderDue(
        order=order_key(candidate.contract, period_to), contract=candidate.contract,
        account=candidate.account, opm=candidate.opm, commodity=candidate.commodity,  # type: ignore[arg-type]
        period_from=next_start, period_to=period_to, reason=reason,
    )


@dataclass
class PlanSummary:
    """What planning did: orders queued now, and contracts left out and why."""

    run: str
    contracts_read: int = 0
    queued: int = 0
    not_due: int = 0
    already_planned: int = 0
    order_exists: int = 0
    open_order: int = 0
    already_billed: int = 0
    skipped_examples: list[str] = field(default_factory=list)


async def plan_run(
    engine: AsyncEngine, *, period: str, dso: str | None, now: dt.datetime, actor: str,
    on_batch: Callable[[PlanSummary], None] | None = None, batch_size: int = PLAN_BATCH_SIZE,
) -> PlanSummary:
    """Order every contract due in ``period`` (of ``dso``'s OPMs when given); resumable and idempotent."""
    assert 0 < batch_size <= PLAN_BATCH_SIZE, batch_size
    identifier = run_id(period, dso)
    month = Month.parse(period, field="period")
    period, last_day = str(month), month.last_day  # the period as the run's id has it
    async with engine.begin() as conn:
        await _ensure_run(conn, identifier, period, dso, now, actor)
        open_contracts = await _open_order_contracts(conn)
    summary = PlanSummary(run=identifier)
    after = ""
    while True:
        async with engine.begin() as conn:
            page = await _candidates(conn, after, dso, last_day, batch_size)
            if not page:
                break
            after = page[-1].contract
            await _plan_page(conn, identifier, page, last_day, open_contracts, summary, now)
        assert summary.contracts_read <= RUN_CONTRACTS_MAX, "a run over RUN_CONTRACTS_MAX contracts"
        if on_batch is not None:
            on_batch(summary)
    async with engine.begin() as conn:
        planned = await conn.scalar(
            sa.select(sa.func.count()).select_from(bl_run_item).where(bl_run_item.c.run == identifier)
        )
        await conn.execute(sa.update(bl_run).where(bl_run.c.id == identifier).values(
            status="planned", contracts_planned=int(planned or 0), planned_at=now,
        ))
    return summary


async def _ensure_run(
    conn: AsyncConnection, identifier: str, period: str, dso: str | None, now: dt.datetime, actor: str
) -> None:
    exists = await conn.scalar(sa.select(bl_run.c.id).where(bl_run.c.id == identifier))
    if exists is None:
        await conn.execute(sa.insert(bl_run).values(
            id=identifier, period=period, dso=dso, status="planning", contracts_planned=0, created_by=actor,
            created_at=now, planned_at=None,
        ))


async def _open_order_contracts(conn: AsyncConnection) -> frozenset[str]:
    """Contracts with a billing order that has not ended (their keys are ``<contract>@<day>``)."""
    i = process_instance.c
    query = sa.select(i.key).where(i.machine == MACHINE, i.state.not_in(sorted(ORDER_FINAL_STATES)))
    keys = (await conn.scalars(query.limit(OPEN_ORDERS_MAX + 1))).all()
    if len(keys) > OPEN_ORDERS_MAX:
        raise InvalidField("period", "", f"over {OPEN_ORDERS_MAX} billing orders are open: finish them first")
    return frozenset(key.rpartition("@")[0] for key in keys)


async def _candidates(
    conn: AsyncConnection, after: str, dso: str | None, last_day: dt.date, limit: int
) -> list[Candidate]:
    """The next ``limit`` contracts (by number) supplied on or before ``last_day``, with their account and
    last bill."""
    c, s, o = md.contract.c, md.supply.c, md.opm.c
    query = (
        sa.select(c.id, c.number, c.commodity, c.billed_until, o.code, s.start, s.end)
        .join(md.supply, s.contract_id == c.id).join(md.opm, o.id == c.opm_id)
        .where(c.number > after, s.start <= last_day).order_by(c.number).limit(limit)
    )
    if dso is not None:
        query = query.where(o.dso == dso)
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    accounts = await _accounts(conn, [row.id for row in rows], last_day)
    billed = await _billed_to(conn, [row.number for row in rows])
    return [
        Candidate(
            contract=row.number, contract_id=row.id, commodity=row.commodity, opm=row.code,
            supply_start=row.start, supply_end=row.end, account=accounts.get(row.id, (None, None))[0],
            billing_cycle=accounts.get(row.id, (None, None))[1],
            # Billed up to proud's latest settlement or the previous system's ``billed_until``.
            billed_to=max(filter(None, (billed.get(row.number), row.billed_until)), default=None),
        )
        for row in rows
    ]


async def _accounts(
    conn: AsyncConnection, contract_ids: Sequence[Any], day: dt.date
) -> dict[Any, tuple[str, str]]:
    """(variable symbol, billing cycle) of each contract's terms in force on ``day`` (else its first)."""
    t, a = md.contract_terms.c, md.account.c
    query = (
        sa.select(t.contract_id, t.effective_from, a.variable_symbol, a.billing_cycle)
        .join(md.account, a.id == t.account_id).where(t.contract_id.in_(contract_ids))
        .order_by(t.contract_id, t.effective_from)
    )
    found: dict[Any, tuple[str, str]] = {}
    for row in (await conn.execute(query)).all():
        if row.contract_id not in found or row.effective_from <= day:
            found[row.contract_id] = (row.variable_symbol, row.billing_cycle)
    return found


async def _billed_to(conn: AsyncConnection, contracts: Sequence[str]) -> dict[str, dt.date]:
    i = bl_invoice.c
    query = (
        sa.select(i.contract, sa.func.max(i.period_to))
        .where(i.contract.in_(contracts), i.kind == "settlement", i.status == "issued").group_by(i.contract)
    )
    return {row[0]: row[1] for row in (await conn.execute(query)).all()}


async def _plan_page(
    conn: AsyncConnection, identifier: str, page: list[Candidate], last_day: dt.date,
    open_contracts: frozenset[str], summary: PlanSummary, now: dt.datetime,
) -> None:
    """Judge one page of candidates and queue the due ones' orders with their run items."""
    summary.contracts_read += len(page)
    planned = set((await conn.scalars(sa.select(bl_run_item.c.contract).where(
        bl_run_item.c.run == identifier, bl_run_item.c.contract.in_([c.contract for c in page])
    ))).all())
    orders: list[OrderDue] = []
    for candidate in page:
        if candidate.contract in planned:
            summary.already_planned += 1
        elif _billed_through(candidate, last_day):
            summary.already_billed += 1
        elif (order := due_order(candidate, last_day)) is None:
            summary.not_due += 1
        else:
            orders.append(order)
    i = process_instance.c
    existing = set((await conn.scalars(sa.select(i.key).where(
        i.machine == MACHINE, i.key.in_([order.order for order in orders])
    ))).all()) if orders else set()
    queued: list[OrderDue] = []
    for order in orders:
        if order.order in existing:
            summary.order_exists += 1
        elif order.contract in open_contracts:
            summary.open_order += 1
            _example(summary, f"{order.contract}: another billing order of it is still open")
        else:
            queued.append(order)
    if queued:
        await _queue(conn, identifier, queued, now)
    summary.queued += len(queued)


def _billed_through(candidate: Candidate, last_day: dt.date) -> bool:
    """Whether the contract's issued bills reach the end of what this run would bill."""
    end = min(last_day, candidate.supply_end) if candidate.supply_end else last_day
    return candidate.billed_to is not None and candidate.billed_to >= end


def _example(summary: PlanSummary, text: str) -> None:
    if len(summary.skipped_examples) < SKIPPED_EXAMPLES_MAX:
        summary.skipped_examples.append(text)


async def _queue(conn: AsyncConnection, identifier: str, orders: list[OrderDue], now: dt.datetime) -> None:
    await conn.execute(sa.insert(bl_run_item), [
        {"run": identifier, "contract": order.contract, "order": order.order, "opm": order.opm,
         "period_to": order.period_to, "queued_at": now}
        for order in orders
    ])
    records = [
        outbox.envelope_record(BILLING_ORDERS.name, new_envelope(order, key=order.order, now=now))
        for order in orders
    ]
    await outbox.add(conn, records, now)
