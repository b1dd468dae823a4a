"""An issued invoice's documents: the ``InvoiceDocument`` around its settlement, rendered as PDF and ISDOC
(both validated by ``gateway.billing.invoices``) and filed in the DMS, linked to the contract, its account,
its customer and the OPM, in the caller's transaction.

The supplier printed on every invoice comes from the settings (``supplier_of``: name, seat, IČO, DIČ,
collection account, checked at start). ``SAMPLE_SUPPLIER`` is the settings' defaults, marked SAMPLE: what a
caller without settings (a test, a CLI command on defaults) prints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.invoices.isdoc import isdoc_xml
from gateway.billing.invoices.pdf import render_invoice_pdf
from gateway.config import Settings
from gateway.masterdata.documents import create_document
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Invoice
from schemas.billing.invoice import (
    BankAccount,
    Customer,
    Deposit,
    InvoiceDocument,
    OriginalDocument,
    Supplier,
)
from schemas.masterdata.activities import EntityRef
from schemas.masterdata.common import Address
from schemas.masterdata.customers import Customer as MasterCustomer
from schemas.masterdata.opm import Opm


def supplier_of(settings: Settings) -> Supplier:
    """The issuer printed on invoices, from the ``supplier_*`` settings."""
    return Supplier(
        name=settings.supplier_name,
        address=Address(street=settings.supplier_street, house_number=settings.supplier_house_number,
                        city=settings.supplier_city, postal_code=settings.supplier_postal_code),
        ico=settings.supplier_ico, dic=settings.supplier_dic,
        bank_account=BankAccount(iban=settings.supplier_iban, bic=settings.supplier_bic,
                                 bank_name=settings.supplier_bank_name),
        register_entry=settings.supplier_register_entry,
    )


#: The settings' SAMPLE issuer (not a real company's data): what is printed without settings.
SAMPLE_SUPPLIER: Final = supplier_of(Settings())
#: Who files the documents in the DMS (the audit trail's actor).
BILLING_ACTOR: Final = "system:billing"
#: Where the customer's address is taken from, first found first; the supply address when none is.
CUSTOMER_ADDRESS_KINDS: Final = ("billing", "correspondence", "permanent", "registered")
MEDIA_PDF: Final = "application/pdf"
MEDIA_ISDOC: Final = "application/xml"


def invoice_document(
    invoice: Invoice, *, supplier: Supplier, customer: MasterCustomer, billing_address: Address | None,
    opm: Opm, deposits: list[Deposit], original: OriginalDocument | None = None,
) -> InvoiceDocument:
    """The document of an issued ``invoice`` (number and UUID drawn)."""
    assert invoice.number is not None and invoice.uuid is not None
    address = customer_address(customer, billing_address, opm)
    return InvoiceDocument(
        number=invoice.number, uuid=invoice.uuid, kind=invoice.kind, issue_date=invoice.issue_date,
        due_date=invoice.due_date, supplier=supplier,
        customer=Customer(
            name=customer.name, address=address, customer_number=customer.number, ico=customer.ico,
            dic=customer.dic,
        ),
        commodity=opm.commodity, opm_code=opm.code, supply_address=opm.supply_address,
        period_from=invoice.period_from, period_to=invoice.period_to, variable_symbol=invoice.account,
        settlement=invoice.settlement, deposits=deposits, original=original, readings=invoice.readings,
    )


def customer_address(customer: MasterCustomer, billing_address: Address | None, opm: Opm) -> Address:
    """Where the customer's invoice goes: the account's billing address, else the customer's first address of
    ``CUSTOMER_ADDRESS_KINDS``, else the supply address."""
    known = {typed.kind: typed.address for typed in reversed(customer.addresses)}
    return billing_address or next(
        (known[kind] for kind in CUSTOMER_ADDRESS_KINDS if kind in known), opm.supply_address
    )


async def file_documents(
    conn: AsyncConnection, files: FileStore, now: dt.datetime, document: InvoiceDocument, *, contract: str,
    customer: str,
) -> tuple[uuid.UUID, ...]:
    """Render the PDF and the ISDOC (off the event loop: CPU-bound) and file both; their document ids."""
    pdf, isdoc = await asyncio.gather(
        asyncio.to_thread(render_invoice_pdf, document), asyncio.to_thread(isdoc_xml, document)
    )
    links = [
        EntityRef(entity="contract", key=contract), EntityRef(entity="account", key=document.variable_symbol),
        EntityRef(entity="customer", key=customer), EntityRef(entity="opm", key=document.opm_code),
    ]
    title = f"{_title(document)} {document.number}"
    filed = []
    for content, media_type, suffix in ((pdf, MEDIA_PDF, "pdf"), (isdoc, MEDIA_ISDOC, "isdoc")):
        created = await create_document(
            conn, files, BILLING_ACTOR, now, kind="invoice", title=title,
            filename=f"{document.number}.{suffix}", media_type=media_type, content=content, links=links,
        )
        filed.append(created.id)
    return tuple(filed)


def _title(document: InvoiceDocument) -> str:
    return "Opravný daňový doklad" if document.kind == "credit_note" else "Vyúčtování"
