"""Golden invoices: a settlement invoice and its credit note, the ISDOC (validated) and the PDF text.

The expected files are in ``golden/``. After a deliberate change to the layout or the mapping, regenerate
them with ``PROUD_UPDATE_GOLDEN=1 pytest tests/billing/invoices/test_golden.py``; review the diff as code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.billing.invoices.isdoc import isdoc_xml
from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.invoices.pdf import render_invoice_pdf
from schemas.billing.invoice import InvoiceDocument
from tests.billing.invoices import support
from tests.billing.invoices.test_pdf import pdf_text

GOLDEN = Path(__file__).parent / "golden"
CASES: dict[str, Callable[[], InvoiceDocument]] = {
    "settlement": support.settlement_invoice,
    "credit_note": support.credit_note,
}
UPDATE = os.environ.get("PROUD_UPDATE_GOLDEN") == "1"


def _compare(path: Path, actual: bytes) -> None:
    if UPDATE:
        path.write_bytes(actual)
    assert path.is_file(), f"{path} is missing: run with PROUD_UPDATE_GOLDEN=1 once"
    expected = path.read_bytes()
    assert actual.decode("utf-8").splitlines() == expected.decode("utf-8").splitlines(), path.name


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_isdoc(case: str) -> None:
    path = GOLDEN / f"{case}.isdoc"
    _compare(path, isdoc_xml(CASES[case]()))
    # The stored file itself passes the official XSD and schematron, independently of the generator.
    validate_invoice(path.read_bytes())


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_pdf_text(case: str) -> None:
    text = pdf_text(render_invoice_pdf(CASES[case]())) + "\n"
    _compare(GOLDEN / f"{case}.pdf.txt", text.encode("utf-8"))
