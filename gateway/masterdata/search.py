"""Back-office search: customers by name, IČO, customer number, OPM code, VS or address.

Every filter narrows the customers found (they combine with AND); ``q`` matches whatever it may mean — a
customer number, an 18-digit EAN or 16-character EIC, an 8-digit IČO, a VS, else a name or an address. Text
is compared folded (lower case, no diacritics), so "dvorak" finds "Dvořák". Results are paged by
``limit``/``offset`` in customer-number order, with the total for the pager.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.service_base import fold

#: Results one page holds at most.
SEARCH_PAGE_MAX: Final = 200
#: Shortest text searched as a substring: shorter ones match too much to be useful.
TEXT_CHARS_MIN: Final = 2
_LIKE_SPECIALS = re.compile(r"([\\%_])")


class CustomerHit(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    name: str
    kind: str
    segment: str
    ico: str | None


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    hits: list[CustomerHit]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str | None = None
    name: str | None = None
    ico: str | None = None
    number: str | None = None
    code: str | None = None  # OPM EAN or EIC
    vs: str | None = None
    address: str | None = None

    def readings(self) -> list[SearchQuery]:
        """What ``q`` may mean, each as the filter it would be: a customer number always; an EAN or EIC,
        an IČO (8 digits), a VS (up to 10 digits) when it has their form; else a name or an address."""
        if not self.q:
            return []
        text = "".join(self.q.split())
        readings = [SearchQuery(number=text.upper())]
        if re.fullmatch(r"[0-9]{18}", text) or re.fullmatch(r"[0-9]{2}Z[0-9A-Z]{13}", text.upper()):
            readings.append(SearchQuery(code=text.upper()))
        if re.fullmatch(r"[0-9]{8}", text):
            readings.append(SearchQuery(ico=text))
        if re.fullmatch(r"[0-9]{1,10}", text):
            readings.append(SearchQuery(vs=text))
        if not text.isdigit() and len(fold(self.q).strip()) >= TEXT_CHARS_MIN:
            readings += [SearchQuery(name=self.q), SearchQuery(address=self.q)]
        return readings


def _contains(column: sa.ColumnElement[Any], field: str, text: str) -> sa.ColumnElement[bool]:
    folded = fold(text).strip()
    if len(folded) < TEXT_CHARS_MIN:
        raise InvalidField(field, text, f"needs at least {TEXT_CHARS_MIN} characters")
    pattern = "%" + _LIKE_SPECIALS.sub(r"\\\1", folded) + "%"
    return column.like(pattern, escape="\\")


def _filters(query: SearchQuery) -> list[sa.ColumnElement[bool]]:
    c = t.customer.c
    filters: list[sa.ColumnElement[bool]] = []
    if query.name:
        filters.append(_contains(c.search_name, "name", query.name))
    if query.ico:
        filters.append(c.ico == "".join(query.ico.split()).zfill(8))
    if query.number:
        filters.append(c.number == query.number.strip())
    if query.vs:
        vs = "".join(query.vs.split())
        filters.append(c.id.in_(sa.select(t.account.c.customer_id).where(t.account.c.variable_symbol == vs)))
    if query.code:
        code = "".join(query.code.split()).upper()
        opm_ids = sa.select(t.opm.c.id).where(t.opm.c.code == code)
        filters.append(c.id.in_(sa.select(t.contract.c.customer_id).where(t.contract.c.opm_id.in_(opm_ids))))
    if query.address:
        matching = sa.select(t.address.c.customer_id, t.address.c.opm_id).where(
            _contains(t.address.c.search_text, "address", query.address)
        ).subquery()
        supplied = sa.select(t.contract.c.customer_id).where(
            t.contract.c.opm_id.in_(sa.select(matching.c.opm_id).where(matching.c.opm_id.is_not(None)))
        )
        filters.append(sa.or_(
            c.id.in_(sa.select(matching.c.customer_id).where(matching.c.customer_id.is_not(None))),
            c.id.in_(supplied),
        ))
    return filters


def _name(row: Any) -> str:
    if row.kind == "company":
        return str(row.company_name)
    return f"{row.first_name} {row.last_name}"


async def search_customers(
    conn: AsyncConnection, query: SearchQuery, *, limit: int = 50, offset: int = 0
) -> SearchPage:
    if not 1 <= limit <= SEARCH_PAGE_MAX:
        raise InvalidField("limit", limit, f"expected 1 to {SEARCH_PAGE_MAX}")
    if offset < 0:
        raise InvalidField("offset", offset, "must not be negative")
    filters = _filters(query)
    readings = query.readings()
    if readings:
        filters.append(sa.or_(*(sa.and_(*_filters(reading)) for reading in readings)))
    if not filters:
        raise InvalidField("q", None, "give q or at least one of name, ico, number, code, vs, address")
    where = sa.and_(*filters)
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(t.customer).where(where)) or 0)
    rows = await conn.execute(
        sa.select(t.customer).where(where).order_by(t.customer.c.number).limit(limit).offset(offset)
    )
    hits = [
        CustomerHit(number=row.number, name=_name(row), kind=row.kind, segment=row.segment, ico=row.ico)
        for row in rows
    ]
    return SearchPage(hits=hits, total=total, limit=limit, offset=offset)
