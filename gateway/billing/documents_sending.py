"""The sender: an invoice's filed documents delivered by its contract account's ``delivery_channel``.

    billing.send_requested (billing.documents) ─→ the account's channel
        email_pdf  e-mail with the PDF to delivery_email (else the customer's primary e-mail)
        isdoc      e-mail with the ISDOC XML and the PDF, to the same address
        paper      the PDF and a manifest with the postal address to the print shop
    ─→ a bl_delivery row (sent | failed) ─→ billing.sent {channel} or billing.send_failed {channel, reason}

A consumer of group ``proud.billing-sender``; the partner code is in ``connectors.einvoice`` and
``connectors.post``. Outcomes:

* **sent**: the server accepted the message (or the print shop has the letter): a ``sent`` row with the
  Message-ID, ``billing.sent``.
* **a permanent failure** (no e-mail address to send to; the server refuses the recipient or the message
  with a 5xx): a ``failed`` row with the reason, ``billing.send_failed``; the machine files a back-office task
  and waits for a clerk (``billing.resend`` after fixing the address, or ``billing.sent`` with channel
  ``manual``).
* **a passing failure** (the server is down, a timeout, a 4xx): ``MailUnavailable`` / ``PrintShopUnavailable``
  (retryable) roll the transaction back; the bus retries and then dead-letters the request (replay it). Such
  attempts leave no ``bl_delivery`` row (it would be rolled back with the rest); the dead letter and the log
  keep them.

**At least once.** The delivery row and the answer commit with the inbox row, after the partner took the
message. A request redelivered after a committed ``sent`` row is answered from it without sending again; a
crash between the partner's acceptance and the commit sends once more, with the same Message-ID (e-mail) or
the same file names (the print shop replaces the letter), so a duplicate is recognisable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.einvoice import Attachment, EinvoiceConnector, InvoiceMail, MailRefused
from connectors.post import Letter, PostalAddress, PostConnector
from gateway.billing.actions import order_key
from gateway.billing.bill_documents import MEDIA_ISDOC, MEDIA_PDF, customer_address
from gateway.billing.ledger import get_invoice
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.billing.topics import BILLING_DOCUMENTS, BILLING_ORDERS
from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import get_opm
from schemas.billing.bill import Invoice
from schemas.billing.invoice import Supplier
from schemas.billing.orders import RenderRequested, SendFailed, SendRequested, Sent
from schemas.masterdata.accounts import Account
from schemas.masterdata.customers import Customer

log = structlog.get_logger(__name__)

BILLING_SENDER_GROUP: Final = "proud.billing-sender"
#: ``bl_delivery.recipient`` and ``detail`` lengths (the column, and what a clerk reads).
RECIPIENT_CHARS_MAX: Final = 320
DETAIL_CHARS_MAX: Final = 2_000
NO_ADDRESS: Final = (
    "the contract account has no e-mail address (delivery_email) and the customer no primary e-mail contact"
)


@dataclass(frozen=True, slots=True)
class Channels:
    """The partners: e-mail (``sender`` is the From address), the print shop, and who we are."""

    mail: EinvoiceConnector
    post: PostConnector
    supplier: Supplier
    sender: str


@dataclass(frozen=True, slots=True)
class _Parties:
    invoice: Invoice
    account: Account
    customer: Customer


def mail_recipient(account: Account, customer: Customer) -> str | None:
    """The account's ``delivery_email``, else the customer's primary e-mail contact (master data accepts an
    e-mail account without an address of its own when the customer has one)."""
    if account.delivery_email:
        return account.delivery_email
    primary = (c.value for c in customer.contacts if c.kind == "email" and c.primary)
    return next(primary, None)


def check_order(invoice: Invoice, order: str) -> None:
    """Refuse a request whose invoice is not its order's bill: the invoice numbers of another database (a
    restored copy, a second installation on the same Kafka) must never make us render or send ours."""
    own = order_key(invoice.contract, invoice.period_to)
    if invoice.kind != "settlement" or own != order:
        raise HandlerRejected(f"invoice {invoice.number} is the bill of order {own} ({invoice.kind}), not of "
                              f"order {order}")


async def deliver(
    conn: AsyncConnection, files: FileStore, channels: Channels, request: SendRequested, now: dt.datetime
) -> Sent | SendFailed:
    """Deliver the invoice of ``request`` and record the attempt, in the caller's transaction."""
    invoice = await get_invoice(conn, request.invoice)
    check_order(invoice, request.order)
    if not invoice.documents:
        raise HandlerRejected(f"invoice {request.invoice} has no documents to send (render them first)")
    account = await get_account(conn, invoice.account)
    channel = account.delivery_channel
    if await _sent_before(conn, invoice, request.order, channel):
        return Sent(order=request.order, invoice=request.invoice, channel=channel)
    contract = await get_contract(conn, invoice.contract, invoice.period_to)
    parties = _Parties(invoice, account, await get_customer(conn, contract.customer))
    documents = await _documents(conn, files, invoice)
    if channel == "paper":
        return await _post(conn, channels, parties, documents, request, now)
    return await _mail(conn, channels, parties, documents, request, now)


