"""Validation of ISDOC invoices against the official 6.0.2 XSD and schematron in ``schemas/isdoc``.

The schematron declares ``queryBinding="xslt2"``, and lxml's ISO-schematron runs on libxslt, which knows XSLT
1.0 and XPath 1.0 only: it refuses the file as it is. Four of its tests use XPath 2.0 (a sequence literal,
``every … satisfies``, ``distinct-values`` with ``le``, ``if … then … else``); all the others are XPath 1.0
already. ``XPATH1_REWRITES`` replaces those four, each with an XPath 1.0 test of the same meaning, and the
binding with ``xslt``; loading fails if the official file changes under them, so a new version cannot
silently lose a rule. One upstream slip is kept in meaning: the non-tax-document rule is written
``satisfied`` (not ``satisfies``) in the official file; its intent, every line not subject to VAT, is what we
test.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Final

from lxml import etree, isoschematron

from gateway.errors import InvalidField

ISDOC_NAMESPACE: Final = "http://isdoc.cz/namespace/2013"
XSD_FILE: Final = "isdoc-invoice-6.0.2.xsd"
SCHEMATRON_FILE: Final = "isdoc-6.0.2.sch"
#: Errors quoted in one exception at most: the first ones say enough about a broken generator.
ERRORS_QUOTED_MAX: Final = 5
_SVRL = "http://purl.oclc.org/dsdl/svrl"

_STORE = "isdoc:Item/isdoc:StoreBatches/isdoc:StoreBatch/isdoc:Quantity"
#: Official XPath 2.0 text → XPath 1.0 text of the same meaning.
XPATH1_REWRITES: Final[dict[str, str]] = {
    'queryBinding="xslt2"': 'queryBinding="xslt"',
    "isdoc:Invoice[isdoc:DocumentType = (2,3,6)]": (
        "isdoc:Invoice[isdoc:DocumentType = 2 or isdoc:DocumentType = 3 or isdoc:DocumentType = 6]"
    ),
    (
        "every $va in isdoc:InvoiceLines/isdoc:InvoiceLine/isdoc:ClassifiedTaxCategory/isdoc:VATApplicable"
        " satisfied $va = 'false'"
    ): (
        "not(isdoc:InvoiceLines/isdoc:InvoiceLine/isdoc:ClassifiedTaxCategory/isdoc:VATApplicable"
        "[. != 'false'])"
    ),
    # All batches' unit codes equal: no two of them differ (XPath 1.0 compares node sets pairwise).
    f"count(distinct-values({_STORE}/@unitCode)) le 1": f"not({_STORE}/@unitCode != {_STORE}/@unitCode)",
    (
        f"if (isdoc:InvoicedQuantity/@unitCode) then every $q in {_STORE}"
        " satisfies $q/@unitCode = isdoc:InvoicedQuantity/@unitCode else true()"
    ): (
        f"not(isdoc:InvoicedQuantity/@unitCode)"
        f" or not({_STORE}[not(@unitCode = ../../../../isdoc:InvoicedQuantity/@unitCode)])"
    ),
}


class InvalidIsdoc(InvalidField):
    """A document fails the XSD or the schematron: a bug in the generator or a foreign file."""

    def __init__(self, check: str, errors: list[str]) -> None:
        super().__init__("isdoc", "; ".join(errors[:ERRORS_QUOTED_MAX]), f"fails the ISDOC 6.0.2 {check}")
        self.errors = errors


def _read(name: str) -> bytes:
    return resources.files("schemas.isdoc").joinpath(name).read_bytes()


@functools.cache
def invoice_schema() -> etree.XMLSchema:
    """The official invoice XSD, parsed once per process."""
    return etree.XMLSchema(etree.fromstring(_read(XSD_FILE)))


def schematron_xpath1_text() -> str:
    """The official schematron with ``XPATH1_REWRITES`` applied; each must match exactly once."""
    text = _read(SCHEMATRON_FILE).decode("utf-8")
    for official, rewritten in XPATH1_REWRITES.items():
        count = text.count(official)
        if count != 1:
            raise AssertionError(f"{SCHEMATRON_FILE}: {official!r} occurs {count} times, expected once")
        text = text.replace(official, rewritten)
    return text


@functools.cache
def invoice_schematron() -> isoschematron.Schematron:
    document = etree.fromstring(schematron_xpath1_text().encode("utf-8"))
    return isoschematron.Schematron(document, store_report=True)


def validate_invoice(document: etree._Element | bytes) -> None:
    """Raise ``InvalidIsdoc`` unless ``document`` passes the XSD and then the schematron."""
    root = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = invoice_schema()
    if not schema.validate(root):
        raise InvalidIsdoc("XSD", [f"line {error.line}: {error.message}" for error in schema.error_log])
    schematron = invoice_schematron()
    if not schematron.validate(root):
        report = schematron.validation_report
        failed = report.findall(f".//{{{_SVRL}}}failed-assert")
        texts = [
            f"{item.get('location')}: {' '.join(item.findtext(f'{{{_SVRL}}}text', '').split())}"
            for item in failed
        ]
        raise InvalidIsdoc("schematron", texts)
