"""What every OTE family codec shares: safe parsing, the envelope, path-aware reading, XSD-checked writing.

Inbound XML is untrusted. It is size-checked before lxml sees it (``XML_BYTES_MAX``) and parsed without
entity resolution, network, DTD loading or huge-tree mode; a document with any DOCTYPE is refused, because
OTE messages carry none and a DOCTYPE is how XXE and entity-expansion attacks begin.

Elements are matched by local name and namespace URI, never by prefix: OTE's SAP proxy emits ``n0:``/``n1:``
prefixes (ote-market.md §2), others use a default namespace. Children may be in the root's namespace or in
no namespace (SAP proxies write unqualified children). Unknown elements and attributes are ignored on input,
since the official format carries more than our working model; everything our model needs is required.

Outbound XML is built with a default namespace, serialised, parsed back with the same safe parser and
validated against its family's XSD (compiled once) before the bytes are returned.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec
from lxml import etree

from gateway.errors import MalformedMessage, MessageError, MessageTooLarge
from gateway.masterdata.identifiers import (
    InvalidIdentifier,
    validate_ean_opm,
    validate_ean_participant,
    validate_eic,
)
from schemas.ote import XSD_DIRECTORY
from schemas.ote.common import CODING_SCHEME_EAN, Commodity, Envelope, MessageCode, MessageId, Party

T = TypeVar("T")

#: Largest OTE message we parse or emit. A year of daily gas values for one OPM is about 60 kB; batches of
#: master data for thousands of OPMs stay within a few MB. Checked before lxml sees a byte.
XML_BYTES_MAX: Final = 16 * 1024 * 1024
#: Values quoted in error messages are cut to this many characters so that one error stays one line.
SHOWN_CHARS_MAX: Final = 64

#: [C] ote-market.md §3: the namespace of RESPONSE; [I] GASRESPONSE shares it.
NAMESPACE_RESPONSE: Final = "http://www.ote-cr.cz/schema/response"
#: [I] CDSMASTERDATA / CDSGASMASTERDATA (master data, switching, OPM registration); replace from D1.4.2.
NAMESPACE_MASTERDATA: Final = "http://www.ote-cr.cz/schema/cds/masterdata"
#: [I] CDSDATA / CDSGASPOF (metered data); replace from D1.4.2 / D1.4.2G.
NAMESPACE_DATA: Final = "http://www.ote-cr.cz/schema/cds/data"

#: Root element → (namespace, commodity). Each root names its commodity [C, §4].
ROOTS: Final = {
    "RESPONSE": (NAMESPACE_RESPONSE, Commodity.electricity),
    "GASRESPONSE": (NAMESPACE_RESPONSE, Commodity.gas),
    "CDSMASTERDATA": (NAMESPACE_MASTERDATA, Commodity.electricity),
    "CDSGASMASTERDATA": (NAMESPACE_MASTERDATA, Commodity.gas),
    "CDSDATA": (NAMESPACE_DATA, Commodity.electricity),
    "CDSGASPOF": (NAMESPACE_DATA, Commodity.gas),
}

_DOCTYPE: Final = b"<!DOCTYPE"
# A UTF-16 or UTF-32 document has a NUL byte within its first four bytes ("<" or the BOM and "<").
_ENCODING_SNIFF_BYTES: Final = 4
# xs:decimal's lexical space: no exponent, no NaN or infinity (Decimal() would accept all three).
_DECIMAL: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class OteMalformed(MalformedMessage):
    """An inbound OTE message we cannot read; ``path`` locates the element or attribute.

    Paths are XPath-like with 1-based indices: ``/CDSMASTERDATA/Data[2]/@opm``.
    """

    def __init__(self, path: str, value: object, reason: str) -> None:
        shown = "" if value is None else f" {_shown(value)}"
        super().__init__(f"OTE message {path}:{shown} {reason}")
        self.path = path
        self.value = value
        self.reason = reason


class OteTooLarge(MessageTooLarge):
    """An OTE message over ``XML_BYTES_MAX``; it was not parsed."""


class OteInvalidOutbound(MessageError):
    """A message we were about to send breaks its XSD or a rule of our model; it was not returned."""


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN_CHARS_MAX:
        return f"{text[:SHOWN_CHARS_MAX]!r}… ({len(text)} characters)"
    return repr(text)


def _safe_parser() -> etree.XMLParser:
    # A parser per call: lxml parsers keep per-document state and are cheap to build.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_pis=True, collect_ids=False,
    )


def parse(data: bytes) -> etree._Element:
    """The root element of ``data``, parsed safely; raises ``OteTooLarge`` or ``OteMalformed``."""
    if len(data) > XML_BYTES_MAX:
        raise OteTooLarge(f"OTE message of {len(data)} bytes is over XML_BYTES_MAX={XML_BYTES_MAX}")
    # Refused before libxml2 sees it: even with entity resolution off, libxml2 reads external *parameter*
    # entities of an internal subset. Scanning bytes is sound only for ASCII-compatible encodings, so
    # UTF-16/32 (a NUL among the first bytes) is refused too; OTE sends UTF-8.
    if b"\x00" in data[:_ENCODING_SNIFF_BYTES]:
        raise OteMalformed("/", None, "is not in an ASCII-compatible encoding (UTF-16/32 is refused)")
    if _DOCTYPE in data:
        raise OteMalformed("/", None, "has a DOCTYPE; OTE messages carry none (XXE/entity guard)")
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 messages can span lines; an error stays one line.
        raise OteMalformed("/", None, f"is not well-formed XML: {' '.join(str(exc).split())}") from exc
    docinfo = root.getroottree().docinfo
    # The byte scan above makes this impossible; kept as the paired check on what was parsed.
    assert not docinfo.doctype and docinfo.internalDTD is None and docinfo.externalDTD is None
    return root


def local_name(element: etree._Element) -> str:
    name: str = etree.QName(element).localname
    return name


class Node:
    """An element with its path, for reading values that fail with that path and the value in the message."""

    def __init__(self, element: etree._Element, path: str, namespace: str) -> None:
        self.element = element
        self.path = path
        self.namespace = namespace

    @classmethod
    def root(cls, element: etree._Element) -> Node:
        name = local_name(element)
        if name not in ROOTS:
            raise OteMalformed(f"/{name}", None, f"is not an OTE root we read ({', '.join(ROOTS)})")
        expected, _commodity = ROOTS[name]
        namespace = etree.QName(element).namespace
        if namespace != expected:
            raise OteMalformed(f"/{name}", namespace, f"has the wrong namespace; expected {expected!r}")
        return cls(element, f"/{name}", expected)

    @property
    def name(self) -> str:
        return local_name(self.element)

    def elements(self) -> Iterator[etree._Element]:
        for child in self.element.iterchildren(tag=etree.Element):
            if etree.QName(child).namespace in (self.namespace, None):
                yield child

    def children(self, name: str) -> list[Node]:
        found = [child for child in self.elements() if local_name(child) == name]
        path = f"{self.path}/{name}"
        return [Node(child, f"{path}[{index}]", self.namespace) for index, child in enumerate(found, 1)]

    def some(self, name: str) -> list[Node]:
        """At least one ``name`` child."""
        found = self.children(name)
        if not found:
            raise OteMalformed(f"{self.path}/{name}", None, "is missing")
        return found

    def only(self, name: str) -> Node:
        """Exactly one ``name`` child."""
        found = self.some(name)
        if len(found) > 1:
            raise OteMalformed(f"{self.path}/{name}", None, f"occurs {len(found)} times; expected once")
        return Node(found[0].element, f"{self.path}/{name}", self.namespace)

    def text(self) -> str | None:
        return (self.element.text or "").strip() or None

    def raw(self, name: str) -> str | None:
        value = self.element.get(name)
        return None if value is None else value.strip()

    def required(self, name: str) -> str:
        value = self.raw(name)
        if value is None or value == "":
            raise OteMalformed(f"{self.path}/@{name}", None, "is missing")
        return value

    def get(self, name: str, type_: Any) -> Any:
        """Required attribute ``name`` converted to ``type_`` (a type or an ``Annotated`` with ``Meta``)."""
        return self._convert(name, self.required(name), type_)

    def optional(self, name: str, type_: Any) -> Any:
        value = self.raw(name)
        return None if value is None or value == "" else self._convert(name, value, type_)

    def decimal(self, name: str) -> Decimal:
        value = self.required(name)
        if not _DECIMAL.fullmatch(value):
            raise OteMalformed(f"{self.path}/@{name}", value, "is not a decimal number (xs:decimal)")
        return Decimal(value)

    def participant(self, name: str) -> str:
        return self._identifier(name, self.required(name), validate_ean_participant)

    def optional_participant(self, name: str) -> str | None:
        value = self.raw(name)
        return None if not value else self._identifier(name, value, validate_ean_participant)

    def opm(self, name: str, commodity: Commodity) -> str:
        validate = validate_ean_opm if commodity is Commodity.electricity else validate_eic
        return self._identifier(name, self.required(name), validate)

    def _identifier(self, name: str, value: str, validate: Any) -> str:
        try:
            return str(validate(value))
        except InvalidIdentifier as exc:
            raise OteMalformed(f"{self.path}/@{name}", value, exc.reason) from exc

    def _convert(self, name: str, value: str, type_: Any) -> Any:
        if type_ is bool:
            return self._boolean(name, value)
        try:
            return msgspec.convert(value, type_, strict=False)
        except msgspec.ValidationError as exc:
            reason = str(exc).split(" - at ", 1)[0]
            raise OteMalformed(f"{self.path}/@{name}", value, f"is invalid: {reason}") from exc

    def _boolean(self, name: str, value: str) -> bool:
        # xs:boolean: exactly these four spellings.
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise OteMalformed(f"{self.path}/@{name}", value, "is not an xs:boolean (true, false, 1, 0)")


def read_envelope(root: Node) -> Envelope:
    """[C] The root attributes and the sender and receiver (ote-market.md §3)."""
    return Envelope(
        id=root.get("id", MessageId),
        message_code=root.get("message-code", MessageCode),
        date_time=root.get("date-time", dt.datetime),
        dtd_version=root.required("dtd-version"),
        dtd_release=root.required("dtd-release"),
        answer_required=root.optional("answer-required", bool),
        sender=_read_party(root.only("SenderIdentification")),
        receiver=_read_party(root.only("ReceiverIdentification")),
    )


def _read_party(node: Node) -> Party:
    scheme = node.required("coding-scheme")
    if scheme != CODING_SCHEME_EAN:
        raise OteMalformed(f"{node.path}/@coding-scheme", scheme, f"is not {CODING_SCHEME_EAN} (EAN)")
    return Party(ean=node.participant("id"), coding_scheme=scheme)


def root_commodity(root: Node) -> Commodity:
    return ROOTS[root.name][1]


# --- writing -------------------------------------------------------------------------------------------


def _formatted(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # Fixed-point: str() would write 1E+3, which xs:decimal refuses; digits are kept exactly.
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def start(root_name: str, envelope: Envelope) -> etree._Element:
    """A root element with the envelope's attributes and parties, in its family's default namespace."""
    namespace, _commodity = ROOTS[root_name]
    root = etree.Element(etree.QName(namespace, root_name), nsmap={None: namespace})
    attributes = {
        "id": envelope.id,
        "message-code": envelope.message_code,
        "date-time": envelope.date_time,
        "dtd-version": envelope.dtd_version,
        "dtd-release": envelope.dtd_release,
        "answer-required": envelope.answer_required,
    }
    _set(root, attributes)
    parties = (("SenderIdentification", envelope.sender), ("ReceiverIdentification", envelope.receiver))
    for name, party in parties:
        add(root, name, {"coding-scheme": party.coding_scheme, "id": party.ean})
    return root


def add(parent: etree._Element, name: str, attributes: dict[str, object]) -> etree._Element:
    """A child ``name`` in the parent's namespace; attributes whose value is None are left out."""
    child = etree.SubElement(parent, etree.QName(etree.QName(parent).namespace, name))
    _set(child, attributes)
    return child


def _set(element: etree._Element, attributes: dict[str, object]) -> None:
    for name, value in attributes.items():
        if value is not None:
            element.set(name, _formatted(value))


@functools.cache
def schema(xsd_name: str) -> etree.XMLSchema:
    """The compiled XSD ``schemas/ote/<xsd_name>``; compiled on first use, then kept."""
    path = XSD_DIRECTORY / xsd_name
    return etree.XMLSchema(etree.parse(str(path), _safe_parser()))


def finish(root: etree._Element, xsd_name: str) -> bytes:
    """The serialised message, after it has passed ``xsd_name``; raises ``OteInvalidOutbound`` otherwise."""
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if len(data) > XML_BYTES_MAX:
        raise OteTooLarge(f"outbound {local_name(root)} of {len(data)} bytes is over XML_BYTES_MAX")
    compiled = schema(xsd_name)
    # Validate the bytes as parsed back, so that line numbers in the error point into what we would send.
    if not compiled.validate(parse(data)):
        first = compiled.error_log[0]
        raise OteInvalidOutbound(
            f"outbound {local_name(root)} violates schemas/ote/{xsd_name} at line {first.line}: "
            f"{first.message}"
        )
    return data
