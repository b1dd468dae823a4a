"""``/api/opm``: points of delivery (odběrná místa) by EAN or EIC, their effective-dated technical data and
their meters."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.masterdata.common import AS_OF, as_of, read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.masterdata.opm import change_meter, create_opm, get_opm, install_meter, set_technical, update_opm
from schemas.masterdata.opm import MeterChange, MeterIn, Opm, OpmIn, OpmPatch, Technical

api = ApiRoutes(
    tag="opm", description="Points of delivery by EAN (electricity) or EIC (gas): technical data, meters.",
)

CODE = PathParam("code", str, "the OPM's EAN (18 digits) or EIC (16 characters)")


@api.post(
    "/api/opm", summary="Create an OPM with its supply address, technical data and meters",
    request=OpmIn, response=Opm, status=201, errors=[409, 413],
)
async def create(request: web.Request) -> Opm:
    """The code's check digit (EAN) or check character (EIC) is verified and decides the commodity; the
    technical data and meters must fit it (422). A code that exists already answers 409."""
    body = await read_json(request, OpmIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Opm:
        return await create_opm(conn, who, now, body)

    return await write(request, "creating an OPM", operation)


@api.get(
    "/api/opm/{code}", summary="One OPM with the technical data in force on a day",
    response=Opm, path_params=[CODE], query=[AS_OF],
)
async def show(request: web.Request) -> Opm:
    """``technical`` is the version in force on ``as_of``; ``technical_history``, meters and supply periods
    are shown in full."""
    code, day = request.match_info["code"], as_of(request)

    async def operation(conn: AsyncConnection) -> Opm:
        return await get_opm(conn, code, day)

    return await read(request, "reading an OPM", operation)


@api.patch(
    "/api/opm/{code}", summary="Change an OPM's DSO or supply address, at the version read",
    request=OpmPatch, response=Opm, path_params=[CODE], errors=[409, 413],
)
async def change(request: web.Request) -> Opm:
    code = request.match_info["code"]
    patch = await read_json(request, OpmPatch)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Opm:
        return await update_opm(conn, who, now, code, patch)

    return await write(request, "changing an OPM", operation)


@api.put(
    "/api/opm/{code}/technical", summary="Set the technical data in force from effective_from",
    request=Technical, response=Opm, path_params=[CODE], errors=[413],
)
async def technical(request: web.Request) -> Opm:
    """The version applies from ``effective_from`` until the next one; a version of the same day is
    replaced. The answer shows the OPM as of ``effective_from``."""
    code = request.match_info["code"]
    body = await read_json(request, Technical)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Opm:
        return await set_technical(conn, who, now, code, body)

    return await write(request, "setting an OPM's technical data", operation)


@api.post(
    "/api/opm/{code}/meters", summary="Install a meter (a first one, or one more)",
    request=MeterIn, response=Opm, path_params=[CODE], errors=[409, 413],
)
async def meter_install(request: web.Request) -> Opm:
    """Replacing a meter is a meter change; the answer shows the OPM as of ``installed_on``."""
    code = request.match_info["code"]
    body = await read_json(request, MeterIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Opm:
        return await install_meter(conn, who, now, code, body)

    return await write(request, "installing a meter", operation)


@api.post(
    "/api/opm/{code}/meter-changes", summary="Replace a meter, with final and initial readings",
    request=MeterChange, response=Opm, path_params=[CODE], errors=[409, 413],
)
async def meter_change(request: web.Request) -> Opm:
    """``removed_serial`` leaves and ``new_meter`` is installed on ``changed_on``; the answer shows the OPM
    as of that day."""
    code = request.match_info["code"]
    body = await read_json(request, MeterChange)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Opm:
        return await change_meter(conn, who, now, code, body)

    return await write(request, "changing a meter", operation)
