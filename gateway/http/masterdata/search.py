"""``GET /api/customers``: the back office's search; ``GET /api/customers/{number}/360``: one customer with
everything about it as of a day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

import msgspec
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.masterdata.common import AS_OF, as_of, int_param, read
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.masterdata.accounts import accounts_of
from gateway.masterdata.activities import activities_about
from gateway.masterdata.contracts import contracts_of_customer
from gateway.masterdata.customers import get_customer
from gateway.masterdata.documents import documents_about
from gateway.masterdata.opm import get_opm
from gateway.masterdata.search import SEARCH_PAGE_MAX, SearchPage, SearchQuery, search_customers
from schemas.masterdata.activities import EntityKind
from schemas.masterdata.views import Customer360

api = ApiRoutes(
    tag="search",
    description="Finding customers (by name, IČO, number, OPM code, VS, address) and the customer-360 view.",
)

#: Hits one page holds when the caller names no limit.
SEARCH_LIMIT_DEFAULT: Final = 50
#: Deepest page offset: paging further than this through one search is a sign to narrow the search, and
#: each deeper page costs the database more.
SEARCH_OFFSET_MAX: Final = 100_000
_TEXT_FILTERS: Final = ("q", "name", "ico", "number", "code", "vs", "address")

SEARCH_QUERY: Final = [
    QueryParam("q", str, "anything: an 18-digit EAN or an EIC, an IČO, a VS, else a name"),
    QueryParam("name", str, "part of the name; without diacritics finds it with them (dvorak: Dvořák)"),
    QueryParam("ico", str, "IČO, exactly"),
    QueryParam("number", str, "customer number, exactly"),
    QueryParam("code", str, "EAN or EIC of an OPM the customer has (had) a contract for"),
    QueryParam("vs", str, "variable symbol of one of the customer's accounts"),
    QueryParam("address", str, "part of a customer's or supply address (street, number, city, PSČ)"),
    QueryParam(
        "limit", Annotated[int, msgspec.Meta(ge=1, le=SEARCH_PAGE_MAX)], "hits per page",
        default=SEARCH_LIMIT_DEFAULT,
    ),
    QueryParam(
        "offset", Annotated[int, msgspec.Meta(ge=0, le=SEARCH_OFFSET_MAX)], "hits to skip", default=0,
    ),
]


@api.get(
    "/api/customers", summary="Search customers; filters combine (AND), pages in customer-number order",
    response=SearchPage, query=SEARCH_QUERY, errors=[422],
)
async def search(request: web.Request) -> SearchPage:
    """Give ``q`` or at least one filter (422 otherwise); text is compared without case and diacritics.
    ``total`` counts every hit, for the pager."""
    texts = {name: request.query.get(name) or None for name in _TEXT_FILTERS}
    query = SearchQuery(**texts)
    limit = int_param(request, "limit", SEARCH_LIMIT_DEFAULT, 1, SEARCH_PAGE_MAX)
    offset = int_param(request, "offset", 0, 0, SEARCH_OFFSET_MAX)

    async def operation(conn: AsyncConnection) -> SearchPage:
        return await search_customers(conn, query, limit=limit, offset=offset)

    return await read(request, "searching customers", operation)


@api.get(
    "/api/customers/{number}/360",
    summary="One customer as of a day: accounts, contracts, their OPMs, activities, documents",
    response=Customer360, path_params=[PathParam("number", str, "the customer number")], query=[AS_OF],
)
async def customer_360(request: web.Request) -> Customer360:
    """Contracts show the terms and status in force on ``as_of``, OPMs the technical data then; activities
    and documents are those about the customer or any of its accounts, contracts and OPMs."""
    number = request.match_info["number"]
    day = as_of(request)

    async def operation(conn: AsyncConnection) -> Customer360:
        return await _compose(conn, number, day)

    return await read(request, "reading a customer's 360 view", operation)


async def _compose(conn: AsyncConnection, number: str, day: dt.date) -> Customer360:
    customer = await get_customer(conn, number)
    accounts = await accounts_of(conn, customer.id)
    contracts = await contracts_of_customer(conn, customer.id, day)
    codes = list(dict.fromkeys(contract.opm for contract in contracts))  # in contract order, once each
    opms = [await get_opm(conn, code, day) for code in codes]
    refs: list[tuple[EntityKind, str]] = [("customer", customer.number)]
    refs += [("account", account.variable_symbol) for account in accounts]
    refs += [("contract", contract.number) for contract in contracts]
    refs += [("opm", code) for code in codes]
    return Customer360(
        as_of=day, customer=customer, accounts=accounts, contracts=contracts, opms=opms,
        activities=await activities_about(conn, refs), documents=await documents_about(conn, refs),
    )
