"""What the callback does with one SOAP request from CS OTE, apart from HTTP: examine, record, answer.

    raw ─ examine ─┬─ Accepted(message) ─→ archive row + outbox ``ote.inbound`` ─────→ positive RESPONSE
                   └─ Refused(reason)   ─→ archive row + dead letter (``ote.inbound``) ─→ negative RESPONSE

Both outcomes are written in one transaction whose first statement inserts the archive row, so a message is
never dropped: it is archived together with its publication or with its dead letter, or (database down)
not acknowledged at all, and CS OTE sends it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import msgspec
import structlog

from connectors.ote import codec, soap
from connectors.ote.codec.common import OteMalformed, OteTooLarge, parse
from connectors.ote.signature import OteSignatureInvalid, verify
from gateway.errors import MessageError
from gateway.ids import uuid7
from schemas.ote import AnyOteMessage, Commodity, Envelope, Party, Reason, Response
from schemas.ote.common import MESSAGE_ID_CHARS_MAX, REASON_TEXT_CHARS_MAX, MessageCode, MessageId

log = structlog.get_logger(__name__)

#: [C] ote-market.md §3 sample: the positive acknowledgement.
REASON_ACCEPTED: Final = Reason(code="0", type="A01", text="Zpráva úspěšně přijata")
#: [I] The type of a rejecting Reason (A02 = rejected, as A01 = accepted in the ENTSO-E style OTE uses).
REASON_TYPE_REJECTED: Final = "A02"
#: [I] Our reason codes for refusing a message; OTE's code list is not public (ote-market.md §9).
REASON_MALFORMED: Final = "E01"
REASON_SIGNATURE: Final = "E02"
REASON_UNDECODABLE: Final = "E03"
REASON_TOO_LARGE: Final = "E04"
REASON_INTERNAL: Final = "E99"
#: [I] message-code of the RESPONSE we send; the CDS acknowledgement's code is not public.
RESPONSE_MESSAGE_CODE: Final = "RSP"
#: Reference of a negative RESPONSE to a message whose own id we could not read.
UNKNOWN_REFERENCE_ID: Final = "UNKNOWN"
#: [C] OTE's sample has local Prague time without an offset (ote-market.md §3).
OTE_TIME_ZONE: Final = ZoneInfo("Europe/Prague")

_message_id = msgspec.json.Decoder(MessageId)
_message_code = msgspec.json.Decoder(MessageCode)


@dataclass(frozen=True, slots=True)
class Peek:
    """What we could read of a message without trusting it: for the archive and a negative answer."""

    root: str | None = None
    message_id: str | None = None
    message_code: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    message: AnyOteMessage
    family: str
    key: str


@dataclass(frozen=True, slots=True)
class Refused:
    reason_code: str
    error: MessageError
    peek: Peek


def _checked(decoder: msgspec.json.Decoder[str], value: str | None) -> str | None:
    if value is None or len(value) > MESSAGE_ID_CHARS_MAX:
        return None
    try:
        return decoder.decode(msgspec.json.encode(value))
    except msgspec.ValidationError:
        return None


def peek(message: bytes | None) -> Peek:
    """Root name, ``id`` and ``message-code`` of ``message`` if it parses; valid values only, never raises."""
    if message is None:
        return Peek()
    try:
        root = parse(message)
    except MessageError:
        return Peek()
    name = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else None
    message_id = _checked(_message_id, root.get("id"))
    return Peek(name, message_id, _checked(_message_code, root.get("message-code")))


def routing_key(message: AnyOteMessage) -> str:
    """The OPM the message is about when there is exactly one, else the OTE message id."""
    opm = getattr(message, "opm", None)
    if isinstance(opm, str):
        return opm
    entries = getattr(message, "items", None) or getattr(message, "readings", None) or ()
    opms = {getattr(entry, "opm", None) for entry in entries}
    if len(opms) == 1:
        (only,) = opms
        if isinstance(only, str):
            return only
    return message.envelope.id


def examine(raw: bytes, *, trust_store_path: str | None) -> Accepted | Refused:
    """Unwrap, verify (when a trust store is given) and decode; failures are values, never raised."""
    message: bytes | None = None
    try:
        message = soap.unwrap(raw)
        if message is None:
            raise OteMalformed("/Envelope/Body", None, "is empty; expected one OTE message")
        signed = message if trust_store_path is None else verify(message, trust_store_path=trust_store_path)
        decoded = codec.decode(signed)
    except soap.SoapFault as exc:
        error = OteMalformed("/Envelope/Body/Fault", exc.text, "is a SOAP Fault, not a message")
        return Refused(REASON_MALFORMED, error, Peek())
    except OteTooLarge as exc:
        return Refused(REASON_TOO_LARGE, exc, Peek())
    except OteSignatureInvalid as exc:
        return Refused(REASON_SIGNATURE, exc, peek(message))
    except MessageError as exc:
        # Not XML or not a SOAP envelope, or well-formed XML the codec cannot read.
        code = REASON_MALFORMED if message is None or not peek(message).root else REASON_UNDECODABLE
        return Refused(code, exc, peek(message))
    family = str(decoded.__struct_config__.tag)
    return Accepted(decoded, family, routing_key(decoded))


def _commodity(root: str | None) -> Commodity:
    return Commodity.gas if root is not None and "GAS" in root else Commodity.electricity


def answer(
    outcome: Accepted | Refused, *, now: dt.datetime, participant_ean: str, operator_ean: str
) -> bytes:
    """The RESPONSE for ``outcome``, encoded (and so XSD-checked) by the codec."""
    if isinstance(outcome, Accepted):
        gas = outcome.family == "metered-gas"
        commodity = getattr(outcome.message, "commodity", None) or _commodity("GAS" if gas else None)
        reference_id = outcome.message.envelope.id
        reasons: tuple[Reason, ...] = (REASON_ACCEPTED,)
    else:
        commodity = _commodity(outcome.peek.root)
        reference_id = outcome.peek.message_id or UNKNOWN_REFERENCE_ID
        # Error texts can quote the refused input; XML 1.0 cannot carry most control characters.
        printable = "".join(char if char.isprintable() else "?" for char in outcome.error.message)
        reason_text = printable[:REASON_TEXT_CHARS_MAX]
        reasons = (Reason(code=outcome.reason_code, type=REASON_TYPE_REJECTED, text=reason_text),)
    local = now.astimezone(OTE_TIME_ZONE).replace(tzinfo=None, microsecond=0)
    envelope = Envelope(
        id=uuid7().hex, message_code=RESPONSE_MESSAGE_CODE, date_time=local,
        sender=Party(ean=participant_ean), receiver=Party(ean=operator_ean),
    )
    response = Response(envelope=envelope, commodity=commodity, reference_id=reference_id, reasons=reasons)
    return codec.encode(response)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
