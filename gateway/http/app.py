"""The aiohttp application: probes, metrics, JSON errors, API keys, the routes under ``/api`` and their
OpenAPI document, and the app's start and stop for the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import msgspec
import sqlalchemy as sa
import structlog
from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus import outbox
from gateway.clock import Clock
from gateway.daemon import Daemon
from gateway.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    ProudError,
    TransientError,
    Unauthenticated,
)
from gateway.http import (
    advances,
    auth,
    billing,
    billing_orders,
    billing_runs,
    invoicing,
    ops,
    processes,
    switching,
)
from gateway.http.keys import DAEMON
from gateway.http.masterdata import MASTERDATA_ROUTES
from gateway.http.openapi import API_REGISTRY, ApiRegistry, ApiRoutes, meta
from gateway.http.views import BadParameter
from gateway.masterdata.base import InvalidIdentifier

log = structlog.get_logger(__name__)

#: Each readiness check (database, bus) must answer within this, so a probe never hangs on a dead peer.
READY_CHECK_TIMEOUT_S: Final = 3.0
#: How long ``/metrics`` waits for the bus to report offsets before serving the previous lag values.
LAG_REFRESH_TIMEOUT_S: Final = 3.0
#: How long stopping waits for open requests (and idle keep-alive connections) before closing them.
HTTP_SHUTDOWN_TIMEOUT_S: Final = 5.0

# Our error types and the status each maps to; the first match wins, so subclasses come first.
_STATUS_BY_ERROR: Final[tuple[tuple[type[ProudError], int], ...]] = (
    (BadParameter, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidField, 422),
    (InvalidIdentifier, 422),
    (TransientError, 503),
)
#: The route modules under ``/api``, each declared through ``openapi.ApiRoutes``: what the app serves and
#: what ``/api/openapi.json`` describes, from the same declarations.
API_ROUTES: Final[tuple[ApiRoutes, ...]] = (
    meta, ops.api, processes.api, *MASTERDATA_ROUTES, switching.api, billing.api, billing_orders.api,
    billing_runs.api, advances.api, invoicing.api,
)
API_DESCRIPTION: Final = (
    "The billing back end's API. Send an API key (`proud keys create NAME --role ROLE`) as "
    "`Authorization: Bearer <key>`: reading needs the role `reader`, changes `operator`, some operations "
    "`admin` (each operation names its role in `x-proud-role`)."
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON ``{"error": ...}`` body; unexpected ones are logged with their stack."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason, path=request.path)
    except ProudError as exc:
        status = next((code for kind, code in _STATUS_BY_ERROR if isinstance(exc, kind)), 500)
        if status == 500:
            log.error("request failed", method=request.method, path=request.path, error=exc.message)
        elif status in (401, 403):  # who tries what without the right key is worth seeing in the log
            log.info("request refused", method=request.method, path=request.path, error=exc.message)
        response = error_response(status, exc.message, **_error_fields(exc))
        if isinstance(exc, Unauthenticated):
            response.headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="proud"'
        return response
    except Exception:
        log.exception("request failed unexpectedly", method=request.method, path=request.path)
        return error_response(500, "internal error; the server log has the details")


def _error_fields(exc: ProudError) -> dict[str, Any]:
    """What a client needs besides the message to act on the error: the parameter or field, the roles."""
    if isinstance(exc, BadParameter):
        return {"parameter": exc.name, "value": _json_ready(exc.value)}
    if isinstance(exc, InvalidField):
        return {"field": exc.field, "value": _json_ready(exc.value), "reason": exc.reason}
    if isinstance(exc, InvalidIdentifier):
        # The identifier's kind stands for the field unless the raiser knew the field (set ``field`` on it).
        field = getattr(exc, "field", None) or exc.kind
        return {"field": field, "value": _json_ready(exc.value), "reason": exc.reason}
    if isinstance(exc, Forbidden):
        return {"role_needed": exc.needed, "role_held": exc.held}
    return {}


def _json_ready(value: object) -> Any:
    """``value`` as JSON can carry it: Decimal and dates as msgspec writes them, anything else as text."""
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return str(value)


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _check(probe: Awaitable[None]) -> str:
    """``"ok"`` or what went wrong, within ``READY_CHECK_TIMEOUT_S``."""
    try:
        await asyncio.wait_for(probe, READY_CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {READY_CHECK_TIMEOUT_S} s"
    except Exception as exc:  # a readiness probe reports any failure rather than raising it
        return f"{exc.__class__.__name__}: {exc}"
    return "ok"


async def ready(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    database, bus = await asyncio.gather(_check(_select_one(daemon.engine)), _check(daemon.bus.ping()))
    failed = daemon.loop_failures()
    loops = "; ".join(f"{name} ended: {reason}" for name, reason in sorted(failed.items())) or "ok"
    checks = {"database": database, "bus": bus, "loops": loops}
    if all(result == "ok" for result in checks.values()):
        return web.json_response({"status": "ok", "checks": checks})
    return web.json_response({"status": "unavailable", "checks": checks}, status=503)


async def refresh_lag(daemon: Daemon) -> None:
    """Set ``proud_consumer_lag`` from the bus; on failure keep the previous values (stale beats absent)."""
    names = [spec.name for spec in daemon.topics.all()]
    try:
        partitions = await asyncio.wait_for(daemon.bus.describe(names), LAG_REFRESH_TIMEOUT_S)
    except Exception as exc:  # metrics must still be served when the bus is down
        log.warning("consumer lag not refreshed", error=f"{exc.__class__.__name__}: {exc}")
        return
    gauge = daemon.metrics.consumer_lag
    for info in partitions:
        for group in info.committed:
            gauge.labels(info.topic, str(info.partition), group).set(info.lag(group))


async def refresh_outbox_pending(daemon: Daemon) -> None:
    """Set ``proud_outbox_pending`` and ``proud_outbox_parked`` now (the relay refreshes them only now and
    then); keep the old values when the database does not answer in time."""
    try:
        pending, parked = await asyncio.wait_for(outbox.backlog(daemon.engine), LAG_REFRESH_TIMEOUT_S)
    except Exception as exc:  # metrics must still be served when the database is down
        log.warning("outbox backlog not refreshed", error=f"{exc.__class__.__name__}: {exc}")
        return
    daemon.metrics.outbox_pending.set(pending)
    daemon.metrics.outbox_parked.set(parked)


async def metrics(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    await asyncio.gather(
        refresh_lag(daemon), processes.refresh_process_gauges(daemon), refresh_outbox_pending(daemon)
    )
    body = generate_latest(daemon.metrics.registry)
    # CONTENT_TYPE_LATEST carries a charset, which aiohttp's content_type argument refuses; set the header.
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST})


def create_app(daemon: Daemon) -> web.Application:
    # json_errors outermost: refusals by ``authenticate`` become JSON like every other error.
    app = web.Application(middlewares=[json_errors, auth.authenticate])
    app[DAEMON] = daemon
    app.add_routes([
        web.get("/health", health),
        web.get("/ready", ready),
        web.get("/metrics", metrics),
    ])
    add_api(app, API_ROUTES, daemon.engine, daemon.clock, auth_enabled=daemon.settings.api_auth)
    return app


def add_api(
    app: web.Application, modules: Iterable[ApiRoutes], engine: AsyncEngine, clock: Clock, *,
    auth_enabled: bool,
) -> ApiRegistry:
    """Serve the routes of ``modules``, their document, and the API keys they are checked against.

    ``app`` must have the ``json_errors`` and ``auth.authenticate`` middlewares, in that order.
    """
    middlewares = list(app.middlewares)
    assert middlewares[:2] == [json_errors, auth.authenticate], "json_errors, then authenticate, are needed"
    registry = app[API_REGISTRY] = ApiRegistry(description=API_DESCRIPTION)
    for routes in modules:
        registry.add(app, routes)
    auth.install(app, engine, clock, enabled=auth_enabled)
    return registry


async def start_http(daemon: Daemon) -> web.AppRunner:
    """Serve the app on ``http_host:http_port``; a port that cannot be bound is reported as a setting."""
    host, port = daemon.settings.http_host, daemon.settings.http_port
    runner = web.AppRunner(create_app(daemon), shutdown_timeout=HTTP_SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError("http_port", port, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    log.info("http listening", url=f"http://{host}:{port}")
    return runner


async def stop_http(runner: web.AppRunner) -> None:
    await runner.cleanup()
