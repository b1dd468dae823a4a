"""Who is calling ``/api/**``, and may they: API keys with roles, checked by a middleware.

A key is sent as ``Authorization: Bearer <secret>`` or ``X-API-Key: <secret>``. Reading (GET, HEAD) needs
the role ``reader``, any change ``operator``, and a route may declare more (``admin`` for replaying dead
letters or reloading the rules). Outside ``/api`` (``/health``, ``/ready``, ``/metrics``) and for routes
declared public (``/api/openapi.json``) no key is needed.

Without a key: 401 with ``WWW-Authenticate: Bearer``; an unknown or revoked key: 401; a role too low: 403
naming the role needed and the role held. The caller is kept on the request: ``actor(request)`` names it
for audit columns (``key:<name>``).

Lookups are cached for ``AUTH_CACHE_TTL_S``, so a revoked key stops working within that, and each key's
``last_used_at`` is written at most once per ``KEY_USE_RECORD_INTERVAL_S``: a busy client costs one
database read per few seconds, not one per request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import structlog
from aiohttp import hdrs, web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.errors import Conflict, Forbidden, Unauthenticated
from gateway.http import api_keys
from gateway.http.api_keys import ApiKey, Role
from gateway.http.openapi import API_REGISTRY, default_role

log = structlog.get_logger(__name__)

#: How long a key looked up is trusted: the longest a revoked key keeps working.
AUTH_CACHE_TTL_S: Final = 5.0
#: Secrets remembered at once (known or not); past this the oldest are forgotten first.
AUTH_CACHE_ENTRIES_MAX: Final = 1_000
#: A key's ``last_used_at`` is written at most this often: "used today" matters, not every request.
KEY_USE_RECORD_INTERVAL_S: Final = 60.0
API_PREFIX: Final = "/api/"
#: The key created for ``make run`` when the database has no active admin key.
DEMO_KEY_NAME: Final = "demo-admin"
_BEARER: Final = "bearer"
_MISSING_KEY: Final = "missing API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a key's name and role; ``anonymous`` when authentication is off."""

    name: str
    role: Role
    from_key: bool = True


#: With ``api_auth`` off every request acts as this: an admin with no key.
ANONYMOUS: Final = Principal("anonymous", Role.ADMIN, from_key=False)
PRINCIPAL = web.RequestKey("principal", Principal)


def actor(request: web.Request) -> str:
    """Who to record as the author of a write: ``key:<name>``, or ``anonymous`` with authentication off."""
    principal = request[PRINCIPAL]  # set for every /api route that is not public, so for every write
    return f"key:{principal.name}" if principal.from_key else principal.name


