"""Czech wording and number formats shared by the PDF, the ISDOC note and the QR message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

from schemas.billing.invoice import InvoiceDocument

NBSP: Final = "\u00a0"
TITLES: Final[dict[str, str]] = {
    "settlement": "Vyúčtování dodávky – faktura, daňový doklad",
    "credit_note": "Opravný daňový doklad (dobropis)",
    "advance_request": "Zálohová faktura – výzva k platbě (není daňový doklad)",
    "advance_tax_document": "Daňový doklad k přijaté platbě",
}
COMMODITIES: Final[dict[str, str]] = {"electricity": "elektřina", "gas": "zemní plyn"}
UNITS: Final[dict[str, str]] = {"month": "měs.", "day": "den", "CZK": "Kč", "m3": "m³"}


def document_title(document: InvoiceDocument) -> str:
    return TITLES[document.kind]


def czech_date(day: dt.date) -> str:
    """``d. m. yyyy`` (ČSN 01 6910), non-breaking spaces so that a date never breaks."""
    return f"{day.day}.{NBSP}{day.month}.{NBSP}{day.year}"


def period_text(document: InvoiceDocument) -> str:
    return f"období {czech_date(document.period_from)} – {czech_date(document.period_to)}"


def grouped(value: Decimal, decimals: int = 2) -> str:
    """``-1 234,50``: Czech decimal comma, thousands grouped by non-breaking spaces, fixed decimals."""
    quantum = Decimal(1).scaleb(-decimals)
    text = f"{abs(value.quantize(quantum)):,f}".replace(",", NBSP).replace(".", ",")
    return f"-{text}" if value < 0 else text


def money(value: Decimal) -> str:
    return f"{grouped(value)}{NBSP}Kč"


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def quantity(value: Decimal) -> str:
    """A quantity with the decimals the calculator gave it (``2,100`` MWh stays three decimals)."""
    return grouped(value, _decimals(value))


def price(value: Decimal) -> str:
    """A unit price: at least two decimals, more where the price list has them."""
    return grouped(value, max(2, _decimals(value)))


def plain(value: Decimal) -> str:
    """A number without trailing zeros: ``10908.000`` and ``10004`` print alike (``10 908``, ``10 004``), a
    fraction only where there is one."""
    return grouped(value, _decimals(value.normalize()))


def percent(value: Decimal) -> str:
    return f"{plain(value)}{NBSP}%"


def unit_text(unit: str) -> str:
    return UNITS.get(unit, unit)
