"""Billing orders from the outside: creating one (``billing.order_due``), a clerk's release and cancel, and
the list of orders in a state (the ``billing_order`` instances of the process tables).

Every change is a message through the outbox on ``billing.orders``, keyed by the order; the machine
(``rules/machines/billing_order.yaml``) decides what it means. Release and cancel are refused here (409)
only when the order's state has no transition for them, so that a clerk learns at once that a billed order
cannot be released, instead of the machine passing the message over in silence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.actions import order_key
from gateway.billing.topics import BILLING_ORDERS
from gateway.bus import outbox
from gateway.clock import as_utc
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.contract_read import in_force, load
from gateway.process.tables import process_instance
from schemas.billing.orders import Cancelled, Finding, OrderDue, OrderReason, Released
from schemas.envelope import Payload, new_envelope

MACHINE: Final = "billing_order"
#: The states of ``billing_order.yaml`` with a transition on ``billing.released`` / ``billing.cancelled``
#: (``tests/billing/orders/test_ordering.py`` checks them against the machine).
RELEASABLE_STATES: Final = frozenset({"outsorted", "waiting_for_reading"})
CANCELLABLE_STATES: Final = frozenset({"ready", "outsorted", "waiting_for_reading"})
#: Orders one listing returns by default, and at most.
ORDERS_LISTED_DEFAULT: Final = 100
ORDERS_LISTED_MAX: Final = 1_000
#: Check codes one release may name (the tables have a handful).
RELEASE_CODES_MAX: Final = 20
_ONE_DAY: Final = dt.timedelta(days=1)


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """A billing order as the clerk sees it: where it stands and, outsorted, why."""

    order: str
    state: str
    contract: str | None
    opm: str | None
    period_from: dt.date | None
    period_to: dt.date | None
    reason: str | None
    #: The checks that outsorted it (``stage`` pre or post), empty otherwise.
    findings: list[Finding]
    stage: str | None
    released: list[str]
    waiting_for: str | None
    invoice: str | None
    total: Decimal | None
    updated_at: dt.datetime


def parse_order(order: str) -> tuple[str, dt.date]:
    """(contract, period_to) of an order key ``<contract>@<period_to>``; ``InvalidField`` otherwise."""
    contract, at, day = order.rpartition("@")
    try:
        period_to = dt.date.fromisoformat(day)
    except ValueError:
        period_to = None
    if not at or not contract or period_to is None:
        raise InvalidField("order", order, "expected <contract>@<period_to>, e.g. SML-40@2026-12-31")
    return contract, period_to


async def order_due(
    conn: AsyncConnection, *, contract: str, period_to: dt.date, reason: OrderReason,
    period_from: dt.date | None = None,
) -> OrderDue:
    """The ``billing.order_due`` of a contract up to ``period_to``: account, OPM and commodity from master
    data; ``period_from`` by default the day after the contract's latest earlier order or after what the
    previous billing system billed (``billed_until``), whichever is later, else the contract's start."""
    contracts = await load(conn, t.contract.c.number == contract, period_to)
    if not contracts:
        raise NotFound(f"contract {contract!r} is not in master data")
    found = contracts[0]
    # The terms in force on the period's last day; an ended contract's last terms otherwise.
    last_terms = found.versions[-1] if found.versions else None
    terms = found.terms or in_force(found.versions, period_to) or last_terms
    if terms is None:
        raise InvalidField("contract", contract, "has no terms, so no contract account to bill")
    after_previous_system = found.billed_until + _ONE_DAY if found.billed_until else None
    after_orders = await _next_period_start(conn, contract, period_to)
    start = period_from or max(filter(None, (after_orders, after_previous_system)), default=found.valid_from)
    if period_to < start:
        raise InvalidField("period_to", period_to.isoformat(), f"is before the period's start {start}")
    return OrderDue(
        order=order_key(contract, period_to), contract=contract, account=terms.account, opm=found.opm,
        commodity=found.commodity, period_from=start, period_to=period_to, reason=reason,
    )