class Authenticator:
    """Secrets to principals, through a small time-bounded cache in front of the ``api_key`` table."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, *, enabled: bool = True,
        cache_ttl_s: float = AUTH_CACHE_TTL_S, monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        assert 0 <= cache_ttl_s <= 60, "a revoked key must stop working within a minute at most"
        self.engine = engine
        self.clock = clock
        self.enabled = enabled
        self.cache_ttl_s = cache_ttl_s
        self._monotonic = monotonic
        # Secret hash -> (trusted until, the key or None for no such key). Insertion order is expiry order.
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._use_recorded_at: dict[str, float] = {}

    async def principal(self, secret: str | None) -> Principal:
        """The principal for ``secret``; Unauthenticated when there is none or it is not accepted."""
        if not self.enabled:
            return ANONYMOUS
        if not secret:
            raise Unauthenticated(_MISSING_KEY)
        # Malformed secrets never reach the database (or the cache, which they would only flush).
        key = await self._lookup(secret) if api_keys.looks_like_secret(secret) else None
        if key is None:
            raise Unauthenticated("unknown API key")
        if not key.active:
            raise Unauthenticated(f"the API key {key.name!r} is revoked")
        await self._record_use(key)
        return Principal(key.name, key.role)

    async def _lookup(self, secret: str) -> ApiKey | None:
        now_s = self._monotonic()
        key_hash = api_keys.hash_secret(secret)
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now_s:
            return cached[1]
        key = await api_keys.find_by_secret(self.engine, secret)
        self._cache.pop(key_hash, None)  # re-inserted last, keeping insertion order the expiry order
        self._cache[key_hash] = (now_s + self.cache_ttl_s, key)
        while len(self._cache) > AUTH_CACHE_ENTRIES_MAX:
            del self._cache[next(iter(self._cache))]
        return key

    async def _record_use(self, key: ApiKey) -> None:
        now_s, name = self._monotonic(), key.name
        if now_s - self._use_recorded_at.get(name, -KEY_USE_RECORD_INTERVAL_S) < KEY_USE_RECORD_INTERVAL_S:
            return
        if len(self._use_recorded_at) >= AUTH_CACHE_ENTRIES_MAX:
            self._use_recorded_at.clear()  # at worst one extra write per key
        self._use_recorded_at[name] = now_s  # before the write: concurrent requests do not all write
        try:
            await api_keys.record_use(self.engine, key.id, self.clock.now())
        except Exception as exc:  # bookkeeping: a request must not fail because this write did
            log.warning("API key use not recorded", key=name, error=f"{exc.__class__.__name__}: {exc}")


AUTHENTICATOR = web.AppKey("authenticator", Authenticator)


def request_secret(request: web.Request) -> str | None:
    """The secret the request carries, from ``Authorization: Bearer`` or else ``X-API-Key``."""
    authorization = request.headers.get(hdrs.AUTHORIZATION)
    if authorization is not None:
        scheme, _, secret = authorization.strip().partition(" ")
        if scheme.lower() != _BEARER:
            raise Unauthenticated("the Authorization header must be `Bearer <key>`")
        return secret.strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


def role_needed(request: web.Request) -> Role | None:
    """The role the matched route needs; None where no key is needed (outside /api, public routes)."""
    if not request.path.startswith(API_PREFIX):
        return None
    route = request.match_info.route
    if route.resource is None:  # no route matched: any key may learn that (404, 405), no one without
        return Role.READER
    operation = request.app[API_REGISTRY].operation(request.method, route.resource.canonical)
    if operation is None:  # an /api route not declared through the registry: the method's default
        return default_role(request.method)
    return operation.role


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the caller's key and role before any /api handler runs; keep the caller on the request."""
    needed = role_needed(request)
    if needed is None:
        return await handler(request)
    authenticator = request.app[AUTHENTICATOR]
    principal = await authenticator.principal(request_secret(request)) if authenticator.enabled else ANONYMOUS
    if not principal.role.covers(needed):
        raise Forbidden(needed.value, principal.role.value)
    request[PRINCIPAL] = principal
    return await handler(request)


def install(app: web.Application, engine: AsyncEngine, clock: Clock, *, enabled: bool) -> None:
    """Give ``app`` its authenticator; the ``authenticate`` middleware must be in its middlewares."""
    assert authenticate in app.middlewares, "install the authenticate middleware too"
    app[AUTHENTICATOR] = Authenticator(engine, clock, enabled=enabled)
    if not enabled:
        log.warning(
            "API authentication is off (api_auth=false): every request acts as an admin; "
            "for local experiments only"
        )


async def ensure_demo_key(engine: AsyncEngine, clock: Clock) -> str | None:
    """For ``make run``: create an admin key when no active one exists, and log its secret (once: it is
    not stored). The secret, or None when an admin key existed."""
    if await api_keys.has_active_key(engine, Role.ADMIN):
        return None
    try:
        _, secret = await api_keys.create_key(engine, DEMO_KEY_NAME, Role.ADMIN, clock.now())
    except Conflict as exc:  # revoked earlier (its name stays taken), or created by a twin daemon just now
        log.warning("demo API key not created", reason=exc.message)
        return None
    log.warning(
        "demo API key created; it is shown only now", name=DEMO_KEY_NAME, role=Role.ADMIN.value,
        secret=secret, use=f"curl -H 'Authorization: Bearer {secret}' http://HOST:PORT/api/ops/topics",
    )
    return secret
