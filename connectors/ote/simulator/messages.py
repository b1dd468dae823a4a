"""The messages the simulated CS OTE writes: envelopes, switch answers, master data, RESPONSEs; signing.

Every message is built as a ``schemas.ote`` struct and encoded by our codec, so it has passed its family's
XSD before it leaves; then it is signed (XML-DSig, enveloped, with the signing certificate in ``KeyInfo``),
as [I] CS OTE signs what it sends (ote-market.md §2, D1.4.3 "Example of signed document").
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from lxml import etree
from signxml.signer import XMLSigner

from connectors.ote import codec
from connectors.ote.inbound import OTE_TIME_ZONE, REASON_ACCEPTED, REASON_TYPE_REJECTED, RESPONSE_MESSAGE_CODE
from connectors.ote.pki import Issued
from connectors.ote.simulator import codes
from gateway.ids import uuid7
from schemas.ote import Commodity, Envelope, MasterData, MasterDataItem, Party, Reason, Response, SwitchAnswer
from schemas.ote.common import REASON_TEXT_CHARS_MAX, OteMessage

#: [I] The DSig algorithm for the simulator's EC P-256 key; CS OTE's real one is in its signing certificate.
SIGNATURE_ALGORITHM: Final = "ecdsa-sha256"


def local_time(now: dt.datetime) -> dt.datetime:
    """[C] OTE's sample has local Prague time without an offset (ote-market.md §3)."""
    assert now.tzinfo is not None
    return now.astimezone(OTE_TIME_ZONE).replace(tzinfo=None, microsecond=0)


def envelope(code: str, *, sender: str, receiver: str, now: dt.datetime) -> Envelope:
    # uuid7: unique across restarts of the simulator, so that a receiver's de-duplication by id holds.
    return Envelope(
        id=uuid7().hex, message_code=code, date_time=local_time(now),
        sender=Party(ean=sender), receiver=Party(ean=receiver),
    )


class Signer:
    """Signs encoded messages with one key and certificate; None of either: messages go out unsigned."""

    def __init__(self, issued: Issued | None) -> None:
        self._issued = issued

    def sign(self, message: bytes) -> bytes:
        if self._issued is None:
            return message
        root = etree.fromstring(message)
        signed = XMLSigner(signature_algorithm=SIGNATURE_ALGORITHM).sign(
            root, key=self._issued.key_pem, cert=[self._issued.cert_pem.decode()]
        )
        data: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        return data


def encode(message: OteMessage) -> bytes:
    """Encoded (and so XSD-checked); a failure here is a bug in the simulator, not in the receiver."""
    return codec.encode(message)


def switch_answer(
    *,
    operator: str,
    receiver: str,
    now: dt.datetime,
    commodity: Commodity,
    reference_id: str,
    opm: str,
    accepted: bool,
    date_from: dt.date | None = None,
    rejection_reason: str | None = None,
    previous_supplier_ean: str | None = None,
) -> SwitchAnswer:
    assert accepted == (rejection_reason is None), (accepted, rejection_reason)
    return SwitchAnswer(
        envelope=envelope(codes.CODE_SWITCH_ANSWER[commodity], sender=operator, receiver=receiver, now=now),
        commodity=commodity, reference_id=reference_id, opm=opm, accepted=accepted,
        date_from=date_from if accepted else None, rejection_reason=rejection_reason,
        previous_supplier_ean=previous_supplier_ean,
    )


def masterdata(
    *, operator: str, receiver: str, now: dt.datetime, commodity: Commodity, items: tuple[MasterDataItem, ...]
) -> MasterData:
    assert items
    return MasterData(
        envelope=envelope(codes.CODE_MASTERDATA[commodity], sender=operator, receiver=receiver, now=now),
        commodity=commodity, items=items,
    )


def response(
    *,
    operator: str,
    receiver: str,
    now: dt.datetime,
    commodity: Commodity,
    reference_id: str,
    refusal: tuple[str, str] | None,
) -> bytes:
    """The synchronous RESPONSE: positive, or negative with ``refusal`` = (code, text). Not signed [I]: our
    callback does not sign its RESPONSE either, and the TLS session already names the answering side."""
    if refusal is None:
        reasons: tuple[Reason, ...] = (REASON_ACCEPTED,)
    else:
        code, text = refusal
        # Error texts can quote the refused input; XML 1.0 cannot carry most control characters.
        printable = "".join(char if char.isprintable() else "?" for char in text)[:REASON_TEXT_CHARS_MAX]
        reasons = (Reason(code=code, type=REASON_TYPE_REJECTED, text=printable),)
    message = Response(
        envelope=envelope(RESPONSE_MESSAGE_CODE, sender=operator, receiver=receiver, now=now),
        commodity=commodity, reference_id=reference_id, reasons=reasons,
    )
    return encode(message)
