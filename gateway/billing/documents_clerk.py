"""What a clerk does with an order whose invoice could not be delivered (state ``send_failed``): send it
again once the cause is fixed (``billing.resend``), or say it was delivered another way (``billing.sent``
with channel ``manual``). Both queue the message on ``billing.orders`` in the caller's transaction, like a
release (``gateway.billing.ordering``), and return its id; the ``billing_order`` machine takes it.

The API and CLI entries for them are to be added beside the release and cancel ones.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.ordering import MACHINE, parse_order, queue
from gateway.errors import Conflict, NotFound
from gateway.process.tables import process_instance
from schemas.billing.orders import Resend, Sent

#: The only state either step applies to.
SEND_FAILED_STATE: Final = "send_failed"
#: ``billing.sent`` channel of an invoice a clerk delivered by hand (post office counter, portal upload, …).
MANUAL_CHANNEL: Final = "manual"


async def _failed_invoice(conn: AsyncConnection, order: str) -> str:
    """The invoice of ``order``, which must be ``send_failed``."""
    parse_order(order)
    i = process_instance.c
    row = (await conn.execute(
        sa.select(i.state, i.data).where(i.machine == MACHINE, i.key == order)
    )).first()
    if row is None:
        raise NotFound(f"no billing order {order!r}")
    if row.state != SEND_FAILED_STATE:
        raise Conflict(f"billing order {order} is {row.state}; only a {SEND_FAILED_STATE} order is resent")
    return str(row.data["invoice"])


async def resend(conn: AsyncConnection, order: str, *, actor: str, note: str, now: dt.datetime) -> uuid.UUID:
    """Queue ``billing.resend``: deliver the invoice again by the account's channel as it is now."""
    await _failed_invoice(conn, order)
    return await queue(conn, order, Resend(order=order, actor=actor, note=note), now)


async def mark_sent(conn: AsyncConnection, order: str, *, now: dt.datetime) -> uuid.UUID:
    """Queue ``billing.sent`` with channel ``manual``: the clerk delivered the invoice another way."""
    invoice = await _failed_invoice(conn, order)
    return await queue(conn, order, Sent(order=order, invoice=invoice, channel=MANUAL_CHANNEL), now)
