"""``/api/accounts``: contract accounts (smluvní účty), created, read and changed by variable symbol."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.masterdata.common import read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.masterdata.accounts import create_account, get_account, update_account
from schemas.masterdata.accounts import Account, AccountIn, AccountPatch

api = ApiRoutes(
    tag="accounts", description="Contract accounts by variable symbol: payment, billing, delivery.",
)

VS = PathParam("vs", str, "the account's variable symbol")


@api.post(
    "/api/accounts", summary="Create a contract account of a customer",
    request=AccountIn, response=Account, status=201, errors=[409, 413],
)
async def create(request: web.Request) -> Account:
    """Without ``variable_symbol`` proud assigns the next free one; one that is taken answers 409. IBAN,
    SIPO number, VS and PSČ are checked; a refused request stores nothing (422)."""
    body = await read_json(request, AccountIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Account:
        return await create_account(conn, who, now, body)

    return await write(request, "creating an account", operation)


@api.get("/api/accounts/{vs}", summary="One contract account", response=Account, path_params=[VS])
async def show(request: web.Request) -> Account:
    variable_symbol = request.match_info["vs"]

    async def operation(conn: AsyncConnection) -> Account:
        return await get_account(conn, variable_symbol)

    return await read(request, "reading an account", operation)


@api.patch(
    "/api/accounts/{vs}", summary="Change a contract account: the fields given, at the version read",
    request=AccountPatch, response=Account, path_params=[VS], errors=[409, 413],
)
async def change(request: web.Request) -> Account:
    """Fields left out stay as they are; a ``version`` other than the stored one answers 409."""
    variable_symbol = request.match_info["vs"]
    patch = await read_json(request, AccountPatch)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Account:
        return await update_account(conn, who, now, variable_symbol, patch)

    return await write(request, "changing an account", operation)
