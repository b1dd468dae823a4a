"""A real SMTP server for the tests: aiosmtpd on a free loopback port, in its own thread.

Recipients starting with ``refused`` get ``550 5.1.1`` (a mailbox that does not exist), those starting with
``later`` get ``450 4.2.1`` (try again later); every other message is accepted and kept, with the envelope,
so that a test can parse it back.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Final

import pytest
from aiosmtpd.controller import Controller

from tests.http.support import free_port

#: Messages one test server keeps at most: a test sends a handful.
MESSAGES_MAX: Final = 100
REFUSED_PREFIX: Final = "refused"
LATER_PREFIX: Final = "later"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """The aiosmtpd handler: decides on each recipient, keeps each accepted message."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith(REFUSED_PREFIX):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith(LATER_PREFIX):
            return f"450 4.2.1 <{address}>: Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert len(self.received) < MESSAGES_MAX
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 Ok: queued"


@dataclass(frozen=True)
class SmtpServer:
    url: str
    recorder: Recorder

    @property
    def received(self) -> list[Received]:
        return self.recorder.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(f"smtp://127.0.0.1:{port}", recorder)
    finally:
        controller.stop()


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """The message's attachments by file name: (media type, content)."""
    found: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        name = part.get_filename()
        content = part.get_content()
        assert name is not None and isinstance(content, bytes), (name, type(content))
        found[name] = (part.get_content_type(), content)
    return found
