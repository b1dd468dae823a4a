"""``/api/contracts``: supply contracts by number, read as of a day, amended from an effective date and
terminated by withdrawal or notice."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.masterdata.common import AS_OF, as_of, read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.masterdata.contracts import amend_contract, create_contract, get_contract, terminate_contract
from schemas.masterdata.contracts import Amendment, Contract, ContractIn, Termination

api = ApiRoutes(
    tag="contracts",
    description="Supply contracts: one OPM, billed into one account; terms by effective date.",
)

NUMBER = PathParam("number", str, "the contract number")


@api.post(
    "/api/contracts", summary="Record a signed contract and reserve its supply period at the OPM",
    request=ContractIn, response=Contract, status=201, errors=[409, 413],
)
async def create(request: web.Request) -> Contract:
    """Customer, account (its VS) and OPM must exist and belong together (422 otherwise). Another contract
    supplying the OPM on any day of this one answers 409, as does a number that is taken."""
    body = await read_json(request, ContractIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Contract:
        return await create_contract(conn, who, now, body)

    return await write(request, "creating a contract", operation)


@api.get(
    "/api/contracts/{number}", summary="One contract with its status and terms on a day",
    response=Contract, path_params=[NUMBER], query=[AS_OF],
)
async def show(request: web.Request) -> Contract:
    """``status`` and ``terms`` are those of ``as_of``; ``versions`` lists every version of the terms."""
    number, day = request.match_info["number"], as_of(request)

    async def operation(conn: AsyncConnection) -> Contract:
        return await get_contract(conn, number, day)

    return await read(request, "reading a contract", operation)


@api.post(
    "/api/contracts/{number}/amendments", summary="Change the terms from effective_from on",
    request=Amendment, response=Contract, path_params=[NUMBER], errors=[409, 413],
)
async def amend(request: web.Request) -> Contract:
    """Fields left out carry over; an amendment of the latest version's day replaces it. The answer shows
    the contract as of ``effective_from``; a withdrawn or ended contract answers 409."""
    number = request.match_info["number"]
    body = await read_json(request, Amendment)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Contract:
        return await amend_contract(conn, who, now, number, body)

    return await write(request, "amending a contract", operation)


@api.post(
    "/api/contracts/{number}/termination", summary="End a contract: withdrawal or notice",
    request=Termination, response=Contract, path_params=[NUMBER], errors=[409, 413],
)
async def terminate(request: web.Request) -> Contract:
    """Withdrawal within the statutory period, or notice (supply ends no earlier than the notice period
    allows). A contract ended already answers 409."""
    number = request.match_info["number"]
    body = await read_json(request, Termination)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Contract:
        return await terminate_contract(conn, who, now, number, body)

    return await write(request, "terminating a contract", operation)
