"""``/api/opm/{code}/readings`` and ``/api/opm/{code}/consumption``: readings entered by the back office
or for the customer, estimates of a missing reading, and an OPM's consumption per period with its
plausibility findings (``gateway.billing.readings``)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.readings.estimate import estimate_reading
from gateway.billing.readings.record import record_reading
from gateway.billing.readings.service import consumption_of
from gateway.http.masterdata.common import parse_date, read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.http.views import BadParameter
from schemas.billing.readings import Consumption, Estimate, EstimateIn, ReadingIn, RecordedReading

api = ApiRoutes(
    tag="readings",
    description="Meter readings entered here, estimates of a missing one, consumption per period.",
)

CODE = PathParam("code", str, "the OPM's EAN (18 digits) or EIC (16 characters)")
PERIOD_FROM = QueryParam("from", dt.date, "the period's first day, YYYY-MM-DD", required=True)
PERIOD_TO = QueryParam("to", dt.date, "the period's last day (inclusive), YYYY-MM-DD", required=True)


@api.post(
    "/api/opm/{code}/readings", summary="Enter a meter reading (a self-reading or one read on site)",
    request=ReadingIn, response=RecordedReading, path_params=[CODE], status=201, errors=[404, 409, 413],
)
async def enter(request: web.Request) -> RecordedReading:
    """The states of the meter counting on ``date`` (``meter`` names it where several do), one per register.
    The same meter and day again is a duplicate or a correction; the meter's estimates within a week of
    the day are replaced (``replaced_estimates``). A field we refuse answers 422 naming it and its value."""
    code = request.match_info["code"]
    body = await read_json(request, ReadingIn)

    async def operation(conn: AsyncConnection, _who: str, now: dt.datetime) -> RecordedReading:
        return await record_reading(conn, now, code, body)

    return await write(request, "entering a reading", operation)


@api.post(
    "/api/opm/{code}/readings/estimate", summary="Estimate a missing reading and store it as estimated",
    request=EstimateIn, response=Estimate, path_params=[CODE], status=201, errors=[404, 409, 413],
)
async def estimate(request: web.Request) -> Estimate:
    """From the register's last year (history) or the OPM's annual consumption and TDD class (profile);
    409 where a reading within a week exists or nothing to estimate from."""
    code = request.match_info["code"]
    body = await read_json(request, EstimateIn)

    async def operation(conn: AsyncConnection, _who: str, now: dt.datetime) -> Estimate:
        return await estimate_reading(conn, now, code, body)

    return await write(request, "estimating a reading", operation)


@api.get(
    "/api/opm/{code}/consumption", summary="Consumption per register for a period, with its findings",
    response=Consumption, path_params=[CODE], query=[PERIOD_FROM, PERIOD_TO], errors=[404],
)
async def consumption(request: web.Request) -> Consumption:
    """From the readings in force, across meter changes and roll-overs; ``findings`` lists what is
    implausible (negative, jump, reading outside the period, zero, missing reading)."""
    code = request.match_info["code"]
    first, last = (_required_date(request, name) for name in ("from", "to"))

    async def operation(conn: AsyncConnection) -> Consumption:
        return await consumption_of(conn, code, first, last)

    return await read(request, "computing consumption", operation)


def _required_date(request: web.Request, name: str) -> dt.date:
    raw = request.query.get(name)
    if raw is None:
        raise BadParameter(name, None, "a date YYYY-MM-DD")
    return parse_date(name, raw)
