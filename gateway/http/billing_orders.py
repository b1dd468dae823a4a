"""``/api/billing/orders``: billing orders for the clerk — order a bill, list orders (outsorted ones with
their findings), release an outsorted order or cancel it.

Orders are ``billing_order`` process instances (``rules/machines/billing_order.yaml``), read from the
process tables. Every change is a message on ``billing.orders`` through the outbox, in one transaction
(202: queued; the machine and the billing worker take it from there).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Final

import msgspec
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing import documents_clerk, ordering
from gateway.http.masterdata.common import read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.http.views import BadParameter, parse_limit
from schemas.billing.orders import OrderReason
from schemas.masterdata.common import Note

api = ApiRoutes(
    tag="billing-orders", description="Billing orders: ordering bills, outsorted orders, release, cancel.",
)

ORDER = PathParam("order", str, "the order key <contract>@<period_to>, e.g. SML-40@2026-12-31")
STATE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
CheckCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{2,39}$")]
ContractNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class OrderIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bill ``contract`` up to ``period_to``; from ``period_from``, by default the day after its latest
    order, else the contract's start."""

    contract: ContractNumber
    period_to: dt.date
    period_from: dt.date | None = None
    reason: OrderReason = "manual"


class ReleaseIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bill the order again without the checks named in ``codes`` (empty: the cause was fixed)."""

    codes: Annotated[list[CheckCode], msgspec.Meta(max_length=ordering.RELEASE_CODES_MAX)] = []
    note: Note = ""


class CancelIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Note = ""


class Queued(msgspec.Struct, frozen=True, kw_only=True):
    """``message_id`` is on ``billing.orders``, keyed by ``order``."""

    order: str
    message_id: uuid.UUID
    actor: str
    period_from: dt.date | None = None
    period_to: dt.date | None = None


class OrderList(msgspec.Struct, frozen=True, kw_only=True):
    orders: list[ordering.OrderView]


@api.get(
    "/api/billing/orders", summary="Billing orders in a state (outsorted: with their findings)",
    response=OrderList,
    query=[
        QueryParam("state", str, "only orders in this state: outsorted, waiting_for_reading, ready, …"),
        QueryParam("limit", Annotated[int, msgspec.Meta(ge=1, le=ordering.ORDERS_LISTED_MAX)],
                   "at most N, the longest untouched first", default=ordering.ORDERS_LISTED_DEFAULT),
    ],
)
async def list_orders(request: web.Request) -> OrderList:
    state = request.query.get("state") or None
    if state is not None and not STATE_NAME.fullmatch(state):
        raise BadParameter("state", state, "a state of billing_order, e.g. outsorted")
    raw_limit = request.query.get("limit", str(ordering.ORDERS_LISTED_DEFAULT))
    limit = parse_limit(raw_limit, ordering.ORDERS_LISTED_MAX)

    async def operation(conn: AsyncConnection) -> OrderList:
        return OrderList(orders=await ordering.orders_in(conn, state, limit))

    return await read(request, "listing billing orders", operation)


@api.post(
    "/api/billing/orders", summary="Order the bill of a contract up to a day", request=OrderIn,
    response=Queued, status=202, errors=[404, 413],
)
async def create_order(request: web.Request) -> Queued:
    """Queues ``billing.order_due`` (reason ``manual`` unless given). 404: no such contract."""
    body = await read_json(request, OrderIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Queued:
        due = await ordering.order_due(
            conn, contract=body.contract, period_to=body.period_to, reason=body.reason,
            period_from=body.period_from,
        )
        message_id = await ordering.queue(conn, due.order, due, now)
        return Queued(
            order=due.order, message_id=message_id, actor=who, period_from=due.period_from,
            period_to=due.period_to,
        )

    return await write(request, "ordering a bill", operation)


@api.post(
    "/api/billing/orders/{order}/release", summary="Release an outsorted or waiting order: bill it again",
    request=ReleaseIn, response=Queued, status=202, path_params=[ORDER], errors=[409, 413],
)
async def release_order(request: web.Request) -> Queued:
    """Queues ``billing.released`` with ``codes``; 409 when the order's state cannot be released."""
    order = request.match_info["order"]
    body = await read_json(request, ReleaseIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Queued:
        codes = tuple(dict.fromkeys(body.codes))
        message_id = await ordering.release(conn, order, codes, actor=who, note=body.note, now=now)
        return Queued(order=order, message_id=message_id, actor=who)

    return await write(request, "releasing a billing order", operation)


@api.post(
    "/api/billing/orders/{order}/cancel", summary="Cancel an order that is not billed: no bill is made",
    request=CancelIn, response=Queued, status=202, path_params=[ORDER], errors=[409, 413],
)
async def cancel_order(request: web.Request) -> Queued:
    """Queues ``billing.cancelled``; 409 once the order is billed (correct a bill with a credit note)."""
    order = request.match_info["order"]
    body = await read_json(request, CancelIn) if request.body_exists else CancelIn()

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Queued:
        message_id = await ordering.cancel(conn, order, actor=who, note=body.note, now=now)
        return Queued(order=order, message_id=message_id, actor=who)

    return await write(request, "cancelling a billing order", operation)


@api.post(
    "/api/billing/orders/{order}/resend",
    summary="Deliver the invoice of an order whose sending failed again (after the address was fixed)",
    request=CancelIn, response=Queued, status=202, path_params=[ORDER], errors=[409, 413],
)
async def resend_order(request: web.Request) -> Queued:
    """Queues ``billing.resend``; 409 unless the order is ``send_failed``."""
    order = request.match_info["order"]
    body = await read_json(request, CancelIn) if request.body_exists else CancelIn()

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Queued:
        message_id = await documents_clerk.resend(conn, order, actor=who, note=body.note, now=now)
        return Queued(order=order, message_id=message_id, actor=who)

    return await write(request, "resending an invoice", operation)


@api.post(
    "/api/billing/orders/{order}/mark-sent",
    summary="Record that the invoice of an order whose sending failed was delivered by hand",
    response=Queued, status=202, path_params=[ORDER], errors=[409],
)
async def mark_order_sent(request: web.Request) -> Queued:
    """Queues ``billing.sent`` with channel ``manual``; 409 unless the order is ``send_failed``."""
    order = request.match_info["order"]

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Queued:
        message_id = await documents_clerk.mark_sent(conn, order, now=now)
        return Queued(order=order, message_id=message_id, actor=who)

    return await write(request, "marking an invoice sent", operation)
