"""CDSMASTERDATA / CDSGASMASTERDATA with ``OPM`` elements ↔ ``OpmRegistration`` (ote-market.md §4).

Two confirmed rules are checked on the way in and out: an electricity registration is message code 111,
and each of its OPMs carries a consumption category or a distribution rate (CS OTE rejects it otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from lxml import etree

from connectors.ote.codec.common import Node, OteMalformed, add, read_envelope, root_commodity, start
from connectors.ote.codec.masterdata import ROOT_NAMES
from schemas.ote.common import MESSAGE_CODE_OPM_REGISTRATION, Commodity, ShortCode
from schemas.ote.registration import DistributionRate, OpmRecord, OpmRegistration

XSD_REGISTRATION: Final = "registration.xsd"
BODY_OPM: Final = "OPM"


def read_registration(root: Node) -> OpmRegistration:
    commodity = root_commodity(root)
    envelope = read_envelope(root)
    if commodity is Commodity.electricity and envelope.message_code != MESSAGE_CODE_OPM_REGISTRATION:
        raise OteMalformed(
            f"{root.path}/@message-code", envelope.message_code,
            f"is not {MESSAGE_CODE_OPM_REGISTRATION}, the electricity OPM registration",
        )
    items = tuple(_read_record(node, commodity) for node in root.some(BODY_OPM))
    return OpmRegistration(envelope=envelope, commodity=commodity, items=items)


def _read_record(node: Node, commodity: Commodity) -> OpmRecord:
    record = OpmRecord(
        opm=node.opm("opm", commodity),
        valid_from=node.get("date-from", dt.date),
        dso_ean=node.participant("dso"),
        metering_type=node.optional("metering-type", ShortCode),
        consumption_category=node.optional("consumption-category", ShortCode),
        distribution_rate=node.optional("distribution-rate", DistributionRate),
        grp=node.optional("grp", ShortCode),
    )
    if commodity is Commodity.electricity and not (record.consumption_category or record.distribution_rate):
        raise OteMalformed(node.path, None, "has neither consumption-category nor distribution-rate")
    return record


def build_registration(message: OpmRegistration) -> etree._Element:
    root = start(ROOT_NAMES[message.commodity], message.envelope)
    for item in message.items:
        add(root, BODY_OPM, {
            "opm": item.opm,
            "date-from": item.valid_from,
            "dso": item.dso_ean,
            "metering-type": item.metering_type,
            "consumption-category": item.consumption_category,
            "distribution-rate": item.distribution_rate,
            "grp": item.grp,
        })
    return root
