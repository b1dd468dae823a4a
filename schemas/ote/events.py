"""Bus payloads of the OTE connector."""

from __future__ import annotations

from typing import Any

from schemas.envelope import Payload, payload


@payload("ote.received", 1)
class OteReceived(Payload, frozen=True, kw_only=True):
    """CS OTE sent us a message, it was archived, its signature held and the codec read it.

    ``message`` is the decoded struct as JSON (``msgspec.to_builtins``), with its ``type`` tag; it is None
    when the message is too large for the bus, and consumers read ``ote_archive`` row ``archive_id`` instead.
    """

    #: ``ote_archive.id`` of the raw message.
    archive_id: int
    #: The codec's family tag: ``masterdata``, ``switch-answer``, ``response``, … (not ``message_type``,
    #: which every payload has as a class attribute: its bus type).
    family: str
    message_code: str
    #: The ``id`` attribute of the OTE message (not the bus message id).
    message_id: str
    message: dict[str, Any] | None


@payload("ote.send", 1)
class OteSend(Payload, frozen=True, kw_only=True):
    """Send this message to CS OTE: an ``AnyOteMessage`` as JSON (``msgspec.to_builtins``, with its ``type``).

    The sender encodes it (validated against its XSD) and delivers it; ``process`` names the machine that
    asked, for the logs and the back office.
    """

    message: dict[str, Any]
    process: str | None = None
