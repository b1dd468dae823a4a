"""The rating plan cache (``gateway.billing.rating_plan``): a quote rated with a plan made for another
consumption of the same request is byte for byte the quote made from nothing, and the cache is bounded."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.billing import rating_plan
from gateway.billing.prices import load_price_list
from gateway.billing.quote import decode_quote, quote
from tests.billing.quote.support import PRICES
from tests.billing.quote.test_properties import _roots, prices_root, requests

__all__ = ["prices_root"]  # the fixture the strategy's lists live in


def _quote(request: dict[str, Any]) -> bytes:
    """The settlement's JSON: decimals as written, so that ``1.0`` and ``1.00`` differ."""
    root = _roots[-1]
    decoded = decode_quote(msgspec.json.encode(request))
    listed = load_price_list(root / (decoded.price_list or "sample-2026"))
    return msgspec.json.encode(quote(decoded, root, price_list=listed))


def _other_consumption(request: dict[str, Any], kwh: int) -> dict[str, Any]:
    if request["commodity"] == "gas":
        return {**request, "consumption": {"kwh": str(kwh)}}
    value = str(Decimal(kwh) / 1000)
    keys = request["consumption"].keys()
    return {**request, "consumption": dict.fromkeys(keys, value), "advances_paid": "12.50"}


@settings(max_examples=200, deadline=None)
@given(requests(), st.integers(0, 60_000))
def test_a_cached_plan_rates_as_a_fresh_one(request: dict[str, Any], kwh: int) -> None:
    listed = load_price_list(_roots[-1] / request.get("price_list", "sample-2026"))
    listed.plans.clear()
    fresh = _quote(request)
    assert len(listed.plans) == 1
    other = _other_consumption(request, kwh)
    listed.plans.clear()
    _quote(other)  # the plan is made for the other consumption …
    assert _quote(request) == fresh  # … and rates this one exactly as a plan of its own did
    assert len(listed.plans) == 1


def test_plans_are_kept_per_list_and_bounded(prices_root: Path) -> None:
    listed = load_price_list(PRICES / "sample-2026")
    listed.plans.clear()
    base = {"commodity": "electricity", "opm": {"dso": "CEZ", "rate": "D02d", "breaker_phases": 3},
            "product": "E-STANDARD", "consumption": {"mwh": "2.000"}}
    for amps, month in [(25, "01"), (25, "02"), (32, "01"), (25, "01")]:
        request = {**base, "period_from": f"2026-{month}-01", "period_to": f"2026-{month}-28",
                   "opm": {**base["opm"], "breaker_amps": amps}}  # type: ignore[dict-item]
        quote(decode_quote(msgspec.json.encode(request)), PRICES)
    assert len(listed.plans) == 3  # the fourth is the first again: no new plan
    kept = next(iter(listed.plans.values()))
    for n in range(rating_plan.PLANS_PER_LIST_MAX - len(listed.plans)):
        listed.plans[("another", n)] = kept
    request = {**base, "period_from": "2026-03-01", "period_to": "2026-03-31",
               "opm": {**base["opm"], "breaker_amps": 25}}  # type: ignore[dict-item]
    quote(decode_quote(msgspec.json.encode(request)), PRICES)
    assert len(listed.plans) == 1  # full: started over with the new one
