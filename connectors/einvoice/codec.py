"""The invoice e-mail as a pure function: an ``InvoiceMail`` in, an ``email.message.EmailMessage`` out.

Nothing here does I/O. The text is Czech (the customers are), plain text only (no HTML to render wrong), and
the attachments are the documents filed in the DMS: the PDF, and for an ISDOC account also the ISDOC XML.

The Message-ID is derived from the invoice number and the channel, not drawn at random: a message sent twice
(a redelivered request after the server accepted it, a clerk's resend) carries the same id, so the
customer's mail client and our ``bl_delivery`` rows can tell it is the same letter.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from typing import Final, Literal

from gateway.billing.invoices.texts import czech_date, money

MailChannel = Literal["email_pdf", "isdoc"]

#: Attachments one invoice e-mail carries at most (PDF and ISDOC today); more is a caller gone wrong.
ATTACHMENTS_MAX: Final = 4
#: Largest attachment: a year's household bill is tens of KiB; mail servers commonly refuse 10 MiB+.
ATTACHMENT_BYTES_MAX: Final = 8 * 1024 * 1024
#: Longest address we write in a header (RFC 5321: 64 local + 1 + 255 domain).
ADDRESS_CHARS_MAX: Final = 320
AUTOMATIC_NOTE: Final = "Tato zpráva byla odeslána automaticky; neodpovídejte na ni."
SUBJECTS: Final[dict[str, str]] = {
    "settlement": "Vyúčtování",
    "credit_note": "Opravný daňový doklad",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    media_type: str  # "application/pdf", "application/xml"
    content: bytes

    def __post_init__(self) -> None:
        assert self.filename and "/" not in self.filename, self.filename
        assert self.media_type.count("/") == 1, self.media_type
        assert 0 < len(self.content) <= ATTACHMENT_BYTES_MAX, (self.filename, len(self.content))


@dataclass(frozen=True, slots=True)
class InvoiceMail:
    """One invoice to one customer by e-mail."""

    number: str
    kind: Literal["settlement", "credit_note"]
    channel: MailChannel
    supplier_name: str
    sender: str
    recipient: str
    customer_name: str
    period_from: dt.date
    period_to: dt.date
    #: Positive: due from the customer by ``due_date``; negative: an overpayment we refund; zero: settled.
    balance: Decimal
    due_date: dt.date
    variable_symbol: str
    attachments: tuple[Attachment, ...]

    def __post_init__(self) -> None:
        assert 1 <= len(self.attachments) <= ATTACHMENTS_MAX, len(self.attachments)
        for address in (self.sender, self.recipient):
            assert "@" in address and len(address) <= ADDRESS_CHARS_MAX, address


def message_id(number: str, channel: str, sender: str) -> str:
    """``<FV202603000017.email_pdf@proud.example>``: stable per invoice and channel (see the module doc)."""
    domain = sender.rsplit("@", 1)[1]
    return f"<{number}.{channel}@{domain}>"


def invoice_message(mail: InvoiceMail, now: dt.datetime) -> EmailMessage:
    """The e-mail of ``mail`` dated ``now`` (an aware date-time)."""
    assert now.tzinfo is not None, "an e-mail's Date needs a time zone"
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr((mail.supplier_name, mail.sender))
    message["To"] = email.utils.formataddr((mail.customer_name, mail.recipient))
    message["Subject"] = f"{SUBJECTS[mail.kind]} {mail.number} – {mail.supplier_name}"
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = message_id(mail.number, mail.channel, mail.sender)
    message.set_content(body_text(mail))
    for attachment in mail.attachments:
        maintype, subtype = attachment.media_type.split("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


def body_text(mail: InvoiceMail) -> str:
    """The Czech text: what the document is, what to pay by when (or what we refund), what is attached."""
    what = "opravný daňový doklad" if mail.kind == "credit_note" else "vyúčtování"
    period = f"{czech_date(mail.period_from)} – {czech_date(mail.period_to)}"
    lines = [
        "Dobrý den,",
        "",
        f"v příloze Vám zasíláme {what} č. {mail.number} za období {period}.",
        "",
        _balance_text(mail),
        "",
    ]
    if mail.channel == "isdoc":
        lines += [
            f"Elektronickou fakturu ve formátu ISDOC najdete v příloze {mail.number}.isdoc, "
            "tentýž doklad pro tisk v PDF.",
            "",
        ]
    lines += ["S pozdravem", mail.supplier_name, "", AUTOMATIC_NOTE]
    return "\n".join(lines) + "\n"


def _balance_text(mail: InvoiceMail) -> str:
    if mail.balance > 0:
        return (f"Částku {money(mail.balance)} prosím uhraďte do {czech_date(mail.due_date)} "
                f"s variabilním symbolem {mail.variable_symbol}; platební údaje a QR kód jsou v dokladu.")
    if mail.balance < 0:
        return f"Přeplatek {money(-mail.balance)} Vám vrátíme; podrobnosti najdete v dokladu."
    return "Doklad je plně uhrazen zaplacenými zálohami; nic nedoplácíte."
