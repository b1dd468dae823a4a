"""The OpenAPI document at ``/api/openapi.json`` against the routes the app really serves, and the body
machinery: a valid OpenAPI 3.1 document; every /api route in it with its method and path and nothing else;
a body that does not fit answered 422 naming the field and the value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.http.api_keys import Role
from gateway.http.app import create_app
from gateway.http.openapi import ApiRoutes, PathParam
from tests.http.probe import serve_probe
from tests.http.support import bearer, free_port, new_key

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
async def daemon(sqlite_url: str) -> AsyncIterator[Daemon]:
    port = free_port()
    started = Daemon(load_settings(environ={"PROUD_DATABASE_URL": sqlite_url, "PROUD_HTTP_PORT": str(port)}))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def fetch_document(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/api/openapi.json") as response:
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    return document


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route under /api/; HEAD only as the twin of a GET."""
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/")
    }
    heads = {(method, path) for method, path in routes if method == "HEAD"}
    assert heads == {("HEAD", path) for method, path in routes if method == "GET"}
    return routes - heads


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }


async def test_the_document_is_valid_openapi_and_matches_the_served_routes(daemon: Daemon) -> None:
    url = f"http://127.0.0.1:{daemon.settings.http_port}"
    document = await fetch_document(url)  # public: no key
    validate(document)  # raises on anything OpenAPI 3.1 does not allow, dangling $refs included
    assert document["openapi"] == "3.1.0" and document["info"]["title"] == "proud"
    unauthorized = document["components"]["responses"]["Unauthorized"]
    assert unauthorized["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKeyHeader"}

    # The key test: the app the daemon serves, built by the same function, has exactly these routes.
    served = served_routes(create_app(daemon))
    assert served == documented_routes(document)
    assert {("GET", "/api/ops/dlq/{id}"), ("POST", "/api/ops/rules/reload")} <= served
    assert ("GET", "/api/openapi.json") in served


