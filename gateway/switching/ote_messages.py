"""The OTE messages the switching machines send: a switch request and master-data notices (END, CUS, OBJ,
CAN), each wrapped in an ``ote.send`` for the OTE sender on ``ote.outbound``.

Every struct is built through ``msgspec.convert``, which applies the schema's constraints (OPM pattern,
participant EANs, code lengths) that a plain constructor would not: a message that would fail the sender's
XSD check fails here instead, in the transaction of the process step, naming the field.

Message codes, the contract type and the message-id form are [I]: OTE's code lists are not public
(ote-market.md §9); they are named here, in one place, to be replaced from D1.4.2 / D1.4.2G.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec

from gateway.errors import HandlerRejected
from gateway.process.calendar import PRAGUE
from gateway.switching.config import SwitchingConfig
from schemas.ote import MasterData, SwitchRequest
from schemas.ote.common import MESSAGE_ID_CHARS_MAX, OteMessage
from schemas.ote.events import OteSend

#: [I] Message codes of a switch request, as in our golden samples (electricity 150, gas G11).
CODE_SWITCH_REQUEST: Final = {"electricity": "150", "gas": "G11"}
#: [I] Message codes of a supplier's master-data notice (END, CUS, OBJ, CAN) to CS OTE.
CODE_NOTICE: Final = {"electricity": "152", "gas": "G13"}
#: [I] Contract type of our contracts: bundled services (sdružené služby: supply and distribution), as in
#: the gas golden sample. Supply-only contracts ("DOD") are not offered.
CONTRACT_TYPE_BUNDLED: Final = "SS"
#: [C] Electricity switch type R1, start of supply to a newly connected OPM (§5); [I] the same for gas.
SWITCH_TYPE_MOVE_IN: Final = "R1"
#: [C] ``contract-negotiation-type`` (§4) by our master data's ``Negotiation``.
NEGOTIATION_TYPES: Final = {"off_premises": "M", "on_premises": "P", "distance": "D"}
#: Purpose prefix of a switch request's message id; notices use their change reason (END, CUS, ...).
PURPOSE_REQUEST: Final = "REQ"
#: Local time in a message id, to the second.
_ID_TIME_FORMAT: Final = "%y%m%d%H%M%S"


def message_id(purpose: str, now: dt.datetime, opm: str) -> str:
    """Our id of an OTE message: purpose, Prague time to the second and OPM, ``REQ260302090000859182…``.

    Readable in OTE's portal and in the logs, at most 35 characters (``MESSAGE_ID_CHARS_MAX``), and
    unique as long as one OPM gets at most one message of a purpose per second, which one process per OPM
    and purpose guarantees. Deterministic on the process clock, so a scenario test can answer the request
    by its id (``switch.answered`` carries it as ``reference_id``) [I: OTE's id rules are not public].
    """
    assert len(purpose) == 3 and purpose.isupper(), purpose
    assert now.tzinfo is not None, "now must be aware"
    text = f"{purpose}{now.astimezone(PRAGUE):{_ID_TIME_FORMAT}}{opm}"
    assert len(text) <= MESSAGE_ID_CHARS_MAX, f"{text!r}: is {opm!r} an OPM code?"
    return text


def _envelope(code: str, id_: str, now: dt.datetime, config: SwitchingConfig) -> dict[str, Any]:
    return {
        "id": id_, "message_code": code,
        "date_time": now.astimezone(PRAGUE).replace(microsecond=0).isoformat(),
        "answer_required": True,
        "sender": {"ean": config.participant_ean}, "receiver": {"ean": config.operator_ean},
    }


def _converted(action: str, raw: dict[str, Any], kind: type[OteMessage]) -> OteMessage:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise HandlerRejected(f"{action}: the OTE message would be invalid: {exc}") from None


def switch_request(
    action: str, *, opm: str, commodity: str, date_from: dt.date, date_to: dt.date | None,
    start_reason: str, negotiation: str, now: dt.datetime, config: SwitchingConfig,
) -> SwitchRequest:
    """The request to switch ``opm`` to us from ``date_from`` (vyhláška 349/2015 Sb. § 110 lists what it
    carries [C]: the new supplier, the contract type, start and duration, the balance-responsible party)."""
    id_ = message_id(PURPOSE_REQUEST, now, opm)
    raw = {
        "type": "switch-request", "envelope": _envelope(CODE_SWITCH_REQUEST[commodity], id_, now, config),
        "commodity": commodity, "opm": opm,
        "supplier_ean": config.participant_ean, "balance_responsible_ean": config.balance_responsible_ean,
        "date_from": date_from.isoformat(), "date_to": date_to.isoformat() if date_to else None,
        "contract_type": CONTRACT_TYPE_BUNDLED,
        "switch_type": SWITCH_TYPE_MOVE_IN if start_reason == "move_in" else None,
        "contract_negotiation_type": NEGOTIATION_TYPES[negotiation],
    }
    message = _converted(action, raw, SwitchRequest)
    assert isinstance(message, SwitchRequest)
    return message


def notice(
    action: str, *, change_reason: str, opm: str, commodity: str, valid_from: dt.date,
    valid_to: dt.date | None, rejection_reason: str | None, now: dt.datetime, config: SwitchingConfig,
) -> MasterData:
    """One master-data item about our supply at ``opm``, announcing ``change_reason``."""
    item = {
        "opm": opm, "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
        "supplier_ean": config.participant_ean, "balance_responsible_ean": config.balance_responsible_ean,
        "rejection_reason": rejection_reason, "change_reason": change_reason,
    }
    raw = {
        "type": "masterdata",
        "envelope": _envelope(CODE_NOTICE[commodity], message_id(change_reason, now, opm), now, config),
        "commodity": commodity, "items": [item],
    }
    message = _converted(action, raw, MasterData)
    assert isinstance(message, MasterData) and len(message.items) == 1
    return message


def ote_send(message: OteMessage, process: str) -> OteSend:
    """The ``ote.send`` payload: the struct as JSON with its ``type`` tag, as the sender decodes it."""
    return OteSend(message=msgspec.to_builtins(message), process=process)
