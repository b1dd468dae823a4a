"""The final-bill intake: ``switch.final_bill_ordered`` on ``process.events`` becomes a billing order.

A switching machine (``switch_loss``, ``move_out``, ``change_of_customer``) says that supply to a contract
ended on ``last_day`` and which reading closes it; billing orders the contract's bill up to that day
(``billing.order_due`` on ``billing.orders``, reason from the event). A consumer of group
``proud.billing-final-bills``; other message types on ``process.events`` are not ours and are passed over.
The order key makes a redelivered event the same order, which the machine then ignores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import structlog

from gateway.billing.ordering import order_due
from gateway.billing.topics import BILLING_ORDERS
from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected, InvalidField, NotFound
from gateway.process.topics import PROCESS_EVENTS
from schemas.switching import FinalBillOrdered

log = structlog.get_logger(__name__)

FINAL_BILLS_GROUP: Final = "proud.billing-final-bills"


@dataclass(frozen=True, slots=True)
class FinalBillIntake:
    """The handler of ``process.events`` that orders final bills."""

    def subscription(self) -> Subscription:
        return Subscription(FINAL_BILLS_GROUP, (PROCESS_EVENTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, FinalBillOrdered):
            return
        try:
            due = await order_due(
                ctx.conn, contract=body.contract, period_to=body.last_day, reason=body.reason
            )
        except (NotFound, InvalidField) as exc:
            # The switching machine named a contract master data does not have (or cannot bill): a person
            # must look, and the dead-letter queue is where they look.
            raise HandlerRejected(f"switch.final_bill_ordered of OPM {body.opm}: {exc.message}") from exc
        if due.opm != body.opm:
            raise HandlerRejected(
                f"switch.final_bill_ordered: contract {body.contract} is at OPM {due.opm}, not {body.opm}"
            )
        ctx.emit_payload(BILLING_ORDERS.name, due, key=due.order)
        log.info("billing.order.final", order=due.order, reason=body.reason, process=body.process)
