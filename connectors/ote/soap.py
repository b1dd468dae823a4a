"""SOAP 1.1 envelopes around OTE messages: pure wrapping and unwrapping, no I/O.

[I] Document/literal: the OTE message element is the only child of ``soap:Body`` (ote-market.md §2 names the
services, not their WSDL; replace from OTE's "WSDL šablony" when we have them). The message is spliced in as
bytes, never re-serialised, so that an enveloped XML-DSig signature over it stays valid on the wire.

Unwrapping copies the body's element out and drops the namespace declarations it inherited from the envelope:
an inclusive canonicalisation (C14N 1.0/1.1, signxml's default) would otherwise see them and the digest that
the sender computed over the standalone message would not match.
"""

from __future__ import annotations

import copy
import re
from typing import Final

from lxml import etree

from connectors.ote.codec.common import OteMalformed, parse

NAMESPACE_SOAP: Final = "http://schemas.xmlsoap.org/soap/envelope/"
#: SOAP 1.1 needs a SOAPAction header; [I] OTE's value is in its WSDL, an empty string is the generic one.
SOAP_ACTION: Final = '""'
CONTENT_TYPE: Final = "text/xml; charset=utf-8"
#: Envelope, Body and an XML declaration around a message: what a wrapped message adds at most.
ENVELOPE_OVERHEAD_BYTES_MAX: Final = 4_096
#: Fault text repeated in an error; a fault detail can carry a whole stack trace.
FAULT_TEXT_CHARS_MAX: Final = 1_000

_PROLOG: Final = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")
_HEAD: Final = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<soap:Envelope xmlns:soap="' + NAMESPACE_SOAP.encode() + b'"><soap:Body>'
)
_TAIL: Final = b"</soap:Body></soap:Envelope>"


def wrap(message: bytes) -> bytes:
    """``message`` (UTF-8 XML) as the body of a SOAP 1.1 envelope; raises ``OteMalformed`` if not XML."""
    parse(message)
    return _HEAD + _PROLOG.sub(b"", message, count=1) + _TAIL


def fault(code: str, text: str) -> bytes:
    """A SOAP 1.1 Fault (``soap:Client`` or ``soap:Server``) with ``text`` as its faultstring."""
    assert code in ("Client", "Server"), code
    envelope = etree.Element(etree.QName(NAMESPACE_SOAP, "Envelope"), nsmap={"soap": NAMESPACE_SOAP})
    body = etree.SubElement(envelope, etree.QName(NAMESPACE_SOAP, "Body"))
    element = etree.SubElement(body, etree.QName(NAMESPACE_SOAP, "Fault"))
    # faultcode and faultstring are unqualified in SOAP 1.1.
    etree.SubElement(element, "faultcode").text = f"soap:{code}"
    etree.SubElement(element, "faultstring").text = text[:FAULT_TEXT_CHARS_MAX]
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return data


class SoapFault(Exception):
    """The envelope's body is a Fault; ``text`` is its code and faultstring. Translated by the caller."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _body(envelope: etree._Element) -> etree._Element:
    if envelope.tag != etree.QName(NAMESPACE_SOAP, "Envelope").text:
        raise OteMalformed(f"/{etree.QName(envelope).localname}", None, "is not a SOAP 1.1 Envelope")
    bodies = envelope.findall(etree.QName(NAMESPACE_SOAP, "Body").text)
    if len(bodies) != 1:
        raise OteMalformed("/Envelope/Body", None, f"occurs {len(bodies)} times; expected once")
    return bodies[0]


def unwrap(data: bytes) -> bytes | None:
    """The message in the body of envelope ``data``; None for an empty body.

    Raises ``OteMalformed`` (not XML, not an envelope, several body elements) or ``SoapFault``.
    """
    body = _body(parse(data))
    children = [child for child in body.iterchildren(tag=etree.Element)]
    if not children:
        return None
    if len(children) > 1:
        raise OteMalformed("/Envelope/Body", None, f"has {len(children)} elements; expected one message")
    child = children[0]
    if child.tag == etree.QName(NAMESPACE_SOAP, "Fault").text:
        code = (child.findtext("faultcode") or "").strip()
        text = (child.findtext("faultstring") or "").strip()
        raise SoapFault(f"{code}: {text}"[:FAULT_TEXT_CHARS_MAX])
    return _standalone(child)


def _standalone(child: etree._Element) -> bytes:
    parent_nsmap = child.getparent().nsmap if child.getparent() is not None else {}
    # Prefixes the message declares itself (or re-binds) are kept even when unused: they are part of
    # what the sender signed. Those only inherited from the envelope go.
    own = [prefix for prefix, uri in child.nsmap.items() if parent_nsmap.get(prefix) != uri]
    message = copy.deepcopy(child)
    message.tail = None
    etree.cleanup_namespaces(message, keep_ns_prefixes=[p for p in own if p is not None])
    data: bytes = etree.tostring(message, xml_declaration=True, encoding="UTF-8")
    return data
