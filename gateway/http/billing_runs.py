"""``/api/billing/runs``: where the mass billing runs stand (``proud billing run`` starts them).

A run's progress is read from its items, the orders' ``billing_order`` instances, the invoices and the dead
letters (``gateway.billing.run_progress``): a few grouped queries, cheap enough to poll.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.run_progress import RunProgress, run_progress, runs
from gateway.http.masterdata.common import read
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.http.views import parse_limit

api = ApiRoutes(tag="billing-runs", description="Mass billing runs: progress and summary.")

RUN = PathParam("run", str, "the run id: 2026-01, or 2026-01@<dso> for one DSO's OPMs")
RUNS_LISTED_DEFAULT: Final = 20
RUNS_LISTED_MAX: Final = 200


class RunList(msgspec.Struct, frozen=True, kw_only=True):
    runs: list[str]  # the newest first


@api.get(
    "/api/billing/runs", summary="The newest mass billing runs", response=RunList,
    query=[QueryParam("limit", Annotated[int, msgspec.Meta(ge=1, le=RUNS_LISTED_MAX)], "at most N",
                      default=RUNS_LISTED_DEFAULT)],
)
async def list_runs(request: web.Request) -> RunList:
    limit = parse_limit(request.query.get("limit", str(RUNS_LISTED_DEFAULT)), RUNS_LISTED_MAX)

    async def operation(conn: AsyncConnection) -> RunList:
        return RunList(runs=await runs(conn, limit))

    return await read(request, "listing billing runs", operation)


@api.get(
    "/api/billing/runs/{run}", summary="A run's orders by state, outsorted by check, money billed",
    response=RunProgress, path_params=[RUN], errors=[404],
)
async def get_run(request: web.Request) -> RunProgress:
    run = request.match_info["run"]

    async def operation(conn: AsyncConnection) -> RunProgress:
        return await run_progress(conn, run)

    return await read(request, "reading a billing run", operation)
