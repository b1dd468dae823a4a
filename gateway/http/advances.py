"""``/api/accounts/{vs}/advances``: an account's advance schedules, and regenerating them
(gateway/billing/advances, docs/billing.md "Advances (zálohy)")."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.mass import regenerate
from gateway.billing.advances.schedules import Options
from gateway.billing.advances.views import account_advances
from gateway.http.billing import PRICES_SUBDIRECTORY
from gateway.http.keys import DAEMON
from gateway.http.masterdata.common import read, read_json
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.store.db import translate_errors
from schemas.billing.advances import AccountAdvances, RegenerateIn, RegenerationSummary

api = ApiRoutes(tag="advances", description="Advances (zálohy): schedules of a contract account's contracts.")

VS = PathParam("vs", str, "the account's variable symbol")


@api.get(
    "/api/accounts/{vs}/advances", summary="The advance schedules of an account's contracts",
    response=AccountAdvances, path_params=[VS],
)
async def advances(request: web.Request) -> AccountAdvances:
    """Every schedule of the account's contracts with its instalments: active ones first, then the
    superseded ones, newest version first. Amounts are decimal strings."""
    variable_symbol = request.match_info["vs"]

    async def operation(conn: AsyncConnection) -> AccountAdvances:
        return await account_advances(conn, variable_symbol)

    return await read(request, "reading advances", operation)


@api.post(
    "/api/accounts/{vs}/advances/regenerate", summary="Regenerate the advance schedules of an account",
    request=RegenerateIn, response=RegenerationSummary, path_params=[VS], errors=[413],
)
async def regenerate_account(request: web.Request) -> RegenerationSummary:
    """Prices the next 12 months of each active contract of the account and writes a new schedule where the
    amount, frequency, price list or consumption changed (unchanged contracts keep theirs, so repeating the
    request changes nothing). Contracts that cannot be priced are listed with the field that stopped them."""
    variable_symbol = request.match_info["vs"]
    body = await read_json(request, RegenerateIn)
    daemon = request.app[DAEMON]
    options = Options(
        prices_root=Path(daemon.settings.rules_dir) / PRICES_SUBDIRECTORY, price_list=body.price_list,
        frequency=body.frequency, reason=body.reason,
    )
    with translate_errors("regenerating advances"):
        return await regenerate(daemon.engine, daemon.clock, options, variable_symbol=variable_symbol)
