"""What every OTE (CS OTE / CDS) message shares: the envelope, the parties, acknowledgement parts, enums.

Marks as in ``/work/shared/reference/ote-market.md``: [C] confirmed there from a public source, [I] our
inference (working model, replace from the official D1.4.2 / D1.4.2G package). ``schemas/ote/README.md``
lists, element by element, which is which.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Final

import msgspec

#: [C] ``coding-scheme="14"`` always goes with a 13-digit participant EAN (§3); [I] 14 = EAN/GS1.
CODING_SCHEME_EAN: Final = "14"
#: [C] §4: CDSGASMASTERDATA rejection reason "withdrawal or notice, the existing supplier keeps supplying".
REJECTION_REASON_WITHDRAWAL: Final = "ARE"
#: [C] §4: message code of the DSO's registration or update of an electricity OPM's master data.
MESSAGE_CODE_OPM_REGISTRATION: Final = "111"
#: [C] §4: message code of CDSGASPOF, the DSO's distribution invoice basis.
MESSAGE_CODE_GAS_POF: Final = "GP6"

#: [I] ``Data/@change-reason`` of master data: what an item announces. OTE's codes are not public
#: (ote-market.md §9); these are ours until D1.4.2 replaces them.
CHANGE_REASON_SWITCH: Final = "SWI"  # OTE → losing supplier: another supplier takes the OPM from valid_from
CHANGE_REASON_LAST_RESORT: Final = "DPI"  # OTE → supplier of last resort: supply the OPM from valid_from
CHANGE_REASON_END: Final = "END"  # supplier → OTE (and back): supply ends on valid_to (move-out, notice)
CHANGE_REASON_CUSTOMER: Final = "CUS"  # supplier → OTE: another customer at the OPM from valid_from (přepis)
CHANGE_REASON_OBJECTION: Final = "OBJ"  # losing supplier → OTE: objection, with rejection_reason (ARE)
CHANGE_REASON_CANCEL: Final = "CAN"  # supplier → OTE: withdraw our switch request (customer withdrew)
#: [I] Longest message id we accept; the RESPONSE sample has 14 digits. Our XSDs use the same bound.
MESSAGE_ID_CHARS_MAX: Final = 35
#: [I] Longest free text of a ``Reason``.
REASON_TEXT_CHARS_MAX: Final = 512

MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=MESSAGE_ID_CHARS_MAX, pattern=r"^\S+$")]
#: [I] Numeric (``111``, ``812``) and alphanumeric (``GP6``, ``GO7``) codes are both confirmed.
MessageCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,4}$")]
#: A code of a code list we do not know in full (reading type, rejection reason, switch type): [I].
ShortCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,3}$")]
#: [I] ``Reason/@code`` and ``@type``: the sample has ``A01``; bounded generously.
ReasonCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
ParticipantEan = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")]
#: An electricity OPM EAN (18 digits) or a gas OPM EIC (16 characters), by the message's commodity.
OpmId = Annotated[str, msgspec.Meta(pattern=r"^([0-9]{18}|[0-9A-Z-]{16})$")]


class Commodity(enum.StrEnum):
    """Electricity messages follow D1.4.2, gas messages D1.4.2G; the root element names the commodity."""

    electricity = "electricity"
    gas = "gas"


class NegotiationType(enum.StrEnum):
    """[C] ``contract-negotiation-type`` of CDSGASMASTERDATA ``Data`` (§4); [I] the same for electricity."""

    #: Mimo prostory obvyklé k podnikání: off-premises contract.
    M = "M"
    #: V prostorách obvyklých k podnikání: on business premises.
    P = "P"
    #: Distanční: distance contract.
    D = "D"


class OteStruct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every OTE struct: immutable, keyword-only, and strict about unknown JSON fields.

    Subclasses restate ``frozen=True, kw_only=True``: msgspec applies ``kw_only`` only to the fields a class
    declares itself, and mypy's dataclass transform wants ``frozen`` on every class of the chain.
    """


class Party(OteStruct, frozen=True, kw_only=True):
    """``SenderIdentification`` / ``ReceiverIdentification``: a market participant by its 13-digit EAN."""

    ean: ParticipantEan
    coding_scheme: str = CODING_SCHEME_EAN


class Envelope(OteStruct, frozen=True, kw_only=True):
    """[C] The root attributes and the two parties every message carries (§3)."""

    id: MessageId
    message_code: MessageCode
    #: As sent: OTE's sample has no UTC offset (local Prague time); an offset, when sent, is kept.
    date_time: dt.datetime
    dtd_version: str = "1"
    dtd_release: str = "1"
    #: [C] Only requests carry ``answer-required``; None when the attribute is absent.
    answer_required: bool | None = None
    sender: Party
    receiver: Party


class Reason(OteStruct, frozen=True, kw_only=True):
    """[C] ``<Reason code=… type=…>text</Reason>`` of an acknowledgement; the code list is not public."""

    code: ReasonCode
    type: ReasonCode | None = None
    text: Annotated[str, msgspec.Meta(max_length=REASON_TEXT_CHARS_MAX)] | None = None


class OteMessage(OteStruct, frozen=True, kw_only=True, tag_field="type"):
    """One decoded OTE message; the ``type`` tag (``masterdata``, ``switch-request``, …) names its family."""

    envelope: Envelope
