"""The invoice PDF's tables: lines, VAT recap, totals and paid advances (fixed column widths, A4 portrait)."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from gateway.billing.invoices.document import deposit_totals
from gateway.billing.invoices.texts import czech_date, grouped, money, percent, price, quantity, unit_text
from schemas.billing.invoice import InvoiceDocument, TaxedDeposit

FONT_FAMILY: Final = "DejaVuSans"
LINE_MM: Final = 4.6
ROW_MM: Final = 4.6
TABLE_PT: Final = 8.0
HEADING_PT: Final = 10.0
RULE_GREY: Final = 190
#: Column widths of the lines table (mm), 180 mm in all: item, period, quantity, unit, price, base, VAT %.
LINE_COLUMNS_MM: Final = (62.0, 36.0, 18.0, 12.0, 20.0, 22.0, 10.0)
RECAP_COLUMNS_MM: Final = (30.0, 40.0, 40.0, 40.0)
ADVANCE_COLUMNS_MM: Final = (40.0, 30.0, 30.0, 45.0, 35.0)
#: Alignment of the columns after the first (which wraps, left-aligned): numbers right, text left.
LINE_ALIGNS: Final = "LRLRRR"
RECAP_ALIGNS: Final = "RRR"
ADVANCE_ALIGNS: Final = "RRLR"

assert sum(LINE_COLUMNS_MM) == 180.0


def heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, "B", HEADING_PT)
    pdf.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def row(pdf: FPDF, widths: tuple[float, ...], aligns: str, cells: list[str], *, bold: bool = False) -> None:
    """One table row: the first column wraps, the others are single lines aligned as ``aligns`` says."""
    pdf.set_font(FONT_FAMILY, "B" if bold else "", TABLE_PT)
    lines = pdf.multi_cell(widths[0], LINE_MM, cells[0], align="L", dry_run=True, output="LINES")
    assert isinstance(lines, list)
    height = max(ROW_MM, LINE_MM * len(lines))
    if pdf.will_page_break(height):
        pdf.add_page()
    top_mm, left_mm = pdf.get_y(), pdf.get_x()
    pdf.multi_cell(widths[0], LINE_MM, cells[0], align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
    for width, align, text in zip(widths[1:], aligns, cells[1:], strict=True):
        pdf.cell(width, ROW_MM, text, align=align)
    pdf.set_xy(left_mm, top_mm + height)
    pdf.set_draw_color(RULE_GREY)
    pdf.line(left_mm, pdf.get_y(), left_mm + sum(widths), pdf.get_y())


def render_lines(pdf: FPDF, document: InvoiceDocument) -> None:
    heading(pdf, "Rozpis dodávky a distribuce")
    header = ["Položka", "Období", "Množství", "Jedn.", "Cena/jedn.", "Základ (Kč)", "DPH"]
    row(pdf, LINE_COLUMNS_MM, LINE_ALIGNS, header, bold=True)
    for line in document.settlement.lines:
        period = f"{czech_date(line.period_from)}–{czech_date(line.period_to)}"
        cells = [
            line.text, period, quantity(line.quantity), unit_text(line.unit), price(line.unit_price),
            grouped(line.amount), percent(line.vat_rate),
        ]
        row(pdf, LINE_COLUMNS_MM, LINE_ALIGNS, cells)


def render_vat_recap(pdf: FPDF, document: InvoiceDocument) -> None:
    heading(pdf, "Rekapitulace DPH")
    row(pdf, RECAP_COLUMNS_MM, RECAP_ALIGNS, ["Sazba", "Základ (Kč)", "DPH (Kč)", "Celkem (Kč)"], bold=True)
    for recap in document.settlement.vat:
        total = recap.base + recap.vat
        cells = [percent(recap.rate), grouped(recap.base), grouped(recap.vat), grouped(total)]
        row(pdf, RECAP_COLUMNS_MM, RECAP_ALIGNS, cells)


def render_totals(pdf: FPDF, document: InvoiceDocument) -> None:
    settlement = document.settlement
    pdf.ln(2)
    rows = [
        ("Celkem bez DPH", settlement.total_base, False),
        ("DPH", settlement.total_vat, False),
        ("Celkem s DPH", settlement.total, True),
    ]
    for label, value, bold in rows:
        pdf.set_font(FONT_FAMILY, "B" if bold else "", HEADING_PT if bold else TABLE_PT + 1)
        pdf.cell(130, ROW_MM + 0.5, label, align="R")
        pdf.cell(50, ROW_MM + 0.5, money(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_advances(pdf: FPDF, document: InvoiceDocument) -> None:
    if not document.deposits:
        return
    heading(pdf, "Zaplacené zálohy")
    header = ["Doklad", "Var. symbol", "Zaplaceno", "Daňový doklad (DPH)", "Částka (Kč)"]
    row(pdf, ADVANCE_COLUMNS_MM, ADVANCE_ALIGNS, header, bold=True)
    for deposit in document.deposits:
        taxed = (
            f"ano, {percent(deposit.vat_rate)}: {grouped(deposit.vat)}"
            if isinstance(deposit, TaxedDeposit)
            else "ne"
        )
        cells = [
            deposit.document_number, deposit.variable_symbol, czech_date(deposit.paid_on), taxed,
            grouped(deposit.amount),
        ]
        row(pdf, ADVANCE_COLUMNS_MM, ADVANCE_ALIGNS, cells)
    totals = deposit_totals(document)
    pdf.set_font(FONT_FAMILY, "", TABLE_PT + 1)
    pdf.cell(130, ROW_MM + 0.5, "Zaplacené zálohy celkem", align="R")
    pdf.cell(50, ROW_MM + 0.5, money(-document.settlement.advances_paid), align="R", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    if totals.taxed_vat:
        claimed = sum(totals.taxed_vat.values(), Decimal("0"))
        pdf.cell(130, ROW_MM + 0.5, "z toho DPH již přiznaná na daňových dokladech k zálohám", align="R")
        pdf.cell(50, ROW_MM + 0.5, money(claimed), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
