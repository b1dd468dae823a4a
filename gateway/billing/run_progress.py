"""Where a mass billing run stands: its orders by state, the outsorted ones by check, and the money billed.

An order's state is its ``billing_order`` instance; a run item whose instance does not exist yet is
``queued`` (its ``billing.order_due`` is on its way). The money is the issued settlements of the run's
contracts at the items' period ends. All of it is a few grouped queries, so asking is cheap at a million
orders and can be repeated every second by a progress bar.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ordering import MACHINE
from gateway.billing.run_tables import run as bl_run
from gateway.billing.run_tables import run_item as bl_run_item
from gateway.billing.topics import BILLING_ORDERS, BILLING_WORK
from gateway.clock import as_utc
from gateway.errors import NotFound
from gateway.process.tables import process_instance
from gateway.store.tables import dead_letter

#: The states in which the run's work on an order is done (a clerk may still act on outsorted ones).
SETTLED_STATES: Final = frozenset({
    "billed", "invoiced", "sent", "send_failed", "outsorted", "waiting_for_reading", "cancelled",
})
#: States of an order that holds an issued bill.
BILLED_STATES: Final = frozenset({"billed", "invoiced", "sent", "send_failed"})
#: Outsorted orders whose findings are read for the summary; more are counted without their reasons.
OUTSORTED_READ_MAX: Final = 100_000
_ZERO: Final = Decimal("0.00")


class RunProgress(msgspec.Struct, frozen=True, kw_only=True):
    """A run's orders by state and the money of its issued bills."""

    run: str
    period: str
    dso: str | None
    status: str  # planning | planned
    created_at: dt.datetime
    orders: int
    #: ``billing_order`` state → orders; ``queued``: the order's instance does not exist yet.
    states: dict[str, int]
    #: Check code → outsorted orders it stopped (an order may count under several codes).
    outsorted_by_reason: dict[str, int]
    #: Orders the run has done its part for (``SETTLED_STATES``); ``orders - done`` are in flight.
    done: int
    #: Orders in flight whose message is a dead letter (``billing.orders`` by order, ``billing.work`` by
    #: OPM): they move again only when someone fixes the cause and replays it (``proud dlq``).
    stuck: int
    billed: int
    invoices: int
    total: Decimal
    #: Sum of the positive balances (owed by customers) and of the negative ones (owed to them).
    balance_due: Decimal
    overpaid: Decimal

    @property
    def finished(self) -> bool:
        return self.status == "planned" and self.done == self.orders

    @property
    def stalled(self) -> bool:
        """Nothing moves without a person: every order in flight is stuck on a dead letter."""
        return self.status == "planned" and self.stuck > 0 and self.done + self.stuck >= self.orders


async def run_progress(conn: AsyncConnection, run: str) -> RunProgress:
    """The progress of ``run``; ``NotFound`` for an unknown run."""
    row = (await conn.execute(sa.select(bl_run).where(bl_run.c.id == run))).first()
    if row is None:
        raise NotFound(f"no billing run {run!r}")
    states = await _states(conn, run)
    orders = sum(states.values())
    money = await _money(conn, run)
    return RunProgress(
        run=run, period=row.period, dso=row.dso, status=row.status, created_at=as_utc(row.created_at),
        orders=orders, states=states, outsorted_by_reason=await _reasons(conn, run),
        done=sum(count for state, count in states.items() if state in SETTLED_STATES),
        billed=sum(count for state, count in states.items() if state in BILLED_STATES),
        stuck=await _stuck(conn, run),
        invoices=money[0], total=money[1], balance_due=money[2], overpaid=money[3],
    )


def _joined() -> sa.Join:
    i, r = process_instance.c, bl_run_item.c
    return bl_run_item.outerjoin(process_instance, sa.and_(i.machine == MACHINE, i.key == r.order))


async def _states(conn: AsyncConnection, run: str) -> dict[str, int]:
    state = sa.func.coalesce(process_instance.c.state, "queued")
    query = (
        sa.select(state, sa.func.count()).select_from(_joined())
        .where(bl_run_item.c.run == run).group_by(state)
    )
    return {str(name): int(count) for name, count in (await conn.execute(query)).all()}


async def _stuck(conn: AsyncConnection, run: str) -> int:
    i, r, d = process_instance.c, bl_run_item.c, dead_letter.c
    dead = sa.exists().where(d.status == "open", sa.or_(
        sa.and_(d.topic == BILLING_WORK.name, d.key == r.opm),
        sa.and_(d.topic == BILLING_ORDERS.name, d.key == r.order),
    ))
    in_flight = sa.or_(i.state.is_(None), i.state.not_in(sorted(SETTLED_STATES)))
    query = sa.select(sa.func.count()).select_from(_joined()).where(r.run == run, in_flight, dead)
    return int((await conn.execute(query)).scalar_one())


async def _reasons(conn: AsyncConnection, run: str) -> dict[str, int]:
    query = (
        sa.select(process_instance.c.data).select_from(_joined())
        .where(bl_run_item.c.run == run, process_instance.c.state == "outsorted").limit(OUTSORTED_READ_MAX)
    )
    reasons: Counter[str] = Counter()
    for data in (await conn.scalars(query)).all():
        codes = {str(finding.get("code")) for finding in (data or {}).get("findings") or []}
        reasons.update(codes or {"unknown"})
    return dict(sorted(reasons.items()))


async def _money(conn: AsyncConnection, run: str) -> tuple[int, Decimal, Decimal, Decimal]:
    """(issued settlements, their total, positive balances, negative balances) of the run's items."""
    i, r = bl_invoice.c, bl_run_item.c
    due = sa.case((i.balance > 0, _hellers(i.balance)), else_=0)
    overpaid = sa.case((i.balance < 0, _hellers(i.balance)), else_=0)
    query = (
        sa.select(sa.func.count(), sa.func.sum(_hellers(i.total)), sa.func.sum(due), sa.func.sum(overpaid))
        .select_from(bl_run_item.join(bl_invoice, sa.and_(
            i.contract == r.contract, i.period_to == r.period_to, i.kind == "settlement",
            i.status == "issued",
        )))
        .where(r.run == run)
    )
    count, total, balance_due, overpaid_sum = (await conn.execute(query)).one()
    return (int(count), _money_of(total), _money_of(balance_due), _money_of(overpaid_sum))


def _hellers(column: sa.ColumnElement[Decimal]) -> sa.ColumnElement[int]:
    """An amount in whole hellers (haléře) as an integer: SQLite sums NUMERIC as floating point, and a
    million of them would not add up to the hellers exactly; integers do, on both databases."""
    return sa.cast(sa.func.round(column * 100), sa.BigInteger)


def _money_of(hellers: object) -> Decimal:
    if hellers is None:
        return _ZERO
    # PostgreSQL sums BIGINT as NUMERIC, SQLite as INTEGER: whole hellers either way.
    assert isinstance(hellers, int | Decimal) and hellers == int(hellers), hellers
    return (Decimal(int(hellers)) / 100).quantize(_ZERO)


async def runs(conn: AsyncConnection, limit: int = 20) -> list[str]:
    """The newest runs' ids."""
    query = sa.select(bl_run.c.id).order_by(bl_run.c.created_at.desc(), bl_run.c.id).limit(limit)
    return [str(name) for name in (await conn.scalars(query)).all()]
