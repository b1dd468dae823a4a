"""The OTE sender: delivers each ``ote.send`` on ``ote.outbound`` to CS OTE and reads its acknowledgement.

    ote.send ─ convert ─ encode (XSD) ─ send ─┬─ positive RESPONSE, or no body ──────→ done
                  │          │                ├─ negative RESPONSE, SOAP fault, 4xx ─→ switch.send_failed
                  │          │                │                          (a value, on switch.events)
                  │          │                └─ OteUnavailable (down, 5xx, timeout) ─→ raised: the runner
                  │          │                   retries with backoff, then dead-letters it (replayable)
                  └──────────┴─→ HandlerRejected naming the field (dead letter)

A consumer of ``ote.outbound`` (group ``proud.ote-sender``). It is given the daemon's ``OteConnector``, which
archives the message and the reply in the consumer's transaction (``conn``), or any object with
``async send(bytes, *, conn) -> bytes`` and the same errors.

Delivery cannot be rolled back with the consumer's transaction. The daemon therefore runs this consumer
with ``SEND_BATCH_MAX`` (one) message per transaction, so that the failure of one message never rolls back,
and sends again, another that CS OTE already has. A crash between delivery and commit still sends that one
message again when it is redelivered (at least once); it keeps its OTE message id, so CS OTE can tell [I].
The archive rows are written in that transaction too: they commit with what the reply means, and on SQLite
no second transaction waits for the write lock this one holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.ote import codec
from connectors.ote.inbound import REASON_ACCEPTED, REASON_TYPE_REJECTED
from connectors.ote.topics import OTE_OUTBOUND
from connectors.ote.transport import OteRejected
from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected, MessageError
from gateway.switching.topics import SWITCH_EVENTS
from schemas.ote import AnyOteMessage, Response
from schemas.ote.common import Envelope, Reason
from schemas.ote.events import OteSend
from schemas.switching import SendFailed

log = structlog.get_logger(__name__)

OTE_SENDER_GROUP: Final = "proud.ote-sender"
#: Messages per consumer transaction: one, because a delivered message cannot be taken back (see above).
SEND_BATCH_MAX: Final = 1
#: Refusing reasons of one RESPONSE repeated in ``switch.send_failed``; [I] OTE sends one or a few.
REASONS_SHOWN_MAX: Final = 5


class OteSender(Protocol):
    """What the sender needs: ``OteConnector`` in the daemon. Raises ``OteUnavailable`` (retryable) when
    CS OTE cannot be reached and ``OteRejected`` when it refuses the message."""

    async def send(self, xml: bytes, *, conn: AsyncConnection | None = None) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """CS OTE's verdict that the message will not be accepted as sent."""

    reason_code: str | None
    reason: str


def message_of(body: OteSend) -> AnyOteMessage:
    """``body.message`` as the OTE struct its ``type`` names; ``HandlerRejected`` naming the field if not."""
    try:
        message: AnyOteMessage = msgspec.convert(body.message, AnyOteMessage)
    except msgspec.ValidationError as exc:
        # msgspec names the field as ``$.envelope.id``; the payload field holding the struct is ``message``.
        text = str(exc).replace("`$", "`message")
        raise HandlerRejected(f"ote.send is not an OTE message we can send: {text}") from exc
    return message


def encoded(message: AnyOteMessage) -> bytes:
    """The XML of ``message``, checked against its XSD; ``HandlerRejected`` saying where it breaks it."""
    try:
        return codec.encode(message)
    except MessageError as exc:  # OteInvalidOutbound, OteTooLarge
        raise HandlerRejected(f"ote.send message {message.envelope.id}: {exc.message}") from exc


def _refusing(reason: Reason) -> bool:
    return reason.type == REASON_TYPE_REJECTED or reason.code != REASON_ACCEPTED.code


def refusal_in(reply: bytes, sent: Envelope) -> Refusal | None:
    """The refusal a reply to ``sent`` carries, or None when it acknowledges it (or says nothing we read).

    A reply we cannot read, or one that is not a RESPONSE, is logged and taken as delivered: the message
    reached CS OTE and the archive keeps the reply; sending it again could duplicate it.
    """
    if not reply.strip():
        return None
    try:
        answer = codec.decode(reply)
    except MessageError as exc:
        log.warning("ote.sender.reply_unreadable", message_id=sent.id, error=exc.message)
        return None
    if not isinstance(answer, Response):
        family = answer.__struct_config__.tag
        log.warning("ote.sender.reply_not_a_response", message_id=sent.id, family=family)
        return None
    if answer.reference_id != sent.id:
        log.warning("ote.sender.reply_for_another", message_id=sent.id, reference_id=answer.reference_id)
    refusing = [reason for reason in answer.reasons if _refusing(reason)]
    if not refusing:
        return None
    shown = refusing[:REASONS_SHOWN_MAX]
    text = "; ".join(f"{reason.code}: {reason.text or '(no text)'}" for reason in shown)
    return Refusal(reason_code=shown[0].code, reason=f"negative RESPONSE {answer.envelope.id}: {text}")


@dataclass(frozen=True, slots=True)
class OteOutbound:
    """The handler of ``ote.outbound``; ``sender`` delivers the XML (the daemon's ``OteConnector``)."""

    sender: OteSender

    def subscription(self, topic: str = OTE_OUTBOUND.name, group_id: str = OTE_SENDER_GROUP) -> Subscription:
        return Subscription(group_id, (topic,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, OteSend):
            raise HandlerRejected(f"the OTE sender got {ctx.envelope.type}, expected ote.send")
        message = message_of(body)
        xml = encoded(message)
        sent = message.envelope
        try:
            reply = await self.sender.send(xml, conn=ctx.conn)
        except OteRejected as exc:  # OteUnavailable is retryable and goes on to the runner
            refusal: Refusal | None = Refusal(reason_code=None, reason=exc.message)
        else:
            refusal = refusal_in(reply, sent)
        if refusal is None:
            log.info("ote.sender.sent", message_id=sent.id, code=sent.message_code, process=body.process)
            return
        log.warning(
            "ote.sender.refused", message_id=sent.id, code=sent.message_code, process=body.process,
            reason=refusal.reason,
        )
        failed = SendFailed(
            opm=ctx.envelope.key, ote_message_id=sent.id, message_code=sent.message_code,
            reason_code=refusal.reason_code, reason=refusal.reason,
        )
        ctx.emit_payload(SWITCH_EVENTS.name, failed, key=ctx.envelope.key)
