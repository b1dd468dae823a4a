"""E-invoice connector: invoices to customers by e-mail, the PDF (``email_pdf`` accounts) or the ISDOC XML
with the PDF (``isdoc`` accounts).

``codec`` builds the ``EmailMessage`` (Czech subject and text, the documents attached); ``transport`` moves
it: ``SmtpTransport`` (aiosmtplib) or ``DirectoryTransport`` (``.eml`` files, the one-box demo); the
connector ties them (``EinvoiceConnector.send_invoice``). A permanent refusal is the value ``MailRefused``;
what may pass raises ``MailUnavailable`` (retryable).
"""

from connectors.einvoice.codec import (
    Attachment,
    InvoiceMail,
    MailChannel,
    body_text,
    invoice_message,
    message_id,
)
from connectors.einvoice.connector import EinvoiceConnector, einvoice_connector
from connectors.einvoice.transport import (
    DirectoryTransport,
    MailAccepted,
    MailOutcome,
    MailRefused,
    MailSetupRefused,
    MailTransport,
    MailUnavailable,
    SmtpTransport,
)

__all__ = [
    "Attachment",
    "DirectoryTransport",
    "EinvoiceConnector",
    "InvoiceMail",
    "MailAccepted",
    "MailChannel",
    "MailOutcome",
    "MailRefused",
    "MailSetupRefused",
    "MailTransport",
    "MailUnavailable",
    "SmtpTransport",
    "body_text",
    "einvoice_connector",
    "invoice_message",
    "message_id",
]
