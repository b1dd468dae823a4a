"""The sender on SQLite and PostgreSQL, with a real SMTP server (aiosmtpd on a loopback port) and the real
SFTP server: each channel delivers the filed documents, records the attempt in ``bl_delivery`` and answers
``billing.sent``; a permanent failure is ``billing.send_failed`` with a ``failed`` row; a server that is
down is a retryable error that leaves nothing behind; a redelivered request sends nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.einvoice import (
    DirectoryTransport,
    EinvoiceConnector,
    MailUnavailable,
    SmtpTransport,
)
from connectors.post import DirectoryTransport as PrintDirectory
from connectors.post import Manifest, PostConnector
from gateway.billing.bill_documents import MEDIA_PDF, SAMPLE_SUPPLIER
from gateway.billing.documents_sending import NO_ADDRESS, Channels
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.ledger import get_invoice
from gateway.billing.run_tables import delivery as bl_delivery
from gateway.errors import is_retryable
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from schemas.billing.orders import SendFailed, Sent
from tests.billing.documents.support import Issued, issued, render, send, set_delivery
from tests.billing.invoices.test_pdf import pdf_text
from tests.connectors.einvoice.smtp_server import SmtpServer, attachments
from tests.connectors.post.sftp_server import Shop
from tests.http.support import free_port

SENDER = "faktury@proud.example"


def channels(tmp_path: Path, mail_url: str | None = None, post: PostConnector | None = None) -> Channels:
    transport = SmtpTransport(mail_url, timeout_s=5) if mail_url else DirectoryTransport(tmp_path / "mail")
    return Channels(mail=EinvoiceConnector(transport),
                    post=post or PostConnector(PrintDirectory(tmp_path / "print")),
                    supplier=SAMPLE_SUPPLIER, sender=SENDER)


async def rendered(engine: AsyncEngine, files: FileStore) -> tuple[Issued, bytes]:
    """An issued invoice with its documents filed, and its PDF."""
    billed = await issued(engine)
    await render(engine, files, SAMPLE_SUPPLIER, billed)
    async with engine.connect() as conn:
        invoice = await get_invoice(conn, billed.invoice)
        for document in invoice.documents:
            version, content = await read_content(conn, files, document)
            if version.media_type == MEDIA_PDF:
                return billed, content
    raise AssertionError("no PDF filed")


async def deliveries(engine: AsyncEngine, invoice: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(bl_delivery).where(bl_delivery.c.document == invoice)
                                  .order_by(bl_delivery.c.id))
        return [dict(row._mapping) for row in rows]


async def test_an_email_account_gets_the_pdf_once(
    engine: AsyncEngine, files: FileStore, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    billed, pdf = await rendered(engine, files)
    await set_delivery(engine, billed.parties.account, "email_pdf", "jana.nova@example.cz")
    partners = channels(tmp_path, smtp_server.url)

    [answer] = await send(engine, files, partners, billed)
    [again] = await send(engine, files, partners, billed)  # a redelivered request

    sent = Sent(order=billed.order, invoice=billed.invoice, channel="email_pdf")
    assert answer.payload == again.payload == sent
    [received] = smtp_server.received  # sent once
    assert (received.sender, received.recipients) == (SENDER, ["jana.nova@example.cz"])
    assert received.message["Subject"] == f"Vyúčtování {billed.invoice} – {SAMPLE_SUPPLIER.name}"
    assert attachments(received.message) == {f"{billed.invoice}.pdf": ("application/pdf", pdf)}
    assert billed.invoice in pdf_text(pdf)
    [row] = await deliveries(engine, billed.invoice)
    assert (row["order"], row["channel"], row["recipient"], row["status"]) == (
        billed.order, "email_pdf", "jana.nova@example.cz", "sent"
    )
    assert row["message_id"] == f"<{billed.invoice}.email_pdf@proud.example>" and "queued" in row["detail"]


async def test_an_isdoc_account_gets_the_isdoc_and_the_pdf(
    engine: AsyncEngine, files: FileStore, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    billed, pdf = await rendered(engine, files)
    await set_delivery(engine, billed.parties.account, "isdoc", "ucetni@firma.example.cz")

    [answer] = await send(engine, files, channels(tmp_path, smtp_server.url), billed)

    assert answer.payload == Sent(order=billed.order, invoice=billed.invoice, channel="isdoc")
    [received] = smtp_server.received
    assert received.recipients == ["ucetni@firma.example.cz"]
    found = attachments(received.message)
    assert sorted(found) == [f"{billed.invoice}.isdoc", f"{billed.invoice}.pdf"]
    validate_invoice(found[f"{billed.invoice}.isdoc"][1])
    assert found[f"{billed.invoice}.pdf"][1] == pdf
    assert [row["status"] for row in await deliveries(engine, billed.invoice)] == ["sent"]


async def test_a_refused_recipient_and_a_missing_address_are_send_failed(
    engine: AsyncEngine, files: FileStore, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    billed, _ = await rendered(engine, files)
    partners = channels(tmp_path, smtp_server.url)
    await set_delivery(engine, billed.parties.account, "email_pdf", "refused.gone@example.cz")

    [refused] = await send(engine, files, partners, billed)
    await set_delivery(engine, billed.parties.account, "email_pdf", None)  # and the customer has no e-mail
    [no_address] = await send(engine, files, partners, billed)

    assert isinstance(refused.payload, SendFailed) and refused.payload.channel == "email_pdf"
    assert "550" in refused.payload.reason and "refused.gone@example.cz" in refused.payload.reason
    assert no_address.payload == SendFailed(order=billed.order, invoice=billed.invoice, channel="email_pdf",
                                            reason=NO_ADDRESS)
    assert smtp_server.received == []
    rows = await deliveries(engine, billed.invoice)
    assert [(row["status"], row["recipient"]) for row in rows] == [
        ("failed", "refused.gone@example.cz"), ("failed", ""),
    ]
    assert "User unknown" in rows[0]["detail"] and rows[1]["detail"] == NO_ADDRESS


async def test_a_mail_server_down_is_retryable_and_records_nothing(
    engine: AsyncEngine, files: FileStore, tmp_path: Path
) -> None:
    billed, _ = await rendered(engine, files)
    await set_delivery(engine, billed.parties.account, "email_pdf", "jana.nova@example.cz")

    with pytest.raises(MailUnavailable) as failed:
        await send(engine, files, channels(tmp_path, f"smtp://127.0.0.1:{free_port()}"), billed)

    assert is_retryable(failed.value)
    assert await deliveries(engine, billed.invoice) == []  # rolled back with the message's transaction


async def test_a_paper_account_goes_to_the_print_shop_over_sftp(
    engine: AsyncEngine, files: FileStore, shop: Shop, tmp_path: Path
) -> None:
    billed, pdf = await rendered(engine, files)
    await set_delivery(engine, billed.parties.account, "paper", None)

    [answer] = await send(engine, files, channels(tmp_path, post=PostConnector(shop.transport())), billed)

    assert answer.payload == Sent(order=billed.order, invoice=billed.invoice, channel="paper")
    letter = await shop.files()
    assert letter[f"{billed.invoice}.pdf"] == pdf
    manifest = msgspec.json.decode(letter[f"{billed.invoice}.json"], type=Manifest)
    assert manifest.recipient.name == "Jana Nová" and manifest.sender.name == SAMPLE_SUPPLIER.name
    [row] = await deliveries(engine, billed.invoice)
    assert (row["channel"], row["status"]) == ("paper", "sent")
    assert row["recipient"] == ", ".join(manifest.recipient.lines())
    assert row["detail"].endswith(shop.remote_dir)


async def test_the_demo_directories_take_mail_and_letters(
    engine: AsyncEngine, files: FileStore, tmp_path: Path
) -> None:
    billed, pdf = await rendered(engine, files)
    partners = channels(tmp_path)
    await set_delivery(engine, billed.parties.account, "email_pdf", "jana.nova@example.cz")
    [mailed] = await send(engine, files, partners, billed)
    await set_delivery(engine, billed.parties.account, "paper", None)  # a clerk changed the channel
    [posted] = await send(engine, files, partners, billed)

    assert isinstance(mailed.payload, Sent) and isinstance(posted.payload, Sent)
    [eml] = (tmp_path / "mail").iterdir()
    assert eml.name == f"{billed.invoice}.email_pdf@proud.example.eml"
    assert (tmp_path / "print" / f"{billed.invoice}.pdf").read_bytes() == pdf
    assert [row["channel"] for row in await deliveries(engine, billed.invoice)] == ["email_pdf", "paper"]
