"""A small route module declared like the master-data ones, to exercise the machinery with routes of every
role: an operator write with a nested body, a reader GET with path and query parameters, an admin write.

``serve_probe`` runs it on a real HTTP server with the real middlewares, API registry and key store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import msgspec
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import SystemClock
from gateway.errors import NotFound
from gateway.http import auth
from gateway.http.app import add_api, json_errors
from gateway.http.auth import actor
from gateway.http.bodies import decode_body
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam, meta
from gateway.masterdata.identifiers import validate
from tests.http.support import free_port

PostalCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{3} ?[0-9]{2}$")]


class Address(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    street: str
    postal_code: PostalCode


class PersonIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    address: Address
    phones: list[str] = []
    ico: str | None = None


class PersonOut(msgspec.Struct, kw_only=True):
    name: str
    postal_code: str
    created_by: str


probe = ApiRoutes(tag="probe", description="Test routes.")


@probe.post("/api/probe/people", summary="Create a person", request=PersonIn, response=PersonOut, status=201)
async def create_person(request: web.Request) -> PersonOut:
    """Echoes the person, and who created it."""
    person = await decode_body(request, PersonIn)
    if person.ico is not None:
        validate("ico", person.ico)  # raises InvalidIdentifier, which the app answers with 422
    return PersonOut(name=person.name, postal_code=person.address.postal_code, created_by=actor(request))


@probe.get(
    "/api/probe/people/{id}", summary="One person", response=PersonOut,
    path_params=[PathParam("id", int, "the person's number")],
    query=[QueryParam("fields", str, "which fields")],
)
async def person(request: web.Request) -> PersonOut:
    if request.match_info["id"] != "1":
        raise NotFound(f"no person {request.match_info['id']}")
    return PersonOut(name="Jana", postal_code="110 00", created_by=actor(request))


@probe.delete("/api/probe/people/{id}", summary="Forget a person", role="admin", status=204)
async def forget_person(request: web.Request) -> web.Response:
    return web.Response(status=204)


@asynccontextmanager
async def serve_probe(engine: AsyncEngine, *, auth_enabled: bool = True) -> AsyncIterator[str]:
    """The probe routes (and the document) on a real server over ``engine``'s keys; yields the base URL."""
    app = web.Application(middlewares=[json_errors, auth.authenticate])
    add_api(app, [meta, probe], engine, SystemClock(), auth_enabled=auth_enabled)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