async def _mail(
    conn: AsyncConnection, channels: Channels, parties: _Parties, documents: dict[str, bytes],
    request: SendRequested, now: dt.datetime,
) -> Sent | SendFailed:
    invoice, channel = parties.invoice, parties.account.delivery_channel
    assert channel in ("email_pdf", "isdoc") and invoice.number is not None
    recipient = mail_recipient(parties.account, parties.customer)
    if recipient is None:
        await _record(conn, request, channel, "", "failed", None, NO_ADDRESS, now)
        return SendFailed(order=request.order, invoice=invoice.number, channel=channel, reason=NO_ADDRESS)
    attachments = [Attachment(f"{invoice.number}.pdf", MEDIA_PDF, documents[MEDIA_PDF])]
    if channel == "isdoc":
        attachments.insert(0, Attachment(f"{invoice.number}.isdoc", MEDIA_ISDOC, documents[MEDIA_ISDOC]))
    assert invoice.kind in ("settlement", "credit_note")
    mail = InvoiceMail(
        number=invoice.number, kind=invoice.kind, channel=channel, supplier_name=channels.supplier.name,
        sender=channels.sender, recipient=recipient, customer_name=parties.customer.name,
        period_from=invoice.period_from, period_to=invoice.period_to, balance=invoice.balance,
        due_date=invoice.due_date, variable_symbol=invoice.account, attachments=tuple(attachments),
    )
    outcome = await channels.mail.send_invoice(mail, now)
    if isinstance(outcome, MailRefused):
        await _record(conn, request, channel, recipient, "failed", None, outcome.reason, now)
        return SendFailed(order=request.order, invoice=invoice.number, channel=channel, reason=outcome.reason)
    await _record(conn, request, channel, recipient, "sent", outcome.message_id, outcome.detail, now)
    return Sent(order=request.order, invoice=invoice.number, channel=channel)


async def _post(
    conn: AsyncConnection, channels: Channels, parties: _Parties, documents: dict[str, bytes],
    request: SendRequested, now: dt.datetime,
) -> Sent:
    invoice, customer = parties.invoice, parties.customer
    assert invoice.number is not None
    opm = await get_opm(conn, invoice.opm, invoice.period_to)
    address = customer_address(customer, parties.account.billing_address, opm)
    recipient = PostalAddress.of(customer.name, address)
    sender = PostalAddress.of(channels.supplier.name, channels.supplier.address)
    where = await channels.post.send_letter(
        Letter(name=invoice.number, pdf=documents[MEDIA_PDF], recipient=recipient, sender=sender)
    )
    await _record(conn, request, "paper", ", ".join(recipient.lines()), "sent", invoice.number, where, now)
    return Sent(order=request.order, invoice=invoice.number, channel="paper")


async def _documents(conn: AsyncConnection, files: FileStore, invoice: Invoice) -> dict[str, bytes]:
    """The invoice's filed documents by media type (PDF, ISDOC)."""
    found: dict[str, bytes] = {}
    for document in invoice.documents:
        version, content = await read_content(conn, files, document)
        found[version.media_type] = content
    if MEDIA_PDF not in found:
        raise HandlerRejected(f"invoice {invoice.number} has no PDF among its documents {invoice.documents}")
    return found


async def _sent_before(conn: AsyncConnection, invoice: Invoice, order: str, channel: str) -> bool:
    d = bl_delivery.c
    found = await conn.scalar(sa.select(sa.func.count()).select_from(bl_delivery).where(
        d.document == invoice.number, d.order == order, d.channel == channel, d.status == "sent",
    ))
    return bool(found)


async def _record(
    conn: AsyncConnection, request: SendRequested, channel: str, recipient: str, status: str,
    message_id: str | None, detail: str, now: dt.datetime,
) -> None:
    await conn.execute(sa.insert(bl_delivery).values(
        document=request.invoice, order=request.order, channel=channel,
        recipient=recipient[:RECIPIENT_CHARS_MAX], status=status, message_id=message_id,
        detail=detail[:DETAIL_CHARS_MAX], attempted_at=now,
    ))
    log.info("billing.delivery", invoice=request.invoice, order=request.order, channel=channel, status=status)


@dataclass(frozen=True, slots=True)
class InvoiceSender:
    """The handler of ``billing.send_requested`` (it passes over the renderer's ``render_requested``)."""

    files: FileStore
    channels: Channels

    def subscription(self) -> Subscription:
        return Subscription(BILLING_SENDER_GROUP, (BILLING_DOCUMENTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        request = ctx.envelope.payload
        if isinstance(request, RenderRequested):
            return  # the renderer's (same topic, its own group)
        if not isinstance(request, SendRequested):
            expected = SendRequested.message_type
            raise HandlerRejected(f"the invoice sender got {ctx.envelope.type}, expected {expected}")
        answer = await deliver(ctx.conn, self.files, self.channels, request, ctx.now)
        ctx.emit_payload(BILLING_ORDERS.name, answer, key=request.order)
