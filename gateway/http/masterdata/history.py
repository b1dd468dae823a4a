"""``GET /api/{objects}/{key}/history`` for accounts, OPMs, contracts, activities and documents: who changed
what, when, before and after (customers have theirs in ``customers``). Every object has at least its
"created" change, so no recorded change means no such object: 404."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import as_utc
from gateway.errors import NotFound
from gateway.http.masterdata.common import (
    HISTORY_LIMIT,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    int_param,
    read,
)
from gateway.http.openapi import ApiHandler, ApiRoutes, PathParam
from gateway.masterdata import audit
from schemas.masterdata.events import Entity
from schemas.masterdata.views import ChangeEntry, ChangeHistory

api = ApiRoutes(tag="history", description="The audited changes of one object, newest first.")


async def changes(request: web.Request, entity: Entity, key: str) -> ChangeHistory:
    limit = int_param(request, "limit", HISTORY_LIMIT_DEFAULT, 1, HISTORY_LIMIT_MAX)

    async def operation(conn: AsyncConnection) -> ChangeHistory:
        rows = await audit.history(conn, entity, key, limit)
        if not rows:
            raise NotFound(f"{entity} {key!r} does not exist")
        entries = [ChangeEntry(**{**row, "at": as_utc(row["at"])}) for row in rows]
        return ChangeHistory(entity=entity, key=key, changes=entries, limit=limit)

    return await read(request, f"reading the history of {entity} {key}", operation)


def _declare(path: str, entity: Entity, param: str, description: str) -> None:
    async def handler(request: web.Request) -> ChangeHistory:
        return await changes(request, entity, request.match_info[param])

    handler.__name__ = f"{entity}_history"
    declared: ApiHandler = api.get(
        path, summary=f"The changes of one {entity}, newest first: who, when, before, after",
        response=ChangeHistory, path_params=[PathParam(param, str, description)], query=[HISTORY_LIMIT],
    )(handler)
    assert declared is handler


_declare("/api/accounts/{vs}/history", "account", "vs", "the account's variable symbol")
_declare("/api/opm/{code}/history", "opm", "code", "the OPM's EAN or EIC")
_declare("/api/contracts/{number}/history", "contract", "number", "the contract number")
_declare("/api/activities/{id}/history", "activity", "id", "the activity id")
_declare("/api/documents/{id}/history", "document", "id", "the document id")
