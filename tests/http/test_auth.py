"""API keys over real HTTP: a real daemon (SQLite, SQL-log bus) for its own routes, and the probe routes
(``tests/http/probe.py``) on the real middlewares for a route of each role.

Every /api route refuses a request without a key; each role gets 200, 403 or 401 as the route declares; a
revoked key stops working within the cache's lifetime; only the hash of a secret is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import ManualClock, SystemClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.errors import Unauthenticated
from gateway.http import api_keys
from gateway.http.api_keys import Role
from gateway.http.app import create_app
from gateway.http.auth import (
    AUTH_CACHE_ENTRIES_MAX,
    AUTH_CACHE_TTL_S,
    DEMO_KEY_NAME,
    KEY_USE_RECORD_INTERVAL_S,
    Authenticator,
    ensure_demo_key,
)
from gateway.http.auth_tables import api_key
from tests.http.probe import serve_probe
from tests.http.support import bearer, free_port, new_key

MISSING_LETTER = uuid.UUID("00000000-0000-4000-8000-000000000000")


@dataclass
class Api:
    daemon: Daemon
    url: str
    http: aiohttp.ClientSession
    #: A secret per role, of keys named ``test-<role>-<unique>``.
    keys: dict[Role, str]
    unique: str

    async def call(
        self, method: str, path: str, status: int, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as response:
            body = await response.json()
            assert response.status == status, (method, path, body)
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            return body

    async def as_role(self, role: Role | None, method: str, path: str, status: int, **kwargs: Any) -> Any:
        headers = bearer(self.keys[role]) if role is not None else None
        return await self.call(method, path, status, headers, **kwargs)


async def role_keys(engine: AsyncEngine, unique: str) -> dict[Role, str]:
    return {role: await new_key(engine, role, unique) for role in Role}


@pytest.fixture
async def api(sqlite_url: str, unique: str) -> AsyncIterator[Api]:
    port = free_port()
    daemon = Daemon(load_settings(environ={"PROUD_DATABASE_URL": sqlite_url, "PROUD_HTTP_PORT": str(port)}))
    await daemon.start()
    try:
        keys = await role_keys(daemon.engine, unique)
        async with aiohttp.ClientSession() as http:
            yield Api(daemon, f"http://127.0.0.1:{port}", http, keys, unique)
    finally:
        await daemon.stop()


@pytest.fixture
async def probe(api: Api) -> AsyncIterator[Api]:
    """The probe routes over the daemon's key store."""
    async with serve_probe(api.daemon.engine) as url:
        yield Api(api.daemon, url, api.http, api.keys, api.unique)


def filled(path: str) -> str:
    """A concrete URL for a path template: every parameter a well-formed, unknown value."""
    return path.replace("{id}", str(MISSING_LETTER)).replace("{machine}", "m").replace("{key}", "k")


async def test_every_api_route_refuses_a_request_without_a_key(api: Api) -> None:
    document = await api.call("GET", "/api/openapi.json", 200)  # public
    operations = [(m.upper(), p, op) for p, item in document["paths"].items() for m, op in item.items()]
    assert len(operations) >= 8
    for method, path, operation in operations:
        if operation.get("security") == []:
            assert operation["x-proud-role"] is None
            continue
        body = await api.call(method, filled(path), 401)
        assert body["error"].startswith("missing API key"), (method, path, body)
    for path in ("/health", "/ready", "/metrics"):
        async with api.http.get(api.url + path) as response:
            assert response.status == 200, path
    # A path no route has is answered 404 only to callers with a key, so it reveals nothing without one.
    await api.call("GET", "/api/no/such/route", 401)
    assert "error" in await api.as_role(Role.READER, "GET", "/api/no/such/route", 404)


# Each role on the daemon's own routes: reading is for readers, replay and reload for admins only.
ROLE_MATRIX = [
    (None, {"topics": 401, "replay": 401, "reload": 401}),
    (Role.READER, {"topics": 200, "replay": 403, "reload": 403}),
    (Role.OPERATOR, {"topics": 200, "replay": 403, "reload": 403}),
    (Role.ADMIN, {"topics": 200, "replay": 404, "reload": 200}),  # 404: past the check, no such letter
]


