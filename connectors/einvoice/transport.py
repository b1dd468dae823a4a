"""Transports for invoice e-mail: they move a finished ``EmailMessage`` and know nothing of invoices.

``send(message)`` answers what the partner said, as a value: ``MailAccepted`` (the server took it, or the
file is written) or ``MailRefused`` (the server refuses the recipient or the message for good, a 5xx reply:
sending the same message again cannot help). Everything that may pass raises ``MailUnavailable``, a
``TransientError`` (connection refused or lost, a timeout, any 4xx reply), so the bus retries and then
dead-letters the request (replayable). A server that refuses *us* (our login, our sender address) raises
``MailSetupRefused``: not the customer's fault and not passing, so it goes straight to the dead letters to be
replayed once the settings are fixed. No aiosmtplib or OS exception leaves this module.

* ``SmtpTransport``: aiosmtplib, one connection per message (an invoice run sends one message per order, far
  apart in time; a pooled connection would idle out between them). ``smtp://`` uses STARTTLS when the server
  offers it, ``smtps://`` TLS from the first byte.
* ``DirectoryTransport``: writes ``<message-id>.eml`` into a directory (the one-box demo without an SMTP
  server); the same message written twice is the same file.
"""

from __future__ import annotations

import re
import urllib.parse
from email.message import EmailMessage
from pathlib import Path
from typing import Final, Protocol

import aiosmtplib
import msgspec

from connectors.common import DropDirectory
from gateway.errors import HandlerRejected, TransientError

SMTP_PORT: Final = 25
SMTPS_PORT: Final = 465
#: Bound on one SMTP step; ``proud`` settings cap ``smtp_timeout_s`` at the same value.
TIMEOUT_S_MAX: Final = 300.0
#: Characters of a server reply kept in a ``bl_delivery`` row's detail.
REPLY_CHARS_MAX: Final = 500
_UNSAFE_FILENAME: Final = re.compile(r"[^A-Za-z0-9._@-]")


class MailAccepted(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    #: The server's final reply (``250 OK …``) or where the file went.
    detail: str


class MailRefused(msgspec.Struct, frozen=True, kw_only=True):
    """A permanent refusal (5xx): the recipient does not exist, the message is too large, …"""

    code: int
    reason: str


MailOutcome = MailAccepted | MailRefused


class MailUnavailable(TransientError):
    """The mail server could not be reached, or answered 4xx: the same message may go through later."""


class MailSetupRefused(HandlerRejected):
    """The server refuses our login or our sender address: fix the settings, then replay the dead letter."""


class MailTransport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: EmailMessage) -> MailOutcome: ...


class SmtpTransport:
    """SMTP by ``url`` (``smtp[s]://[user:password@]host[:port]``) with ``timeout_s`` on each step."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        assert 0 < timeout_s <= TIMEOUT_S_MAX, timeout_s
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme in ("smtp", "smtps") and parts.hostname, "checked by the settings"
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (SMTPS_PORT if self._implicit_tls else SMTP_PORT)
        self._username = urllib.parse.unquote(parts.username) if parts.username else None
        self._password = urllib.parse.unquote(parts.password) if parts.password else None
        self._timeout_s = timeout_s

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    async def start(self) -> None:
        """Nothing to open: a connection lives for one message."""

    async def stop(self) -> None:
        """Nothing to close (idempotent)."""

    async def send(self, message: EmailMessage) -> MailOutcome:
        message_id = str(message["Message-ID"])
        try:
            _, reply = await aiosmtplib.send(
                message, hostname=self._host, port=self._port, username=self._username,
                password=self._password, use_tls=self._implicit_tls,
                start_tls=False if self._implicit_tls else None, timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return self._refused(refused.code, refused.message, f"recipient {refused.recipient}")
        except aiosmtplib.SMTPDataError as exc:  # the message itself: too large, content refused
            return self._refused(exc.code, exc.message, "message")
        except aiosmtplib.SMTPConnectError as exc:  # refused, unreachable, or a greeting other than 220
            raise MailUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:  # HELO, login, sender: what the server thinks of us
            if exc.code >= 500:
                raise MailSetupRefused(f"{self.where} refuses us: {exc.code} {exc.message}") from exc
            raise MailUnavailable(f"{self.where} answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # disconnects, timeouts (TimeoutError is one)
            raise MailUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        return MailAccepted(message_id=message_id, detail=reply[:REPLY_CHARS_MAX])

    def _refused(self, code: int, text: str, what: str) -> MailRefused:
        if code < 500:
            raise MailUnavailable(f"{self.where} deferred the {what}: {code} {text}")
        reason = f"{self.where} refused the {what}: {code} {text}"
        return MailRefused(code=code, reason=reason[:REPLY_CHARS_MAX])


class DirectoryTransport:
    """Writes each message to ``<directory>/<message-id>.eml`` (created at start)."""

    def __init__(self, directory: Path) -> None:
        self._drop = DropDirectory(directory, MailUnavailable, "mail directory")

    async def start(self) -> None:
        await self._drop.start()

    async def stop(self) -> None:
        """Nothing to close (idempotent)."""

    async def send(self, message: EmailMessage) -> MailOutcome:
        message_id = str(message["Message-ID"])
        name = _UNSAFE_FILENAME.sub("_", message_id.strip("<>")) + ".eml"
        path = await self._drop.write(name, message.as_bytes())
        return MailAccepted(message_id=message_id, detail=f"written to {path}")