async def _next_period_start(conn: AsyncConnection, contract: str, period_to: dt.date) -> dt.date | None:
    """The day after the latest order of the contract that ends before ``period_to``."""
    i = process_instance.c
    prefix = f"{contract}@"
    keys = await conn.scalars(
        sa.select(i.key).where(i.machine == MACHINE, i.key.startswith(prefix, autoescape=True))
    )
    ends = [day for key in keys if (day := _period_to_of(key)) is not None and day < period_to]
    return max(ends) + _ONE_DAY if ends else None


def _period_to_of(key: str) -> dt.date | None:
    try:
        return parse_order(key)[1]
    except InvalidField:
        return None


async def queue(conn: AsyncConnection, order: str, body: Payload, now: dt.datetime) -> uuid.UUID:
    """Put ``body`` on ``billing.orders`` keyed by ``order`` in the caller's transaction; its message id."""
    envelope = new_envelope(body, key=order, now=now)
    await outbox.add(conn, [outbox.envelope_record(BILLING_ORDERS.name, envelope)], now)
    return envelope.id


async def _state(conn: AsyncConnection, order: str) -> str:
    i = process_instance.c
    state = await conn.scalar(sa.select(i.state).where(i.machine == MACHINE, i.key == order))
    if state is None:
        raise NotFound(f"no billing order {order!r}")
    return str(state)


async def release(
    conn: AsyncConnection, order: str, codes: tuple[str, ...], *, actor: str, note: str, now: dt.datetime
) -> uuid.UUID:
    """Queue ``billing.released``: bill the order again without the checks named in ``codes``."""
    parse_order(order)
    if len(codes) > RELEASE_CODES_MAX:
        raise InvalidField("codes", list(codes), f"at most {RELEASE_CODES_MAX} check codes")
    state = await _state(conn, order)
    if state not in RELEASABLE_STATES:
        raise Conflict(f"billing order {order} is {state}; only {sorted(RELEASABLE_STATES)} can be released")
    return await queue(conn, order, Released(order=order, codes=codes, actor=actor, note=note), now)


async def cancel(conn: AsyncConnection, order: str, *, actor: str, note: str, now: dt.datetime) -> uuid.UUID:
    """Queue ``billing.cancelled``: the order ends without a bill (e.g. billed by hand)."""
    parse_order(order)
    state = await _state(conn, order)
    if state not in CANCELLABLE_STATES:
        allowed = sorted(CANCELLABLE_STATES)
        raise Conflict(f"billing order {order} is {state}; only {allowed} can be cancelled")
    return await queue(conn, order, Cancelled(order=order, actor=actor, note=note), now)


async def orders_in(
    conn: AsyncConnection, state: str | None, limit: int = ORDERS_LISTED_DEFAULT
) -> list[OrderView]:
    """The orders in ``state`` (all when None), the longest untouched first."""
    assert 0 < limit <= ORDERS_LISTED_MAX, limit
    i = process_instance.c
    query = sa.select(process_instance).where(i.machine == MACHINE)
    if state is not None:
        query = query.where(i.state == state)
    rows = (await conn.execute(query.order_by(i.updated_at, i.key).limit(limit))).all()
    return [view(row.key, row.state, row.data, as_utc(row.updated_at)) for row in rows]


def view(order: str, state: str, data: dict[str, Any], updated_at: dt.datetime) -> OrderView:
    """An instance's data as the clerk's view; data written by older rules may lack fields."""
    return msgspec.convert({
        "order": order, "state": state, "updated_at": updated_at,
        **{name: data.get(name) for name in (
            "contract", "opm", "period_from", "period_to", "reason", "stage", "waiting_for", "invoice",
            "total",
        )},
        "findings": data.get("findings") or [], "released": data.get("released") or [],
    }, OrderView, strict=False)
