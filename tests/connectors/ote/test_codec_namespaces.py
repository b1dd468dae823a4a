"""Decoding depends on namespace URIs and local names, never on prefixes: OTE's SAP proxy writes ``n0:``/
``n1:`` and unqualified children (ote-market.md §2). Each golden file is rewritten with other prefixes and
must decode to the same struct; a wrong or missing namespace is refused with the URI it expected."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from connectors.ote.codec import OteMalformed, decode
from tests.connectors.ote.expected import GOLDEN, golden_bytes


def rewritten(data: bytes, prefix: str | None, qualified_children: bool) -> bytes:
    """The same message with the root's namespace bound to ``prefix``; children qualified or not."""
    source = etree.fromstring(data)
    namespace = etree.QName(source).namespace
    root = etree.Element(etree.QName(namespace, etree.QName(source).localname), nsmap={prefix: namespace})
    _copy(source, root, namespace, qualified_children)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _copy(source: etree._Element, target: etree._Element, namespace: str, qualified: bool) -> None:
    for name, value in source.attrib.items():
        target.set(name, value)
    target.text = source.text
    for child in source.iterchildren(tag=etree.Element):
        local = etree.QName(child).localname
        copy = etree.SubElement(target, etree.QName(namespace, local) if qualified else local)
        _copy(child, copy, namespace, qualified)


STYLES = {
    "n0-qualified": ("n0", True),
    "n1-unqualified-children": ("n1", False),
    "default-namespace": (None, True),
    "default-namespace-unqualified-children": (None, False),
    "long-prefix": ("cds", True),
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_prefixes_do_not_matter(name: str, style: str) -> None:
    prefix, qualified = STYLES[style]
    data = rewritten(golden_bytes(name), prefix, qualified)
    if prefix:
        assert f"<{prefix}:".encode() in data
    assert decode(data) == GOLDEN[name]


def test_same_prefix_bound_to_another_namespace_is_refused() -> None:
    # The prefix n0 means nothing by itself: bound to a foreign URI the message is not ours.
    data = golden_bytes("masterdata-gas.xml").replace(
        b'xmlns="http://www.ote-cr.cz/schema/cds/masterdata"', b'xmlns="urn:example:other"'
    )
    with pytest.raises(OteMalformed, match=r"/CDSGASMASTERDATA: 'urn:example:other' has the wrong namespace"):
        decode(data)


def test_root_without_namespace_is_refused_naming_the_expected_one() -> None:
    data = golden_bytes("response-electricity.xml").replace(
        b' xmlns="http://www.ote-cr.cz/schema/response"', b""
    )
    with pytest.raises(OteMalformed, match=re.escape("expected 'http://www.ote-cr.cz/schema/response'")):
        decode(data)


def test_children_in_a_foreign_namespace_are_not_taken_for_ours() -> None:
    data = rewritten(golden_bytes("masterdata-electricity.xml"), "n0", True).replace(
        b"<n0:Data ", b'<x:Data xmlns:x="urn:example:other" '
    )
    with pytest.raises(OteMalformed, match=r"/CDSMASTERDATA/\*: is not a body we read"):
        decode(data)
