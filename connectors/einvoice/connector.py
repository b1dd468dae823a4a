"""The e-invoice connector: an ``InvoiceMail`` in, the partner's answer out, over a swappable transport.

    connector = EinvoiceConnector(SmtpTransport("smtp://mail.example:587", timeout_s=30))  # or Directory…
    await connector.start()
    outcome = await connector.send_invoice(mail, now)   # MailAccepted | MailRefused, or MailUnavailable
    await connector.stop()
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connectors.einvoice.codec import InvoiceMail, invoice_message
from connectors.einvoice.transport import DirectoryTransport, MailOutcome, MailTransport, SmtpTransport


class EinvoiceConnector:
    """Builds the message (``codec``) and hands it to the transport; start/stop are the transport's."""

    def __init__(self, transport: MailTransport) -> None:
        self._transport = transport
        self._started = False

    @property
    def transport(self) -> MailTransport:
        return self._transport

    async def start(self) -> None:
        if not self._started:
            await self._transport.start()
            self._started = True

    async def stop(self) -> None:
        """Idempotent."""
        if self._started:
            self._started = False
            await self._transport.stop()

    async def send_invoice(self, mail: InvoiceMail, now: dt.datetime) -> MailOutcome:
        await self.start()  # a consumer built before the daemon's start opens its transport on first use
        return await self._transport.send(invoice_message(mail, now))


def einvoice_connector(smtp_url: str | None, *, timeout_s: float, mail_dir: Path) -> EinvoiceConnector:
    """SMTP when ``smtp_url`` is set, else ``.eml`` files in ``mail_dir`` (the demo)."""
    if smtp_url is None:
        return EinvoiceConnector(DirectoryTransport(mail_dir))
    return EinvoiceConnector(SmtpTransport(smtp_url, timeout_s=timeout_s))
