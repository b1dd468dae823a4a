"""``/api/activities``: calls, letters, visits and tasks about a customer, account, contract or OPM."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, get_args

import msgspec
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.masterdata.common import (
    choice_param,
    int_param,
    read,
    read_json,
    uuid_param,
    uuid_path,
    write,
)
from gateway.http.openapi import ApiRoutes, QueryParam
from gateway.http.views import BadParameter
from gateway.masterdata.activities import (
    ACTIVITIES_LIST_MAX,
    activities_about,
    create_activity,
    get_activity,
    update_activity,
)
from schemas.masterdata.activities import Activity, ActivityIn, ActivityPatch, EntityKind

api = ApiRoutes(
    tag="activities", description="Back-office activities about customers, accounts, contracts, OPMs.",
)

#: Activities one listing returns when the caller names no limit.
ACTIVITIES_LIMIT_DEFAULT: Final = 100
ENTITY_KINDS: Final[tuple[str, ...]] = get_args(EntityKind)
ACTIVITY_ID = uuid_path("id", "the activity's id")


@api.post(
    "/api/activities", summary="Record an activity about an object named by its natural key",
    request=ActivityIn, response=Activity, status=201, errors=[413],
)
async def create(request: web.Request) -> Activity:
    """``about`` must name an existing object (422 otherwise); an activity created ``done`` is stamped."""
    body = await read_json(request, ActivityIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Activity:
        return await create_activity(conn, who, now, body)

    return await write(request, "creating an activity", operation)


@api.get(
    "/api/activities", summary="Activities about one object: planned first by due date, then the newest",
    response=list[Activity],
    query=[
        QueryParam("entity", EntityKind, "the kind of object", required=True),
        QueryParam("key", str, "its natural key: customer number, VS, contract or OPM code", required=True),
        QueryParam(
            "limit", Annotated[int, msgspec.Meta(ge=1, le=ACTIVITIES_LIST_MAX)], "at most this many",
            default=ACTIVITIES_LIMIT_DEFAULT,
        ),
    ],
)
async def about(request: web.Request) -> list[Activity]:
    entity = choice_param("entity", request.query.get("entity"), ENTITY_KINDS)
    key = request.query.get("key")
    if not key:
        raise BadParameter("key", key, "the object's natural key")
    limit = int_param(request, "limit", ACTIVITIES_LIMIT_DEFAULT, 1, ACTIVITIES_LIST_MAX)
    refs: list[tuple[EntityKind, str]] = [(msgspec.convert(entity, EntityKind), key)]

    async def operation(conn: AsyncConnection) -> list[Activity]:
        return await activities_about(conn, refs, limit)

    return await read(request, "listing activities", operation)


@api.get(
    "/api/activities/{id}", summary="One activity",
    response=Activity, path_params=[ACTIVITY_ID], errors=[400],
)
async def show(request: web.Request) -> Activity:
    activity_id = uuid_param(request, "id")

    async def operation(conn: AsyncConnection) -> Activity:
        return await get_activity(conn, activity_id)

    return await read(request, "reading an activity", operation)


@api.patch(
    "/api/activities/{id}", summary="Change an activity's status, due date, assignee or note",
    request=ActivityPatch, response=Activity, path_params=[ACTIVITY_ID], errors=[409, 413],
)
async def change(request: web.Request) -> Activity:
    """A ``version`` other than the stored one answers 409; marking it ``done`` stamps ``done_at``."""
    activity_id = uuid_param(request, "id")
    patch = await read_json(request, ActivityPatch)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Activity:
        return await update_activity(conn, who, now, activity_id, patch)

    return await write(request, "changing an activity", operation)
