"""``/api/customers``: create, read and change a customer by its number, and its change history.

Searching (``GET /api/customers``) and the customer-360 view live in ``search``.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.ares.client import AresLookup
from gateway.clock import as_utc
from gateway.errors import InvalidField, TransientError
from gateway.http.keys import DAEMON
from gateway.http.masterdata.common import (
    HISTORY_LIMIT,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    int_param,
    read,
    read_json,
    write,
)
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.masterdata import audit
from gateway.masterdata.ares import AresLookupFailed, AresLookupFn
from gateway.masterdata.customers import create_customer, get_customer, update_customer
from gateway.masterdata.identifiers import InvalidIdentifier, validate_ico
from schemas.masterdata.customers import Customer, CustomerIn, CustomerPatch
from schemas.masterdata.views import ChangeEntry, ChangeHistory

api = ApiRoutes(
    tag="customers",
    description="Customers (persons and companies) by customer number; their change history.",
)

NUMBER = PathParam("number", str, "the customer number")


@api.post(
    "/api/customers", summary="Create a customer (a company's fields from ARES with from_ares)",
    request=CustomerIn, response=Customer, status=201, errors=[409, 413],
)
async def create(request: web.Request) -> Customer:
    """Without ``number`` proud assigns the next free one; a number that is taken answers 409. Every
    identifier (IČO, DIČ, rodné číslo, PSČ) is checked; a refused request stores nothing (422)."""
    body = await read_json(request, CustomerIn)
    ares = await _asked_beforehand(request.app[DAEMON].ares_lookup, body)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Customer:
        return await create_customer(conn, who, now, body, ares)

    try:
        return await write(request, "creating a customer", operation)
    except AresLookupFailed as exc:
        if exc.retryable:
            raise TransientError(exc.message) from exc
        raise InvalidField("from_ares", True, exc.message) from exc


async def _asked_beforehand(ares: AresLookupFn | None, body: CustomerIn) -> AresLookupFn | None:
    """``ares`` with the answer for ``body.ico`` fetched now, before the transaction opens.

    The service asks ARES before its first statement, but inside our transaction: on SQLite that
    transaction holds the database's write lock from its start, so every writer would wait out a slow
    ARES (seconds). The answer, or the failure, is kept and replayed to the service, which judges it.
    """
    if ares is None or not body.from_ares or body.ico is None:
        return ares
    try:
        ico = validate_ico(body.ico)
    except InvalidIdentifier:
        return ares  # refused by the service before it asks ARES
    try:
        answer: AresLookup | BaseException = await ares(ico)
    except Exception as exc:  # replayed to the service, which translates ARES's failures
        answer = exc

    async def replay(asked: str) -> AresLookup:
        if asked != ico:
            return await ares(asked)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return replay


@api.get("/api/customers/{number}", summary="One customer", response=Customer, path_params=[NUMBER])
async def show(request: web.Request) -> Customer:
    number = request.match_info["number"]

    async def operation(conn: AsyncConnection) -> Customer:
        return await get_customer(conn, number)

    return await read(request, "reading a customer", operation)


@api.patch(
    "/api/customers/{number}", summary="Change a customer: the fields given, at the version read",
    request=CustomerPatch, response=Customer, path_params=[NUMBER], errors=[409, 413],
)
async def change(request: web.Request) -> Customer:
    """Fields left out stay as they are. ``version`` must be the one read: a change made meanwhile answers
    409 rather than being overwritten."""
    number = request.match_info["number"]
    patch = await read_json(request, CustomerPatch)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Customer:
        return await update_customer(conn, who, now, number, patch)

    return await write(request, "changing a customer", operation)


@api.get(
    "/api/customers/{number}/history", summary="A customer's changes, newest first: who, when, before, after",
    response=ChangeHistory, path_params=[NUMBER], query=[HISTORY_LIMIT],
)
async def history(request: web.Request) -> ChangeHistory:
    number = request.match_info["number"]
    limit = int_param(request, "limit", HISTORY_LIMIT_DEFAULT, 1, HISTORY_LIMIT_MAX)

    async def operation(conn: AsyncConnection) -> ChangeHistory:
        customer = await get_customer(conn, number)
        rows = await audit.history(conn, "customer", customer.number, limit)
        changes = [ChangeEntry(**{**row, "at": as_utc(row["at"])}) for row in rows]
        return ChangeHistory(entity="customer", key=number, changes=changes, limit=limit)

    return await read(request, "reading a customer's history", operation)
