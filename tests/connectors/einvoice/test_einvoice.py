"""The e-invoice connector against a real SMTP server (aiosmtpd on a loopback port) and a real directory:
the message as the server receives it, permanent refusals as values, passing failures as retryable errors."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

from connectors.einvoice import (
    Attachment,
    DirectoryTransport,
    EinvoiceConnector,
    InvoiceMail,
    MailAccepted,
    MailRefused,
    MailUnavailable,
    SmtpTransport,
    einvoice_connector,
    invoice_message,
)
from gateway.errors import is_retryable
from tests.connectors.einvoice.smtp_server import SmtpServer, attachments, smtp_server
from tests.http.support import free_port

__all__ = ["smtp_server"]

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4  # binary content must survive base64 both ways
ISDOC = '<?xml version="1.0" encoding="UTF-8"?><Invoice>Vyúčtování</Invoice>'.encode()


def mail(recipient: str = "jana.nova@example.cz", **changes: object) -> InvoiceMail:
    values: dict[str, object] = {
        "number": "FV202607000001", "kind": "settlement", "channel": "email_pdf",
        "supplier_name": "proud energie s.r.o. (SAMPLE)", "sender": "faktury@proud.example",
        "recipient": recipient, "customer_name": "Jana Nová", "period_from": dt.date(2026, 1, 1),
        "period_to": dt.date(2026, 6, 30), "balance": Decimal("1234.50"), "due_date": dt.date(2026, 12, 14),
        "variable_symbol": "1234567890",
        "attachments": (Attachment("FV202607000001.pdf", "application/pdf", PDF),),
    }
    values.update(changes)
    return InvoiceMail(**values)  # type: ignore[arg-type]


def test_the_message_names_the_invoice_in_czech_and_carries_the_pdf() -> None:
    message = invoice_message(mail(), NOW)

    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Vyúčtování FV202607000001 – proud energie s.r.o. (SAMPLE)"
    assert parsed["To"].addresses[0].addr_spec == "jana.nova@example.cz"
    assert parsed["To"].addresses[0].display_name == "Jana Nová"
    assert parsed["Message-ID"] == "<FV202607000001.email_pdf@proud.example>"
    body = parsed.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\u00a0", " ")
    assert "vyúčtování č. FV202607000001 za období 1. 1. 2026 – 30. 6. 2026" in text
    assert "Částku 1 234,50 Kč prosím uhraďte do 14. 12. 2026 s variabilním symbolem 1234567890" in text
    assert attachments(parsed) == {"FV202607000001.pdf": ("application/pdf", PDF)}


def test_an_overpayment_and_a_settled_bill_say_so_and_isdoc_says_what_is_attached() -> None:
    refund = invoice_message(mail(balance=Decimal("-654.33")), NOW).get_body(("plain",))
    settled = invoice_message(mail(balance=Decimal("0.00")), NOW).get_body(("plain",))
    isdoc = invoice_message(mail(channel="isdoc", attachments=(
        Attachment("FV202607000001.isdoc", "application/xml", ISDOC),
        Attachment("FV202607000001.pdf", "application/pdf", PDF),
    )), NOW)
    assert refund is not None and settled is not None
    assert "Přeplatek 654,33 Kč Vám vrátíme" in refund.get_content().replace("\u00a0", " ")
    assert "nic nedoplácíte" in settled.get_content()
    isdoc_body = isdoc.get_body(("plain",))
    assert isdoc_body is not None and "ve formátu ISDOC" in isdoc_body.get_content()
    assert isdoc["Message-ID"] == "<FV202607000001.isdoc@proud.example>"
    assert sorted(attachments(isdoc)) == ["FV202607000001.isdoc", "FV202607000001.pdf"]


async def test_smtp_delivers_the_message_to_the_recipient(smtp_server: SmtpServer) -> None:
    connector = EinvoiceConnector(SmtpTransport(smtp_server.url, timeout_s=5))

    outcome = await connector.send_invoice(mail(), NOW)

    assert isinstance(outcome, MailAccepted)
    assert outcome.message_id == "<FV202607000001.email_pdf@proud.example>"
    assert "Ok: queued" in outcome.detail  # the server's own reply
    [received] = smtp_server.received
    assert (received.sender, received.recipients) == ("faktury@proud.example", ["jana.nova@example.cz"])
    assert received.message["Subject"].startswith("Vyúčtování FV202607000001")
    assert attachments(received.message)["FV202607000001.pdf"] == ("application/pdf", PDF)
    await connector.stop()


async def test_a_recipient_the_server_refuses_is_a_refusal_value(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_server.url, timeout_s=5)

    outcome = await transport.send(invoice_message(mail("refused.nobody@example.cz"), NOW))

    assert isinstance(outcome, MailRefused)
    assert outcome.code == 550 and "User unknown" in outcome.reason
    assert "refused.nobody@example.cz" in outcome.reason
    assert smtp_server.received == []


async def test_a_deferred_recipient_and_a_server_down_are_retryable(smtp_server: SmtpServer) -> None:
    deferred = SmtpTransport(smtp_server.url, timeout_s=5)
    with pytest.raises(MailUnavailable, match="450") as later:
        await deferred.send(invoice_message(mail("later.busy@example.cz"), NOW))
    down = SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout_s=2)  # nobody listens there
    with pytest.raises(MailUnavailable, match=r"127\.0\.0\.1") as refused:
        await down.send(invoice_message(mail(), NOW))
    assert is_retryable(later.value) and is_retryable(refused.value)
    assert smtp_server.received == []


async def test_the_directory_transport_writes_one_eml_per_message(tmp_path: Path) -> None:
    connector = einvoice_connector(None, timeout_s=5, mail_dir=tmp_path / "mail")
    assert isinstance(connector.transport, DirectoryTransport)

    first = await connector.send_invoice(mail(), NOW)
    again = await connector.send_invoice(mail(), NOW)  # the same message again is the same file

    assert isinstance(first, MailAccepted) and first == again
    [written] = list((tmp_path / "mail").iterdir())
    assert written.name == "FV202607000001.email_pdf@proud.example.eml"
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"].addresses[0].addr_spec == "jana.nova@example.cz"
    assert attachments(parsed)["FV202607000001.pdf"][1] == PDF


async def test_an_unwritable_mail_directory_is_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    connector = EinvoiceConnector(DirectoryTransport(blocker / "mail"))
    with pytest.raises(MailUnavailable, match="mail directory") as failed:
        await connector.send_invoice(mail(), NOW)
    assert is_retryable(failed.value)
