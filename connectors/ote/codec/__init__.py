"""Pure OTE codec: bytes ↔ the structs of ``schemas.ote``; no I/O.

``decode(data)`` reads any message we model and returns its struct; ``decode_as(data, Struct)`` also checks
that it is the family the caller expects. ``encode(message)`` returns XML that has passed its family's
XSD. The family of a message follows from its root element and, under CDSMASTERDATA / CDSGASMASTERDATA,
from its first body element (``Data``, ``SwitchRequest``, ``Reference``, ``OPM``), never from its message
code: the codes of most CDS messages are not public (ote-market.md §9).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar

from lxml import etree

from connectors.ote.codec.common import (
    XML_BYTES_MAX,
    Node,
    OteInvalidOutbound,
    OteMalformed,
    OteTooLarge,
    finish,
    parse,
)
from connectors.ote.codec.masterdata import BODY_MASTERDATA, XSD_MASTERDATA, build_masterdata, read_masterdata
from connectors.ote.codec.metered import (
    XSD_METERED,
    build_metered_electricity,
    build_metered_gas,
    read_metered_electricity,
    read_metered_gas,
)
from connectors.ote.codec.registration import (
    BODY_OPM,
    XSD_REGISTRATION,
    build_registration,
    read_registration,
)
from connectors.ote.codec.response import XSD_RESPONSE, build_response, read_response
from connectors.ote.codec.switch import (
    BODY_REQUEST,
    XSD_SWITCH,
    build_switch_answer,
    build_switch_request,
    read_switch_answer,
    read_switch_request,
)
from schemas.ote import (
    AnyOteMessage,
    MasterData,
    MeteredElectricity,
    MeteredGas,
    OpmRegistration,
    OteMessage,
    Response,
    SwitchAnswer,
    SwitchRequest,
)

M = TypeVar("M", bound=OteMessage)

#: Struct → (builder, XSD): how each family is written and checked.
_WRITERS: Final[Mapping[type[OteMessage], tuple[Callable[[Any], etree._Element], str]]] = MappingProxyType({
    Response: (build_response, XSD_RESPONSE),
    MasterData: (build_masterdata, XSD_MASTERDATA),
    SwitchRequest: (build_switch_request, XSD_SWITCH),
    SwitchAnswer: (build_switch_answer, XSD_SWITCH),
    OpmRegistration: (build_registration, XSD_REGISTRATION),
    MeteredElectricity: (build_metered_electricity, XSD_METERED),
    MeteredGas: (build_metered_gas, XSD_METERED),
})

#: The ``type`` tag of each message struct (``masterdata``, ``switch-request``, …) → the struct.
MESSAGE_TYPES: Final[Mapping[str, type[OteMessage]]] = MappingProxyType(
    {str(cls.__struct_config__.tag): cls for cls in _WRITERS}
)

#: First body element under CDSMASTERDATA / CDSGASMASTERDATA → reader of that family.
_MASTERDATA_BODIES: Final[Mapping[str, Callable[[Node], AnyOteMessage]]] = MappingProxyType({
    BODY_MASTERDATA: read_masterdata,
    BODY_REQUEST: read_switch_request,
    "Reference": read_switch_answer,
    BODY_OPM: read_registration,
})

_ROOT_READERS: Final[Mapping[str, Callable[[Node], AnyOteMessage]]] = MappingProxyType({
    "RESPONSE": read_response,
    "GASRESPONSE": read_response,
    "CDSDATA": read_metered_electricity,
    "CDSGASPOF": read_metered_gas,
})

_PARTIES: Final = frozenset({"SenderIdentification", "ReceiverIdentification"})


def decode(data: bytes) -> AnyOteMessage:
    """The message in ``data``; raises ``OteTooLarge`` or ``OteMalformed`` naming the path and the value."""
    root = Node.root(parse(data))
    reader = _ROOT_READERS.get(root.name)
    if reader is None:
        reader = _masterdata_reader(root)
    return reader(root)


def _masterdata_reader(root: Node) -> Callable[[Node], AnyOteMessage]:
    body = [etree.QName(child).localname for child in root.elements()]
    first = next((name for name in body if name not in _PARTIES), None)
    if first is None or first not in _MASTERDATA_BODIES:
        raise OteMalformed(
            f"{root.path}/{first or '*'}", None,
            f"is not a body we read under {root.name} ({', '.join(_MASTERDATA_BODIES)})",
        )
    return _MASTERDATA_BODIES[first]


def decode_as(data: bytes, expected: type[M]) -> M:
    """``decode(data)``, refusing any family other than ``expected``."""
    message = decode(data)
    if not isinstance(message, expected):
        tag = message.__struct_config__.tag
        raise OteMalformed("/", tag, f"is not the expected {expected.__struct_config__.tag}")
    return message


def encode(message: OteMessage) -> bytes:
    """The XML of ``message``, validated against its XSD; raises ``OteInvalidOutbound`` if it is not.

    The bytes are then read back, which applies the checks an XSD cannot express (EAN and EIC check digits,
    message code 111 with a category or rate), so that we never send what we would refuse to receive.
    """
    build, xsd_name = _WRITERS[type(message)]
    data = finish(build(message), xsd_name)
    try:
        decoded = decode(data)
    except OteMalformed as exc:
        raise OteInvalidOutbound(f"outbound {exc.path}: {exc.reason}: {exc.value!r}") from exc
    assert type(decoded) is type(message), (type(decoded), type(message))
    return data


__all__ = [
    "MESSAGE_TYPES",
    "XML_BYTES_MAX",
    "OteInvalidOutbound",
    "OteMalformed",
    "OteTooLarge",
    "decode",
    "decode_as",
    "encode",
]
