"""RESPONSE / GASRESPONSE ↔ ``Response``: CS OTE's acknowledgement of a message (ote-market.md §3)."""

from __future__ import annotations

from typing import Final

from lxml import etree

from connectors.ote.codec.common import Node, add, read_envelope, root_commodity, start
from schemas.ote.common import Commodity, MessageId, Reason, ReasonCode
from schemas.ote.response import Response

XSD_RESPONSE: Final = "response.xsd"
_ROOT_NAMES: Final = {Commodity.electricity: "RESPONSE", Commodity.gas: "GASRESPONSE"}


def read_response(root: Node) -> Response:
    return Response(
        envelope=read_envelope(root),
        commodity=root_commodity(root),
        reference_id=root.only("Reference").get("id", MessageId),
        reasons=tuple(_read_reason(node) for node in root.some("Reason")),
    )


def _read_reason(node: Node) -> Reason:
    return Reason(code=node.get("code", ReasonCode), type=node.optional("type", ReasonCode), text=node.text())


def build_response(message: Response) -> etree._Element:
    root = start(_ROOT_NAMES[message.commodity], message.envelope)
    add(root, "Reference", {"id": message.reference_id})
    for reason in message.reasons:
        element = add(root, "Reason", {"code": reason.code, "type": reason.type})
        element.text = reason.text
    return root
