"""Quote requests for the tests, against the bundled SAMPLE price list (rules/prices/sample-2026)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import msgspec

from gateway.billing.quote import decode_quote, quote
from schemas.billing.settlement import Settlement

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
PRICES: Final = REPO_ROOT / "rules" / "prices"

#: A line as the tests write it: code, from, to, quantity, unit, unit price, amount (all as text).
Row = tuple[str, str, str, str, str, str, str]


def electricity(**changes: Any) -> dict[str, Any]:
    """The issue's example: CEZ D02d 3 × 25 A, E-STANDARD, 2.1 MWh in 2026, 9,000 CZK paid."""
    request: dict[str, Any] = {
        "commodity": "electricity", "period_from": "2026-01-01", "period_to": "2026-12-31",
        "opm": {"dso": "CEZ", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25},
        "product": "E-STANDARD", "consumption": {"vt_mwh": "2.100", "nt_mwh": "0"},
        "advances_paid": "9000.00",
    }
    request.update(changes)
    return request


def gas(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "commodity": "gas", "period_from": "2026-01-01", "period_to": "2026-12-31",
        "opm": {"dso": "GASNET", "band": "7.56-15"}, "product": "G-STANDARD", "consumption": {"kwh": "12000"},
    }
    request.update(changes)
    return request


def settle(request: dict[str, Any]) -> Settlement:
    return quote(decode_quote(msgspec.json.encode(request)), PRICES)


def rows(settlement: Settlement) -> list[Row]:
    return [
        (line.code, str(line.period_from), str(line.period_to), str(line.quantity), line.unit,
         str(line.unit_price), str(line.amount))
        for line in settlement.lines
    ]