@pytest.mark.parametrize(("role", "expected"), ROLE_MATRIX, ids=["no-key", "reader", "operator", "admin"])
async def test_ops_routes_by_role(api: Api, role: Role | None, expected: dict[str, int]) -> None:
    await api.as_role(role, "GET", "/api/ops/topics", expected["topics"])
    replay = await api.as_role(role, "POST", f"/api/ops/dlq/{MISSING_LETTER}/replay", expected["replay"])
    reload = await api.as_role(role, "POST", "/api/ops/rules/reload", expected["reload"])
    if expected["replay"] == 403:
        assert (replay["role_needed"], replay["role_held"]) == ("admin", str(role))
        assert f"needs the role 'admin'; the API key has the role '{role}'" in replay["error"]
        assert reload["role_needed"] == "admin"
    if role is Role.ADMIN:
        assert str(MISSING_LETTER) in replay["error"] and reload["status"] in ("reloaded", "unchanged")


async def test_head_needs_a_key_like_get(api: Api) -> None:
    async with api.http.head(api.url + "/api/ops/dlq") as response:
        assert response.status == 401
    async with api.http.head(api.url + "/api/ops/dlq", headers=bearer(api.keys[Role.READER])) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("role", "create", "forget"),
    [(None, 401, 401), (Role.READER, 403, 403), (Role.OPERATOR, 201, 403), (Role.ADMIN, 201, 204)],
    ids=["no-key", "reader", "operator", "admin"],
)
async def test_probe_routes_by_role(probe: Api, role: Role | None, create: int, forget: int) -> None:
    person = {"name": "Jana", "address": {"street": "Vinohradská 1", "postal_code": "120 00"}}
    created = await probe.as_role(role, "POST", "/api/probe/people", create, json=person)
    if create == 201:
        writer = f"key:test-{role}-{probe.unique}"  # actor(request): who to record as the author
        assert created == {"name": "Jana", "postal_code": "120 00", "created_by": writer}
    if create == 403:
        assert (created["role_needed"], created["role_held"]) == ("operator", "reader")
    headers = bearer(probe.keys[role]) if role else {}
    async with probe.http.delete(probe.url + "/api/probe/people/1", headers=headers) as response:
        assert response.status == forget
    if role is not None:
        shown = await probe.as_role(role, "GET", "/api/probe/people/1", 200)
        assert shown["created_by"] == f"key:test-{role}-{probe.unique}"  # GET: every role may read


async def test_the_key_may_come_in_x_api_key_and_bad_keys_are_401(api: Api) -> None:
    reader = api.keys[Role.READER]
    await api.call("GET", "/api/ops/topics", 200, {"X-API-Key": reader})
    await api.call("GET", "/api/ops/topics", 200, {"Authorization": f"bearer  {reader} "})
    unknown = api_keys.new_secret()
    assert (await api.call("GET", "/api/ops/topics", 401, bearer(unknown)))["error"] == "unknown API key"
    assert (await api.call("GET", "/api/ops/topics", 401, bearer("not-a-key")))["error"] == "unknown API key"
    body = await api.call("GET", "/api/ops/topics", 401, {"Authorization": f"Basic {reader}"})
    assert "must be `Bearer <key>`" in body["error"]
    body = await api.call("GET", "/api/ops/topics", 401, {"Authorization": "Bearer "})
    assert body["error"].startswith("missing API key")


async def test_a_revoked_key_stops_working_within_the_cache_lifetime(api: Api, unique: str) -> None:
    secret = await new_key(api.daemon.engine, Role.READER, f"revoked-{unique}")
    await api.call("GET", "/api/ops/topics", 200, bearer(secret))
    await api_keys.revoke_key(api.daemon.engine, f"test-reader-revoked-{unique}", dt.datetime.now(dt.UTC))

    # No lookup cached before the revocation is trusted past AUTH_CACHE_TTL_S, so the first request after
    # that is refused, however long it takes to answer.
    await asyncio.sleep(AUTH_CACHE_TTL_S)
    body = await api.call("GET", "/api/ops/topics", 401, bearer(secret))
    assert body["error"] == f"the API key 'test-reader-revoked-{unique}' is revoked"
    await api.call("GET", "/api/ops/topics", 200, bearer(api.keys[Role.READER]))  # the others still work


