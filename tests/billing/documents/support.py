"""Helpers of the document tests: an invoice issued the way the billing worker issues it (``bill_many``: the
invoice and its receivable stored, no documents), the handlers called as the consumer runtime calls them,
and a contract account's delivery channel set."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.batch import BillRequest, bill_many
from gateway.billing.documents import DocumentRenderer
from gateway.billing.documents_sending import Channels, InvoiceSender
from gateway.billing.topics import BILLING_DOCUMENTS
from gateway.masterdata import tables as md
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed
from schemas.billing.invoice import Supplier
from schemas.billing.orders import RenderRequested, SendRequested
from schemas.envelope import new_envelope
from tests.billing.bill.support import (
    NOW,
    PERIOD_FROM,
    PERIOD_TO,
    WORKER,
    Supplied,
    add_advance,
    read,
    supplied,
)
from tests.switching.support import Emitted, deliver

#: The documents are rendered and sent an hour after the bill.
LATER: Final = NOW + dt.timedelta(hours=1)


@dataclass(frozen=True)
class Issued:
    parties: Supplied
    invoice: str

    @property
    def order(self) -> str:
        return f"{self.parties.contract}@{PERIOD_TO.isoformat()}"


async def issued(engine: AsyncEngine) -> Issued:
    """A contract billed for the first half of 2026 with one paid advance, as the worker bills it."""
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    await add_advance(engine, parties.account, "2026-03-15", "1500.00", "1500.00")
    async with engine.begin() as conn:
        [outcome] = await bill_many(conn, [BillRequest(parties.contract, PERIOD_FROM, PERIOD_TO)], now=NOW,
                                    worker=WORKER)
    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    assert outcome.invoice.documents == () and len(outcome.invoice.deposits) == 1
    return Issued(parties, outcome.invoice.number)


async def render(engine: AsyncEngine, files: FileStore, supplier: Supplier, issued: Issued) -> list[Emitted]:
    request = RenderRequested(order=issued.order, invoice=issued.invoice)
    envelope = new_envelope(request, key=issued.order, now=LATER)
    return await deliver(engine, DocumentRenderer(files, supplier), envelope, topic=BILLING_DOCUMENTS.name,
                         now=LATER)


async def send(engine: AsyncEngine, files: FileStore, channels: Channels, issued: Issued) -> list[Emitted]:
    request = SendRequested(order=issued.order, invoice=issued.invoice)
    envelope = new_envelope(request, key=issued.order, now=LATER)
    return await deliver(engine, InvoiceSender(files, channels), envelope, topic=BILLING_DOCUMENTS.name,
                         now=LATER)


async def set_delivery(engine: AsyncEngine, account: str, channel: str, email: str | None) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.update(md.account).where(md.account.c.variable_symbol == account)
                           .values(delivery_channel=channel, delivery_email=email))
