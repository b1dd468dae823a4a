"""The supplier's product over a quote's period: ``product`` from the first day, then each of the optional
``product_changes`` from its ``valid_from`` (a customer moved to another product of the same supplier on
1 July, without a meter reading).

A product change is priced like a price change: the commodity and the supply fee take each part's product's
prices, the consumption is shared to the parts as the product shares it (by days or by the TDD weights).
So the products of one period must share consumption alike (``split_by_tdd``): a change that would alter
it is refused, naming it, and the parts are billed separately. Rounding the bill to whole CZK is the bill's,
not a part's: the product of the period's last day decides it (``quote``). Nothing else of a
quote depends on the product.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from gateway.billing.price_files import Product
from gateway.billing.prices import PriceList
from gateway.billing.split import bill_separately, part_ends
from gateway.errors import InvalidField
from schemas.billing.settlement import QuoteRequest

#: Product changes in one quote at most: one a month over the longest period (as ``OPM_CHANGES_MAX``).
PRODUCT_CHANGES_MAX: Final = 36


class ProductPart:
    """``product`` in force from ``start`` to ``end`` (both inclusive)."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, start: dt.date, end: dt.date, product: Product) -> None:
        self.start: Final = start
        self.end: Final = end
        self.product: Final = product


def product_parts(request: QuoteRequest, price_list: PriceList) -> list[ProductPart]:
    """The products' parts over the period, oldest first; ``InvalidField`` naming the change."""
    first = known_product(price_list, request.product, request.commodity, "product")
    changes = request.product_changes or []
    if len(changes) > PRODUCT_CHANGES_MAX:
        raise InvalidField("product_changes", len(changes), f"at most {PRODUCT_CHANGES_MAX} changes")
    starts = [request.period_from]
    products = [first]
    for index, change in enumerate(changes):
        field = f"product_changes[{index}]"
        day = change.valid_from
        if not request.period_from < day <= request.period_to:
            reason = (f"must be inside the period, after its first day ({request.period_from} … "
                      f"{request.period_to}): the product of the first day is product")
            raise InvalidField(f"{field}.valid_from", str(day), reason)
        if day <= starts[-1]:
            reason = f"must be after the previous change's {starts[-1]}"
            raise InvalidField(f"{field}.valid_from", str(day), reason)
        product = known_product(price_list, change.product, request.commodity, f"{field}.product")
        if product.split_by_tdd != first.split_by_tdd:
            reason = (f"split_by_tdd differs from {first.code}'s: the parts would share consumption "
                      f"differently; {bill_separately(request.period_from, day, request.period_to)}")
            raise InvalidField(f"{field}.product", change.product, reason)
        starts.append(day)
        products.append(product)
    parts = zip(starts, part_ends(starts, request.period_to), products, strict=True)
    return [ProductPart(start, end, product) for start, end, product in parts]


def known_product(price_list: PriceList, code: str, commodity: str, field: str) -> Product:
    """The list's product ``code`` of ``commodity``, else ``InvalidField`` on ``field``."""
    product = price_list.products.get(code)
    if product is None or product.commodity != commodity:
        reason = f"is not a {commodity} product of {price_list.id} ({', '.join(price_list.products)})"
        raise InvalidField(field, code, reason)
    return product
