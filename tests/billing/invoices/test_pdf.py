"""The invoice PDF read back with pypdf: Czech text with diacritics, amounts, payment details, the QR code."""

from __future__ import annotations

import io

import pypdf

from gateway.billing.invoices.pdf import render_invoice_pdf
from gateway.billing.invoices.qr_payment import payment_spayd
from tests.billing.invoices import support

NBSP = "\u00a0"


def pdf_text(data: bytes) -> str:
    """All pages' text, non-breaking spaces as spaces (pypdf keeps them)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")


def _images(data: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return sum(len(page.images) for page in reader.pages)


def test_settlement_invoice_text_amounts_and_qr() -> None:
    document = support.settlement_invoice()
    data = render_invoice_pdf(document)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "Vyúčtování dodávky – faktura, daňový doklad č. FV202701000001",
        "Jiří Šťastný", "Žižkova 1234/5a", "67401 Třebíč", "Údolní 567/12",
        "IČO: 25097563", "DIČ: CZ25097563",
        "Odběrné místo (EAN) 859182400100000017",
        "Zúčtovací období 1. 1. 2026 – 31. 12. 2026",
        "Datum uskut. zdan. plnění 14. 1. 2027",
        "Datum splatnosti 28. 1. 2027",
        "Silová elektřina VT", "2,100 MWh", "2 890,00", "6 069,00",
        "Daň z elektřiny", "28,30", "59,43",
        "Rekapitulace DPH", "21 % 18 915,12 3 972,18 22 887,30",
        "Celkem s DPH 22 887,30 Kč",
        "DZ202601000001", "ano, 21 %: 520,66", "ZF202601000003",
        "Zaplacené zálohy celkem -9 000,00 Kč",
        "K úhradě: 13 887,30 Kč",
        "IBAN CZ6508000000192000145399", "Číslo účtu 19-2000145399/0800", "Variabilní symbol 1234567890",
        "QR Platba",
    ):
        assert expected in text, expected
    for letter in "žřůěťčýáíéúŽŠÚ":
        assert letter in text, letter
    assert _images(data) == 1
    assert payment_spayd(document) == (
        "SPD*1.0*ACC:CZ6508000000192000145399*AM:13887.30*CC:CZK*DT:20270128*MSG:VYUCTOVANI FV202701000001"
        "*X-VS:1234567890"
    )


def test_diacritics_round_trip_exactly() -> None:
    text = pdf_text(render_invoice_pdf(support.settlement_invoice()))
    # Words with each of ž ř ů ě as typed in the data, not transliterated or dropped by the font.
    for word in ("Žižkova", "Třebíč", "Měsíční", "příkon", "Údolní", "Šťastný", "elektřiny", "Systémové"):
        assert word in text, word
    business = pdf_text(render_invoice_pdf(support.settlement_invoice(support.BUSINESS)))
    assert "Pekárna U Řeky s.r.o." in business and "78901 Kůty" in business
    assert "IČO: 61858374   DIČ: CZ61858374" in business


def test_credit_note_overpayment_has_no_qr() -> None:
    data = render_invoice_pdf(support.credit_note())
    text = pdf_text(data)
    assert "Opravný daňový doklad (dobropis) č. DB202701000001" in text
    assert "Opravovaný doklad FV202701000001 ze dne 14. 1. 2027" in text
    assert "Přeplatek: 1 397,89 Kč" in text
    assert "QR Platba" not in text and _images(data) == 0


def test_advance_request_is_marked_not_a_tax_document() -> None:
    text = pdf_text(render_invoice_pdf(support.advance_request()))
    assert "není daňový doklad" in text
    assert "Datum uskut. zdan. plnění" not in text
    assert "K úhradě: 3 200,00 Kč" in text


def test_same_document_same_bytes() -> None:
    first = render_invoice_pdf(support.settlement_invoice())
    assert render_invoice_pdf(support.settlement_invoice()) == first
