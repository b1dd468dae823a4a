"""The invoice as PDF (A4, Czech): parties, supply point and period, lines, VAT recap, totals, advances, the
balance, payment details and the QR Platba code.

Rendering is pure and deterministic like the welcome letter's (``gateway.masterdata.letters``): the same
document gives the same bytes (the creation date is the issue date), so a stored PDF's hash identifies it.
Fonts are DejaVu from the same directory as the letter's: the PDF core fonts have no ř, ů or ě. CPU-bound;
call through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Final
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException
from fpdf.fonts import TTFFont

from gateway.billing.invoices.document import check_document, tax_point
from gateway.billing.invoices.pdf_readings import render_readings
from gateway.billing.invoices.pdf_tables import (
    FONT_FAMILY,
    LINE_MM,
    render_advances,
    render_lines,
    render_totals,
    render_vat_recap,
)
from gateway.billing.invoices.qr_payment import domestic_account, payment_spayd
from gateway.billing.invoices.spayd import qr_image
from gateway.billing.invoices.texts import COMMODITIES, czech_date, document_title, money, period_text
from gateway.errors import InvalidField
from gateway.masterdata.letters import add_dejavu_fonts
from schemas.billing.invoice import InvoiceDocument
from schemas.masterdata.common import Address

TIMEZONE: Final = ZoneInfo("Europe/Prague")
PAGE_MARGIN_MM: Final = 15.0
FOOTER_FROM_BOTTOM_MM: Final = 12.0
RIGHT_COLUMN_MM: Final = 110.0
#: 30 mm holds the QR Platba of an invoice (version 5-6, about 0.6 mm a module) readable for a phone.
QR_SIZE_MM: Final = 30.0
HEADING_PT: Final = 14.0
PAYMENT_HEADING_MM: Final = 7.0
BODY_PT: Final = 9.0
SMALL_PT: Final = 7.0
GREY: Final = 110


class _InvoicePdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-FOOTER_FROM_BOTTOM_MM)
        self.set_font(FONT_FAMILY, size=SMALL_PT)
        self.set_text_color(GREY)
        self.cell(0, 4, f"{self.footer_text} · strana {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    """The PDF of ``document``; the same document always gives the same bytes."""
    check_document(document)
    pdf = _new_pdf(document)
    try:
        add_dejavu_fonts(pdf, FONT_FAMILY)
        pdf.add_page()
        _render_head(pdf, document)
        _render_parties(pdf, document)
        _render_supply(pdf, document)
        render_readings(pdf, document)
        render_lines(pdf, document)
        render_vat_recap(pdf, document)
        render_totals(pdf, document)
        render_advances(pdf, document)
        _render_payment(pdf, document)
        return bytes(pdf.output())
    except FPDFException as exc:
        raise InvalidField("document", document.number, f"fpdf2 cannot lay the invoice out: {exc}") from exc
    finally:
        # fpdf2 closes font files only in output(); a refused document would leak them.
        for font in pdf.fonts.values():
            if isinstance(font, TTFFont):
                font.close()


def _new_pdf(document: InvoiceDocument) -> _InvoicePdf:
    supplier = document.supplier
    footer = f"{supplier.name}, IČO {supplier.ico}, DIČ {supplier.dic}"
    if supplier.register_entry:
        footer += f", {supplier.register_entry}"
    pdf = _InvoicePdf(footer)
    pdf.set_creation_date(dt.datetime.combine(document.issue_date, dt.time(), TIMEZONE))
    pdf.set_title(f"{document_title(document)} {document.number}")
    pdf.set_author(supplier.name)
    pdf.set_creator("proud")
    pdf.set_lang("cs")
    pdf.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=PAGE_MARGIN_MM + FOOTER_FROM_BOTTOM_MM)
    return pdf


def address_lines(address: Address) -> list[str]:
    street = address.street or address.city_part or address.city
    return [f"{street} {address.house_number}", f"{address.postal_code} {address.city}"]


def _render_head(pdf: FPDF, document: InvoiceDocument) -> None:
    supplier = document.supplier
    pdf.set_font(FONT_FAMILY, "B", HEADING_PT)
    pdf.cell(0, 7, supplier.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", BODY_PT)
    for text in [*address_lines(supplier.address), f"IČO: {supplier.ico}   DIČ: {supplier.dic}"]:
        pdf.cell(0, LINE_MM, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, "B", HEADING_PT - 2)
    title = f"{document_title(document)} č. {document.number}"
    pdf.multi_cell(0, 6, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _key_values(pdf: FPDF, x_mm: float, rows: list[tuple[str, str]], label_mm: float = 38.0) -> None:
    for label, value in rows:
        pdf.set_x(x_mm)
        pdf.set_font(FONT_FAMILY, "", BODY_PT)
        pdf.set_text_color(GREY)
        pdf.cell(label_mm, LINE_MM, label)
        pdf.set_text_color(0)
        pdf.multi_cell(0, LINE_MM, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _render_parties(pdf: FPDF, document: InvoiceDocument) -> None:
    top_mm = pdf.get_y()
    customer = document.customer
    pdf.set_font(FONT_FAMILY, "B", BODY_PT)
    pdf.cell(90, LINE_MM, "Odběratel", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(90, LINE_MM, customer.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", BODY_PT)
    lines = address_lines(customer.address)
    if customer.ico:
        lines.append(f"IČO: {customer.ico}" + (f"   DIČ: {customer.dic}" if customer.dic else ""))
    lines.append(f"Číslo zákazníka: {customer.customer_number}")
    for text in lines:
        pdf.cell(90, LINE_MM, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom_mm = pdf.get_y()
    pdf.set_y(top_mm)
    rows = [("Datum vystavení", czech_date(document.issue_date))]
    point = tax_point(document)
    if point is not None:
        rows.append(("Datum uskut. zdan. plnění", czech_date(point)))
    rows.append(("Datum splatnosti", czech_date(document.due_date)))
    rows.append(("Variabilní symbol", document.variable_symbol))
    _key_values(pdf, RIGHT_COLUMN_MM, rows, label_mm=47.0)
    pdf.set_y(max(left_bottom_mm, pdf.get_y()) + 3)


def _render_supply(pdf: FPDF, document: InvoiceDocument) -> None:
    code_name = "EAN" if document.commodity == "electricity" else "EIC"
    rows = [
        ("Komodita", COMMODITIES[document.commodity]),
        (f"Odběrné místo ({code_name})", document.opm_code),
        ("Adresa odběrného místa", ", ".join(address_lines(document.supply_address))),
        ("Zúčtovací období", period_text(document).removeprefix("období ")),
    ]
    if document.original is not None:
        original = document.original
        rows.append(("Opravovaný doklad", f"{original.number} ze dne {czech_date(original.issue_date)}"))
        rows.append(("Důvod opravy", original.reason))
    if document.note:
        rows.append(("Poznámka", document.note))
    _key_values(pdf, PAGE_MARGIN_MM, rows, label_mm=48.0)
    pdf.ln(3)


def _render_payment(pdf: FPDF, document: InvoiceDocument) -> None:
    balance = document.settlement.balance
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, "B", HEADING_PT - 2)
    if balance > 0:
        # The amount due stays on the page of its payment details and QR code.
        if pdf.will_page_break(PAYMENT_HEADING_MM + QR_SIZE_MM + 4):
            pdf.add_page()
        pdf.cell(0, PAYMENT_HEADING_MM, f"K úhradě: {money(balance)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif balance < 0:
        pdf.cell(0, 7, f"Přeplatek: {money(-balance)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT_FAMILY, "", BODY_PT)
        refund = "Přeplatek vám vrátíme do data splatnosti na účet, který u nás máte uveden."
        pdf.multi_cell(0, LINE_MM, refund, align="L")
        return
    else:
        pdf.cell(0, 7, "Nic k úhradě: doklad je uhrazen.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    top_mm = pdf.get_y() + 1
    account = document.supplier.bank_account
    number, bank_code = domestic_account(account)
    rows = [
        ("Číslo účtu", f"{number}/{bank_code}" if bank_code else number),
        ("IBAN", account.iban),
        ("BIC", account.bic),
        ("Variabilní symbol", document.variable_symbol),
        ("Částka", money(balance)),
        ("Splatnost", czech_date(document.due_date)),
    ]
    pdf.set_y(top_mm)
    _key_values(pdf, PAGE_MARGIN_MM, rows)
    png = qr_image(payment_spayd(document), "png")
    pdf.image(io.BytesIO(png), x=pdf.w - PAGE_MARGIN_MM - QR_SIZE_MM, y=top_mm, w=QR_SIZE_MM, h=QR_SIZE_MM)
    pdf.set_xy(pdf.w - PAGE_MARGIN_MM - QR_SIZE_MM, top_mm + QR_SIZE_MM)
    pdf.set_font(FONT_FAMILY, "", SMALL_PT)
    pdf.cell(QR_SIZE_MM, 4, "QR Platba", align="C")
