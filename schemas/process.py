"""Payloads of the process runtime (timers, reminders) and the demo inputs of the reminder machine.

Amounts are ``Decimal`` fields: on the wire they are decimal strings ("1200.50", the envelope encoder writes
Decimals as strings), never floats, and rule expressions compare them exactly (``gateway.process``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from schemas.envelope import Payload, payload


@payload("process.timer", 1)
class TimerFired(Payload, frozen=True, kw_only=True):
    """A durable timer of a machine instance is due; the instance receives it as ``timer.<name>``."""

    machine: str
    name: str
    timer_id: int
    due_at: dt.datetime
    instance_key: str


@payload("process.reminder_requested", 1)
class ReminderRequested(Payload, frozen=True, kw_only=True):
    """A payment reminder of escalation ``level`` should go out for the envelope's contract account."""

    level: int
    amount_due: Decimal | None = None


@payload("invoice.overdue", 1)
class InvoiceOverdue(Payload, frozen=True, kw_only=True):
    """An invoice was not paid by its due date (the reminder machine starts on this)."""

    invoice: str
    amount: Decimal
    final_date: dt.date  # last day before collection; the final-notice timer counts back from it


@payload("payment.received", 1)
class PaymentReceived(Payload, frozen=True, kw_only=True):
    amount: Decimal
