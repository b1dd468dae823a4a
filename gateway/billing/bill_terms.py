"""The contract's terms over a billed period, and the products they name.

A terms change inside the period that only moves the customer to another product (same account) is billed
in one bill: the quote is given a ``product_changes`` entry from the day of the change (``products_over``),
priced like a price change, the consumption shared to the parts as the product shares it. What cannot be
one bill is refused, naming the day and the two periods to bill instead (``InvalidField`` on
``period_to``): another contract account (another payer and variable symbol), or products that share
consumption differently (one by days, the other by TDD weights).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Final

from gateway.billing.price_files import Product
from gateway.billing.prices import PriceList
from gateway.billing.split import bill_separately
from gateway.errors import InvalidField
from schemas.billing.settlement import ProductChange
from schemas.masterdata.contracts import Contract, Terms

_ONE_DAY: Final = dt.timedelta(days=1)


def terms_over(contract: Contract, period_from: dt.date, period_to: dt.date) -> tuple[Terms, ...]:
    """The terms versions in force over the period, oldest first, all of one account, else
    ``InvalidField`` saying where to cut; a period the previous billing system billed (up to
    ``billed_until``) is not billed again."""
    if contract.billed_until is not None and period_from <= contract.billed_until:
        reason = (f"contract {contract.number} was billed up to {contract.billed_until} by the previous "
                  f"billing system: bill from {contract.billed_until + _ONE_DAY}")
        raise InvalidField("period_from", period_from.isoformat(), reason)
    overlapping = [
        terms for terms in contract.versions if terms.effective_from <= period_to
        and (terms.effective_to is None or terms.effective_to >= period_from)
    ]
    if not overlapping:
        reason = f"the period ends before contract {contract.number} starts ({contract.valid_from})"
        raise InvalidField("period_to", period_to.isoformat(), reason)
    for before, after in itertools.pairwise(overlapping):
        if after.account != before.account:
            change = after.effective_from
            reason = (
                f"the contract account of contract {contract.number} changes on {change} (version "
                f"{after.version}, {before.account} to {after.account}): "
                f"{bill_separately(period_from, change, period_to)}"
            )
            raise InvalidField("period_to", period_to.isoformat(), reason)
    return tuple(overlapping)


def find_product(price_list: PriceList, product: str, commodity: str) -> Product | None:
    """The price-list product whose code or name is the contract's ``product`` (names without case)."""
    found = price_list.products.get(product)
    if found is None:
        wanted = product.strip().casefold()
        found = next((item for item in price_list.products.values() if item.name.casefold() == wanted), None)
    return found if found is not None and found.commodity == commodity else None


def products_over(
    price_list: PriceList, contract: Contract, terms: Sequence[Terms], period: tuple[dt.date, dt.date],
) -> tuple[Product | None, tuple[ProductChange, ...], list[str]]:
    """The product of the period's first day, a change for each later terms version naming another
    product, and the price problems of products the list does not know (the first one's is
    ``price_problems``'). ``InvalidField`` when a change would share consumption differently."""
    first = find_product(price_list, terms[0].product, contract.commodity)
    changes: list[ProductChange] = []
    problems: list[str] = []
    current = first
    for version in terms[1:]:
        product = find_product(price_list, version.product, contract.commodity)
        if product is None:
            problems.append(f"product {version.product!r} (from {version.effective_from}) is not an "
                            f"{contract.commodity} product of {price_list.id}")
            continue
        if current is not None and product.split_by_tdd != current.split_by_tdd:
            change = version.effective_from
            reason = (
                f"contract {contract.number} changes on {change} from product {current.code} to "
                f"{product.code}, which share consumption differently (split_by_tdd): "
                f"{bill_separately(period[0], change, period[1])}"
            )
            raise InvalidField("period_to", period[1].isoformat(), reason)
        if current is None or product.code != current.code:
            changes.append(ProductChange(valid_from=version.effective_from, product=product.code))
        current = product
    return first, tuple(changes), problems
