"""The e-invoice connector: an ``InvoiceMail`` in, the partner's answer out, over a swappable transport.

    connector = EinvoiceConnector(SmtpTransport("smtp://mail.example:587", timeout_s=30))  # or Directory…
    await connector.start()
    outcome = await connector.send_invoice(mail, now)   # MailAccepted | MailRefused, or MailUnavailable
    await connector.stop()
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connectors.common import TransportConnector
from connectors.einvoice.codec import InvoiceMail, invoice_message
from connectors.einvoice.transport import DirectoryTransport, MailOutcome, MailTransport, SmtpTransport


class EinvoiceConnector(TransportConnector[MailTransport]):
    """Builds the message (``codec``) and hands it to the transport; start/stop are the transport's."""

    async def send_invoice(self, mail: InvoiceMail, now: dt.datetime) -> MailOutcome:
        await self.start()  # a consumer built before the daemon's start opens its transport on first use
        return await self._transport.send(invoice_message(mail, now))


def einvoice_connector(smtp_url: str | None, *, timeout_s: float, mail_dir: Path) -> EinvoiceConnector:
    """SMTP when ``smtp_url`` is set, else ``.eml`` files in ``mail_dir`` (the demo)."""
    if smtp_url is None:
        return EinvoiceConnector(DirectoryTransport(mail_dir))
    return EinvoiceConnector(SmtpTransport(smtp_url, timeout_s=timeout_s))
