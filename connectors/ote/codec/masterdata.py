"""CDSMASTERDATA / CDSGASMASTERDATA with ``Data`` elements ↔ ``MasterData`` (ote-market.md §4)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from lxml import etree

from connectors.ote.codec.common import Node, add, read_envelope, root_commodity, start
from schemas.ote.common import Commodity, NegotiationType, ShortCode
from schemas.ote.masterdata import MasterData, MasterDataItem

XSD_MASTERDATA: Final = "masterdata.xsd"
#: The body element that tells master data from the other CDSMASTERDATA families.
BODY_MASTERDATA: Final = "Data"
ROOT_NAMES: Final = {Commodity.electricity: "CDSMASTERDATA", Commodity.gas: "CDSGASMASTERDATA"}


def read_masterdata(root: Node) -> MasterData:
    commodity = root_commodity(root)
    return MasterData(
        envelope=read_envelope(root),
        commodity=commodity,
        items=tuple(_read_item(node, commodity) for node in root.some(BODY_MASTERDATA)),
    )


def _read_item(node: Node, commodity: Commodity) -> MasterDataItem:
    return MasterDataItem(
        opm=node.opm("opm", commodity),
        valid_from=node.get("date-from", dt.date),
        valid_to=node.optional("date-to", dt.date),
        supplier_ean=node.optional_participant("supplier"),
        balance_responsible_ean=node.optional_participant("balance-responsible"),
        contract_negotiation_type=node.optional("contract-negotiation-type", NegotiationType),
        rejection_reason=node.optional("rejection-reason", ShortCode),
        change_reason=node.optional("change-reason", ShortCode),
    )


def build_masterdata(message: MasterData) -> etree._Element:
    root = start(ROOT_NAMES[message.commodity], message.envelope)
    for item in message.items:
        add(root, BODY_MASTERDATA, {
            "opm": item.opm,
            "date-from": item.valid_from,
            "date-to": item.valid_to,
            "supplier": item.supplier_ean,
            "balance-responsible": item.balance_responsible_ean,
            "contract-negotiation-type": item.contract_negotiation_type,
            "rejection-reason": item.rejection_reason,
            "change-reason": item.change_reason,
        })
    return root
