"""What every master-data route shares: the transaction a write runs in, the caller and the clock, request
bodies within their limits, and query parameters parsed strictly.

A write runs the service in one transaction (``engine.begin()``), with the API key's name as the actor and
the clock's ``now``; the services validate before they write and audit what they write, so a refused
request stores nothing and an accepted one is stored, audited and announced together.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, TypeVar

import msgspec
import sqlalchemy as sa
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict
from gateway.http.auth import actor
from gateway.http.bodies import decode_body
from gateway.http.keys import DAEMON
from gateway.http.openapi import PathParam, QueryParam
from gateway.http.views import BadParameter
from gateway.process.calendar import PRAGUE
from gateway.store.db import translate_errors

T = TypeVar("T")

log = structlog.get_logger(__name__)

#: Largest JSON body a master-data route reads: a customer with many contacts and addresses is a few KiB,
#: so a larger body is a mistake or an attack. Equal to aiohttp's ``client_max_size`` default, which also
#: stops a chunked body of unknown length at this size.
JSON_BODY_BYTES_MAX: Final = 1024 * 1024
#: Changes one history page shows at most, and when the caller names no limit.
HISTORY_LIMIT_MAX: Final = 500
HISTORY_LIMIT_DEFAULT: Final = 50
# Strictly YYYY-MM-DD: ``date.fromisoformat`` would also take "20260301" and week dates.
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_EXPECTED: Final = "a date YYYY-MM-DD"

# PostgreSQL's unique_violation; SQLite says it in words.
_UNIQUE_VIOLATION_SQLSTATE: Final = "23505"
_UNIQUE_VIOLATION_SQLITE: Final = "UNIQUE constraint failed"

AS_OF = QueryParam("as_of", dt.date, "the day to show, YYYY-MM-DD; left out: today in Prague")
HISTORY_LIMIT = QueryParam(
    "limit", Annotated[int, msgspec.Meta(ge=1, le=HISTORY_LIMIT_MAX)], "the newest N changes",
    default=HISTORY_LIMIT_DEFAULT,
)


def uuid_path(name: str, what: str) -> PathParam:
    return PathParam(name, uuid.UUID, what)


def now(request: web.Request) -> dt.datetime:
    return request.app[DAEMON].clock.now()


def today(request: web.Request) -> dt.date:
    """The calendar day in Prague now: what "as of today" means for Czech contracts and technical data
    (between midnight and 01:00 or 02:00 Prague time the UTC date is still yesterday's)."""
    return now(request).astimezone(PRAGUE).date()


def parse_date(name: str, raw: str) -> dt.date:
    if _DATE.fullmatch(raw) is None:
        raise BadParameter(name, raw, _DATE_EXPECTED)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:  # the right shape, but no such day (2026-02-30)
        raise BadParameter(name, raw, _DATE_EXPECTED) from None


def as_of(request: web.Request) -> dt.date:
    """The ``as_of`` query parameter, today in Prague when absent."""
    raw = request.query.get("as_of")
    return today(request) if raw is None else parse_date("as_of", raw)


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    expected = f"an integer from {low} to {high}"
    if re.fullmatch(r"[0-9]{1,9}", raw) is None:
        raise BadParameter(name, raw, expected)
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(name, raw, expected)
    return value


def uuid_param(request: web.Request, name: str) -> uuid.UUID:
    raw = request.match_info[name]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadParameter(name, raw, "a UUID") from None


def choice_param(name: str, raw: str | None, choices: tuple[str, ...]) -> str:
    if raw is None or raw not in choices:
        raise BadParameter(name, raw, "one of " + ", ".join(choices))
    return raw


async def read_json(request: web.Request, kind: type[T]) -> T:
    """The JSON body as ``kind`` (422 naming a field that does not fit); 413 past ``JSON_BODY_BYTES_MAX``."""
    declared = request.content_length
    if declared is not None and declared > JSON_BODY_BYTES_MAX:
        raise web.HTTPRequestEntityTooLarge(max_size=JSON_BODY_BYTES_MAX, actual_size=declared)
    return await decode_body(request, kind)


async def write(
    request: web.Request, what: str, operation: Callable[[AsyncConnection, str, dt.datetime], Awaitable[T]]
) -> T:
    """``operation(conn, actor, now)`` in a transaction of its own, committed when it returns."""
    daemon = request.app[DAEMON]
    who, instant = actor(request), daemon.clock.now()
    with translate_errors(what):
        try:
            async with daemon.engine.begin() as conn:
                return await operation(conn, who, instant)
        except sa.exc.IntegrityError as exc:
            if not _is_unique_violation(exc):
                raise  # a foreign key or check the service let through: a bug, answered 500 and logged
            # The services check natural keys before they insert; a unique index can then only refuse one
            # because a concurrent request stored the same key in between. Repeating the request says which.
            log.info("write refused by a unique index", what=what, error=str(exc.orig))
            raise Conflict(f"{what}: a concurrent request stored the same key; read and retry") from exc


def _is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    orig = exc.orig
    codes = {getattr(orig, name, None) for name in ("sqlstate", "pgcode")}
    return _UNIQUE_VIOLATION_SQLSTATE in codes or _UNIQUE_VIOLATION_SQLITE in str(orig)


async def read(request: web.Request, what: str, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``operation(conn)`` on a connection of its own; reads see one consistent snapshot where the
    database gives one (PostgreSQL: one transaction)."""
    with translate_errors(what):
        async with request.app[DAEMON].engine.begin() as conn:
            return await operation(conn)


def convert_param(name: str, raw: str, form: Any, expected: str) -> Any:
    """``raw`` as the annotated type ``form`` (lengths, patterns), else BadParameter naming ``name``."""
    try:
        return msgspec.convert(raw, form)
    except msgspec.ValidationError:
        raise BadParameter(name, raw, expected) from None