async def test_only_the_hash_of_a_secret_is_stored(api: Api) -> None:
    async with api.daemon.engine.connect() as conn:
        rows = (await conn.execute(sa.select(api_key))).all()
    assert len(rows) == len(Role)
    stored = repr([tuple(row) for row in rows])
    for role, secret in api.keys.items():
        assert secret not in stored and secret[len(api_keys.SECRET_PREFIX):] not in stored
        digest = hashlib.sha256(secret.encode()).hexdigest()
        assert [row.role for row in rows if row.key_hash == digest] == [role.value]
        assert len(secret) == len("proud_") + 43 and api_keys.looks_like_secret(secret)


async def test_cache_expiry_bound_and_last_used_at(sqlite_engine: AsyncEngine) -> None:
    now_s = [1000.0]
    clock = ManualClock(dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC))
    auth = Authenticator(sqlite_engine, clock, monotonic=lambda: now_s[0])
    key, secret = await api_keys.create_key(sqlite_engine, "cached", Role.OPERATOR, clock.now())
    assert (await auth.principal(secret)).role is Role.OPERATOR
    assert (await _last_used(sqlite_engine)) == clock.now()

    await api_keys.revoke_key(sqlite_engine, "cached", clock.now())
    clock.advance(dt.timedelta(seconds=30))
    now_s[0] += AUTH_CACHE_TTL_S - 0.1
    assert (await auth.principal(secret)).name == "cached"  # still cached: at most AUTH_CACHE_TTL_S
    assert (await _last_used(sqlite_engine)) == clock.now() - dt.timedelta(seconds=30)  # once a minute
    now_s[0] += 0.2
    with pytest.raises(Unauthenticated, match="revoked"):
        await auth.principal(secret)

    for _ in range(AUTH_CACHE_ENTRIES_MAX + 5):
        with pytest.raises(Unauthenticated, match="unknown"):
            await auth.principal(api_keys.new_secret())
    assert len(auth._cache) == AUTH_CACHE_ENTRIES_MAX
    assert KEY_USE_RECORD_INTERVAL_S == 60.0 and key.name == "cached"


async def _last_used(engine: AsyncEngine) -> dt.datetime | None:
    async with engine.connect() as conn:
        value = (await conn.execute(sa.select(api_key.c.last_used_at))).scalar_one()
    return None if value is None else value.replace(tzinfo=dt.UTC)


async def test_auth_off_acts_as_anonymous_admin(sqlite_url: str, sqlite_engine: AsyncEngine) -> None:
    settings = load_settings(environ={"PROUD_DATABASE_URL": sqlite_url, "PROUD_API_AUTH": "false"})
    daemon = Daemon(settings, serve_http=False)
    with structlog.testing.capture_logs() as logs:
        create_app(daemon)
    await daemon.stop()
    assert [e["log_level"] for e in logs if "API authentication is off" in e["event"]] == ["warning"]

    async with serve_probe(sqlite_engine, auth_enabled=False) as url, aiohttp.ClientSession() as http:
        person = {"name": "Jana", "address": {"street": "Vinohradská 1", "postal_code": "12000"}}
        async with http.post(url + "/api/probe/people", json=person) as response:
            assert response.status == 201
            assert (await response.json())["created_by"] == "anonymous"
        async with http.delete(url + "/api/probe/people/1") as response:
            assert response.status == 204


async def test_demo_key_is_created_once_and_logged(sqlite_engine: AsyncEngine) -> None:
    clock = SystemClock()
    with structlog.testing.capture_logs() as logs:
        secret = await ensure_demo_key(sqlite_engine, clock)
        assert await ensure_demo_key(sqlite_engine, clock) is None  # an active admin key exists now
    assert secret is not None and api_keys.looks_like_secret(secret)
    assert [e["secret"] for e in logs if "secret" in e] == [secret]
    [key] = await api_keys.list_keys(sqlite_engine)
    assert (key.name, key.role) == (DEMO_KEY_NAME, Role.ADMIN)
    await api_keys.revoke_key(sqlite_engine, DEMO_KEY_NAME, clock.now())
    assert await ensure_demo_key(sqlite_engine, clock) is None  # the name stays taken: a warning, no key