async def test_each_operation_names_its_role_and_its_errors(daemon: Daemon) -> None:
    document = await fetch_document(f"http://127.0.0.1:{daemon.settings.http_port}")
    roles = {
        (method.upper(), path): op["x-proud-role"]
        for path, item in document["paths"].items() for method, op in item.items()
    }
    assert roles.pop(("GET", "/api/openapi.json")) is None
    assert roles.pop(("POST", "/api/ops/dlq/{id}/replay")) == "admin"
    assert roles.pop(("POST", "/api/ops/rules/reload")) == "admin"
    assert roles.pop(("POST", "/api/ops/outbox/parked/{seq}/release")) == "admin"
    reads = {key: role for key, role in roles.items() if key[1].startswith("/api/ops/")}
    assert len(reads) == 7  # topics, dead letters (2), processes (2), timers, parked outbox rows
    assert all(method == "GET" and role == "reader" for (method, _), role in reads.items())
    dlq_list = document["paths"]["/api/ops/dlq"]["get"]
    parameters = {p["name"]: p for p in dlq_list["parameters"]}
    assert parameters["status"]["schema"] == {"enum": ["all", "open", "replayed"], "default": "open"}
    assert parameters["limit"]["schema"]["maximum"] == 1000 and parameters["limit"]["required"] is False
    assert set(dlq_list["responses"]) == {"200", "400", "401", "403", "503"}
    replay = document["paths"]["/api/ops/dlq/{id}/replay"]["post"]
    assert replay["responses"]["409"] == {"$ref": "#/components/responses/Conflict"}
    assert replay["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    release = document["paths"]["/api/ops/outbox/parked/{seq}/release"]["post"]
    assert release["parameters"][0]["schema"] == {"type": "integer"}
    assert {"400", "404", "409"} <= set(release["responses"])


async def test_struct_bodies_are_components_and_public_routes_need_no_key(sqlite_engine: AsyncEngine) -> None:
    async with serve_probe(sqlite_engine) as url:
        document = await fetch_document(url)
    validate(document)
    schemas = document["components"]["schemas"]
    assert {"PersonIn", "PersonOut", "Address", "ErrorBody"} <= set(schemas)
    assert schemas["PersonIn"]["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    create = document["paths"]["/api/probe/people"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PersonIn"
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PersonOut"
    }
    assert {"400", "401", "403", "422"} <= set(create["responses"]) and create["x-proud-role"] == "operator"
    assert "204" in document["paths"]["/api/probe/people/{id}"]["delete"]["responses"]
    assert document["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert document["security"] == [{"bearer": []}, {"apiKeyHeader": []}]


@pytest.mark.parametrize(
    ("body", "field", "value", "reason"),
    [
        ({"name": "J", "address": {"street": "A", "postal_code": 12000}}, "address.postal_code", 12000,
         "expected `str`, got `int`"),
        ({"name": "J", "address": {"street": "A", "postal_code": "1200"}}, "address.postal_code", "1200",
         "expected `str` matching regex"),
        ({"name": "J", "address": {"street": "A"}}, "address.postal_code", None, "is required"),
        ({"name": "J", "address": {"street": "A", "postal_code": "12000", "zip": 1}}, "address.zip", 1,
         "is not a known field"),
        ({"name": "J", "address": {"street": "A", "postal_code": "12000"}, "phones": ["1", 2]}, "phones[1]",
         2, "expected `str`, got `int`"),
        ({"name": "", "address": {"street": "A", "postal_code": "12000"}}, "name", "",
         "expected `str` of length >= 1"),
        (["not", "an", "object"], "", ["not", "an", "object"], "expected `object`, got `array`"),
    ],
    ids=["type", "pattern", "missing", "unknown", "list-item", "length", "root"],
)
async def test_a_body_that_does_not_fit_is_422_naming_field_and_value(
    sqlite_engine: AsyncEngine, unique: str, body: Any, field: str, value: Any, reason: str
) -> None:
    secret = await new_key(sqlite_engine, Role.OPERATOR, unique)
    async with (
        serve_probe(sqlite_engine) as url, aiohttp.ClientSession(headers=bearer(secret)) as http,
        http.post(url + "/api/probe/people", json=body) as response,
    ):
        answer = await response.json()
    assert response.status == 422, answer
    assert (answer["field"], answer["value"]) == (field, value)
    assert answer["error"].startswith(f"{field or 'body'}: {reason}")


async def test_identifier_errors_are_422_and_a_body_that_is_not_json_400(
    sqlite_engine: AsyncEngine, unique: str
) -> None:
    secret = await new_key(sqlite_engine, Role.OPERATOR, unique)
    person = {"name": "Jana", "address": {"street": "A", "postal_code": "12000"}, "ico": "25596642"}
    async with serve_probe(sqlite_engine) as url, aiohttp.ClientSession(headers=bearer(secret)) as http:
        async with http.post(url + "/api/probe/people", json=person) as response:
            answer = await response.json()
        assert response.status == 422, answer
        assert (answer["field"], answer["value"]) == ("ico", "25596642") and "check digit" in answer["error"]
        async with http.post(url + "/api/probe/people", data=b"{not json") as response:
            answer = await response.json()
        assert response.status == 400, answer
        assert (answer["parameter"], answer["value"]) == ("body", "{not json")


def test_declarations_that_break_the_rules_are_refused() -> None:
    routes = ApiRoutes(tag="broken")
    with pytest.raises(ValueError, match="needs at least the role operator"):
        routes.post("/api/broken", summary="a write for readers", role="reader")
    with pytest.raises(ValueError, match="no path parameters"):
        routes.get("/api/broken/{id}", summary="x", path_params=[PathParam("key")])
    with pytest.raises(ValueError, match="public route needs no role"):
        routes.get("/api/broken", summary="x", public=True, role="admin")
    with pytest.raises(ValueError, match="undocumented error statuses"):
        routes.get("/api/broken", summary="x", errors=[418])
