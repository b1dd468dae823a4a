"""The document renderer: an issued invoice's PDF and ISDOC, rendered and filed after the bill's transaction.

    billing.render_requested (billing.documents) ─→ load the invoice, its customer, account and OPM
        ─→ PDF + ISDOC (validated) filed in the DMS ─→ their ids on the bl_invoice row
        ─→ billing.invoiced (billing.orders) with the document ids

A consumer of group ``proud.billing-documents``. The ``billing_order`` machine asks for it when an order
enters ``billed``; the bill itself only stored the invoice with everything its documents need (the
settlement and the advances it deducted). Rendering is CPU-bound (tens of ms a document) and runs off the
event loop (``file_documents``).

**Idempotent.** The invoice row is locked (``FOR UPDATE``) and an invoice that already has documents is
answered with them, not rendered again: a redelivered request, two requests racing, or an individual bill
(``POST /api/billing/bill``) that rendered its documents inline. Rendering, filing, the row update and the
answer are one transaction with the inbox row.

The documents print the master data as it is when they are rendered (the customer's name and address, the
account's billing address), moments after the bill; the amounts are the stored invoice's.

``document_subscriptions`` wires the renderer and the sender (``gateway.billing.documents_sending``) for the
daemon.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.einvoice import einvoice_connector
from connectors.post import post_connector
from gateway.billing.bill_documents import file_documents, invoice_document, supplier_of
from gateway.billing.documents_sending import Channels, InvoiceSender, check_order
from gateway.billing.ledger import get_invoice
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.topics import BILLING_DOCUMENTS, BILLING_ORDERS
from gateway.bus.handler import HandlerContext, Subscription
from gateway.config import Settings
from gateway.errors import HandlerRejected
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.opm import get_opm
from schemas.billing.invoice import Supplier
from schemas.billing.orders import Invoiced, RenderRequested, SendRequested

log = structlog.get_logger(__name__)

DOCUMENTS_RENDERER_GROUP: Final = "proud.billing-documents"


async def render_invoice_documents(
    conn: AsyncConnection, files: FileStore, number: str, *, order: str, now: dt.datetime, supplier: Supplier
) -> tuple[tuple[uuid.UUID, ...], bool]:
    """The document ids of invoice ``number`` and whether they were rendered now (False: it had them).

    In the caller's transaction; ``NotFound`` for an unknown invoice, ``HandlerRejected`` when the invoice is
    not ``order``'s settlement (``check_order``: a credit note is rendered when it is issued)."""
    assert conn.in_transaction(), "documents are filed in the caller's transaction"
    invoice = await get_invoice(conn, number, for_update=True)
    check_order(invoice, order)
    if invoice.documents:
        return invoice.documents, False
    contract = await get_contract(conn, invoice.contract, invoice.period_to)
    customer = await get_customer(conn, contract.customer)
    account = await get_account(conn, invoice.account)
    opm = await get_opm(conn, invoice.opm, invoice.period_to)
    document = invoice_document(
        invoice, supplier=supplier, customer=customer, billing_address=account.billing_address, opm=opm,
        deposits=list(invoice.deposits),
    )
    ids = await file_documents(
        conn, files, now, document, contract=invoice.contract, customer=customer.number
    )
    stored = [str(item) for item in ids]
    await conn.execute(sa.update(bl_invoice).where(bl_invoice.c.number == number).values(documents=stored))
    return ids, True


@dataclass(frozen=True, slots=True)
class DocumentRenderer:
    """The handler of ``billing.render_requested`` (it passes over the sender's ``send_requested``)."""

    files: FileStore
    supplier: Supplier

    def subscription(self) -> Subscription:
        return Subscription(DOCUMENTS_RENDERER_GROUP, (BILLING_DOCUMENTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        request = ctx.envelope.payload
        if isinstance(request, SendRequested):
            return  # the sender's (same topic, its own group)
        if not isinstance(request, RenderRequested):
            expected = RenderRequested.message_type
            raise HandlerRejected(f"the document renderer got {ctx.envelope.type}, expected {expected}")
        ids, rendered = await render_invoice_documents(
            ctx.conn, self.files, request.invoice, order=request.order, now=ctx.now, supplier=self.supplier
        )
        documents = tuple(str(item) for item in ids)
        ctx.emit_payload(BILLING_ORDERS.name, Invoiced(order=request.order, invoice=request.invoice,
                                                       documents=documents), key=request.order)
        log.info("billing.documents.filed", order=request.order, invoice=request.invoice, rendered=rendered)


def document_subscriptions(settings: Settings, files: FileStore) -> list[Subscription]:
    """The renderer and the sender, with the supplier, the mail and the print shop of ``settings``: SMTP
    and SFTP when configured, else the demo's directories (``mail_dir``, ``print_dir``)."""
    supplier = supplier_of(settings)
    mail = einvoice_connector(settings.smtp_url, timeout_s=settings.smtp_timeout_s,
                              mail_dir=settings.effective_mail_dir)
    post = post_connector(
        sftp_host=settings.print_sftp_host, sftp_port=settings.print_sftp_port,
        sftp_user=settings.print_sftp_user, sftp_key=settings.print_sftp_key,
        sftp_known_hosts=settings.print_sftp_known_hosts, sftp_dir=settings.print_sftp_dir,
        timeout_s=settings.print_sftp_timeout_s, print_dir=settings.effective_print_dir,
    )
    channels = Channels(mail=mail, post=post, supplier=supplier, sender=settings.smtp_from)
    return [DocumentRenderer(files, supplier).subscription(), InvoiceSender(files, channels).subscription()]
