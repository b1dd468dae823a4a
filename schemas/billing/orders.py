"""Billing orders (issue #6): the messages between the billing-order machine (``rules/machines/
billing_order.yaml``), the billing worker, the document renderer, the sender and the back office. Topic
``billing.orders``, keyed by the order key ``<contract>@<period_to>`` (one order per contract and billing
period end).

    billing.order_due ──→ machine: due ──bill_requested──→ worker (pre-checks, bill, post-checks)
                                 ▲                           │
        billing.released ────────┘   billing.waiting_for_reading / billing.outsorted / billing.billed
                                                             │
         billed ──render_requested──→ renderer (PDF, ISDOC filed) ──billing.invoiced──→ invoiced
         invoiced ──send_requested──→ sender (e-mail, ISDOC, paper) ──billing.sent──→ sent
                                                              └──billing.send_failed──→ send_failed
         send_failed ──billing.resend (a clerk fixed the address)──→ invoiced (sent again)

The worker reads ``billing.work`` (``bill_requested``, keyed by OPM so that one OPM's bills are made in
order); the renderer and the sender read ``billing.documents`` (keyed by the order); all answer on
``billing.orders``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

from schemas.envelope import Payload, payload

OrderReason = Literal["periodic", "final", "move_out", "change_of_customer", "loss", "correction", "manual"]
CheckStage = Literal["pre", "post"]


class Finding(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One reason to outsort: a code from the checks' decision table and a sentence for the clerk."""

    code: str  # READING_MISSING, IMPLAUSIBLE_CONSUMPTION, NOT_SUPPLIED, PRICE_MISSING, NEGATIVE_TOTAL, …
    text: str


@payload("billing.order_due", 1)
class OrderDue(Payload, frozen=True, kw_only=True):
    order: str  # <contract>@<period_to>
    contract: str
    account: str
    opm: str
    commodity: Literal["electricity", "gas"]
    period_from: dt.date
    period_to: dt.date
    reason: OrderReason


@payload("billing.bill_requested", 1)
class BillRequested(Payload, frozen=True, kw_only=True):
    order: str
    contract: str
    account: str
    opm: str
    period_from: dt.date
    period_to: dt.date
    #: Check codes a clerk released for this order: the worker does not outsort for them again.
    released: tuple[str, ...] = ()


@payload("billing.waiting_for_reading", 1)
class WaitingForReading(Payload, frozen=True, kw_only=True):
    order: str
    opm: str
    text: str


@payload("billing.outsorted", 1)
class Outsorted(Payload, frozen=True, kw_only=True):
    order: str
    stage: CheckStage
    findings: tuple[Finding, ...]
    #: Post-check: the draft invoice that was not issued.
    draft: str | None = None


@payload("billing.billed", 1)
class Billed(Payload, frozen=True, kw_only=True):
    order: str
    invoice: str  # the invoice number
    total: Decimal
    balance: Decimal


@payload("billing.invoiced", 1)
class Invoiced(Payload, frozen=True, kw_only=True):
    """The invoice's documents (PDF, ISDOC) are rendered and filed."""

    order: str
    invoice: str
    documents: tuple[str, ...]  # document ids


@payload("billing.sent", 1)
class Sent(Payload, frozen=True, kw_only=True):
    order: str
    invoice: str
    #: How it went out: an account's ``delivery_channel`` (``email_pdf``, ``isdoc``, ``paper``), or
    #: ``manual`` when a clerk delivered it some other way after a failure.
    channel: str


@payload("billing.render_requested", 1)
class RenderRequested(Payload, frozen=True, kw_only=True):
    """Render and file the PDF and ISDOC of the order's invoice (an order entering ``billed``)."""

    order: str
    invoice: str


@payload("billing.send_requested", 1)
class SendRequested(Payload, frozen=True, kw_only=True):
    """Deliver the order's invoice by its account's channel (an order entering ``invoiced``)."""

    order: str
    invoice: str


@payload("billing.send_failed", 1)
class SendFailed(Payload, frozen=True, kw_only=True):
    """The invoice cannot be delivered by ``channel`` until a person acts (no e-mail address, a recipient
    the mail server refuses for good): ``reason`` says why, for the clerk."""

    order: str
    invoice: str
    channel: str
    reason: str


@payload("billing.resend", 1)
class Resend(Payload, frozen=True, kw_only=True):
    """A clerk fixed the cause of a failed delivery (the address, the channel): send the invoice again."""

    order: str
    actor: str
    note: str = ""


@payload("billing.released", 1)
class Released(Payload, frozen=True, kw_only=True):
    """A clerk releases an outsorted order: bill it without the checks named in ``codes``."""

    order: str
    codes: tuple[str, ...]
    actor: str
    note: str = ""


@payload("billing.cancelled", 1)
class Cancelled(Payload, frozen=True, kw_only=True):
    """A clerk drops the order (e.g. billed by hand); the machine ends."""

    order: str
    actor: str
    note: str = ""
