"""CDSMASTERDATA / CDSGASMASTERDATA with ``SwitchRequest`` or ``Reference`` + ``SwitchResult`` (§5).

The switch's message codes are not public (ote-market.md §9), so the codec carries ``message_code`` as data
and tells a request from an answer by its body element, never by its code.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from lxml import etree

from connectors.ote.codec.common import Node, add, read_envelope, root_commodity, start
from connectors.ote.codec.masterdata import ROOT_NAMES
from schemas.ote.common import MessageId, NegotiationType, ShortCode
from schemas.ote.switch import SwitchAnswer, SwitchRequest

XSD_SWITCH: Final = "switch.xsd"
BODY_REQUEST: Final = "SwitchRequest"
BODY_RESULT: Final = "SwitchResult"


def read_switch_request(root: Node) -> SwitchRequest:
    commodity = root_commodity(root)
    body = root.only(BODY_REQUEST)
    return SwitchRequest(
        envelope=read_envelope(root),
        commodity=commodity,
        opm=body.opm("opm", commodity),
        supplier_ean=body.participant("supplier"),
        balance_responsible_ean=body.participant("balance-responsible"),
        date_from=body.get("date-from", dt.date),
        date_to=body.optional("date-to", dt.date),
        contract_type=body.get("contract-type", ShortCode),
        switch_type=body.optional("switch-type", ShortCode),
        contract_negotiation_type=body.optional("contract-negotiation-type", NegotiationType),
    )


def read_switch_answer(root: Node) -> SwitchAnswer:
    commodity = root_commodity(root)
    body = root.only(BODY_RESULT)
    return SwitchAnswer(
        envelope=read_envelope(root),
        commodity=commodity,
        reference_id=root.only("Reference").get("id", MessageId),
        opm=body.opm("opm", commodity),
        accepted=body.get("accepted", bool),
        date_from=body.optional("date-from", dt.date),
        rejection_reason=body.optional("rejection-reason", ShortCode),
        previous_supplier_ean=body.optional_participant("previous-supplier"),
    )


def build_switch_request(message: SwitchRequest) -> etree._Element:
    root = start(ROOT_NAMES[message.commodity], message.envelope)
    add(root, BODY_REQUEST, {
        "opm": message.opm,
        "supplier": message.supplier_ean,
        "balance-responsible": message.balance_responsible_ean,
        "date-from": message.date_from,
        "date-to": message.date_to,
        "contract-type": message.contract_type,
        "switch-type": message.switch_type,
        "contract-negotiation-type": message.contract_negotiation_type,
    })
    return root


def build_switch_answer(message: SwitchAnswer) -> etree._Element:
    root = start(ROOT_NAMES[message.commodity], message.envelope)
    add(root, "Reference", {"id": message.reference_id})
    add(root, BODY_RESULT, {
        "opm": message.opm,
        "accepted": message.accepted,
        "date-from": message.date_from,
        "rejection-reason": message.rejection_reason,
        "previous-supplier": message.previous_supplier_ean,
    })
    return root
