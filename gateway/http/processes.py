"""The process runtime in the operator API: instances per machine, one instance in detail, pending timers,
and reloading the rule files without a restart.

Reading needs the role ``reader``; a reload changes what every machine does, so it needs ``admin``.
The views read the process tables directly (nothing here changes them) and are plain JSON-ready dicts;
instance data is encoded with msgspec so that exact ``Decimal`` amounts come out as decimal strings, the
way envelopes carry them, never as floats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Final

import msgspec
import sqlalchemy as sa
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.clock import as_utc
from gateway.daemon import Daemon
from gateway.errors import NotFound
from gateway.http.keys import DAEMON
from gateway.http.openapi import ApiRoutes, QueryParam
from gateway.http.views import parse_instant, parse_limit
from gateway.process.definition import Machine
from gateway.process.store import PENDING
from gateway.process.tables import process_history, process_instance, process_timer
from gateway.store.db import translate_errors

log = structlog.get_logger(__name__)

#: Pending timers one listing returns when the caller names no limit, and at most.
TIMERS_LIST_LIMIT_DEFAULT: Final = 100
TIMERS_LIST_MAX: Final = 1_000
#: History entries an instance detail shows: the most recent ones (``history_total`` says how many exist).
HISTORY_SHOWN_MAX: Final = 200
#: Pending timers an instance detail shows; a state arms a handful, so more means something is wrong.
INSTANCE_TIMERS_SHOWN_MAX: Final = 100
#: How long ``/metrics`` waits for the pending-timer counts before serving the previous values.
PROCESS_GAUGES_TIMEOUT_S: Final = 3.0

api = ApiRoutes(tag="processes", description="Process instances, their timers, and reloading the rules.")
_encoder = msgspec.json.Encoder()


def _json(view: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(view, status=status, dumps=lambda value: _encoder.encode(value).decode())


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


async def _machines_in_store(conn: AsyncConnection) -> set[str]:
    return set((await conn.scalars(sa.select(process_instance.c.machine).distinct())).all())


async def _pending_by_machine(conn: AsyncConnection) -> dict[str, int]:
    t = process_timer
    query = sa.select(t.c.machine, sa.func.count()).where(t.c.status == PENDING).group_by(t.c.machine)
    return {machine: int(count) for machine, count in (await conn.execute(query)).all()}


async def processes_overview(engine: AsyncEngine, loaded: Mapping[str, Machine]) -> dict[str, Any]:
    """Instances per machine, version and state; every loaded machine is listed, with none or not."""
    t = process_instance
    query = (
        sa.select(t.c.machine, t.c.version, t.c.state, sa.func.count())
        .group_by(t.c.machine, t.c.version, t.c.state)
        .order_by(t.c.machine, t.c.version, t.c.state)
    )
    with translate_errors("counting process instances"):
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            pending = await _pending_by_machine(conn)
    counts: dict[str, list[dict[str, Any]]] = {name: [] for name in loaded}
    for machine, version, state, count in rows:
        counts.setdefault(machine, []).append({"version": version, "state": state, "count": int(count)})
    machines = []
    for name in sorted(counts):
        current = loaded.get(name)
        machines.append({
            "machine": name,
            "loaded": current is not None,  # False: instances remain of a machine no rule file defines now
            "version": current.version if current else None,
            "file": current.where.file if current else None,
            "description": current.description if current else None,
            "states": list(current.states) if current else [],
            "instances": sum(entry["count"] for entry in counts[name]),
            "pending_timers": pending.get(name, 0),
            "counts": counts[name],
        })
    return {"machines": machines, "instances_total": sum(m["instances"] for m in machines)}


async def _require_machine(conn: AsyncConnection, machine: str, loaded: Collection[str]) -> None:
    if machine in loaded:
        return
    known = sorted({*loaded, *await _machines_in_store(conn)})
    if machine not in known:
        raise NotFound(f"unknown machine {machine!r}; known: {known}")


async def instance_detail(
    engine: AsyncEngine, machine: str, key: str, loaded: Mapping[str, Machine]
) -> dict[str, Any]:
    """One instance: state, version, data, the latest history and its pending timers."""
    t = process_instance
    with translate_errors("reading a process instance"):
        async with engine.connect() as conn:
            await _require_machine(conn, machine, loaded)
            query = sa.select(t).where(t.c.machine == machine, t.c.key == key)
            row = (await conn.execute(query)).one_or_none()
            if row is None:
                raise NotFound(f"machine {machine!r} has no instance with key {key!r}")
            h = process_history
            latest = sa.select(h).where(h.c.instance_id == row.id).order_by(h.c.seq.desc())
            history = (await conn.execute(latest.limit(HISTORY_SHOWN_MAX))).all()
            timers = await _timers(conn, process_timer.c.instance_id == row.id, INSTANCE_TIMERS_SHOWN_MAX)
    current = loaded.get(machine)
    return {
        "machine": machine, "key": key, "state": row.state, "version": row.version,
        "current_version": current.version if current else None,
        "data": row.data, "transitions": row.transitions,
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "history_total": row.seq,
        "history": [
            {
                "seq": e.seq, "from": e.from_state, "to": e.to_state, "disposition": e.disposition,
                "message_type": e.message_type, "message_id": str(e.message_id), "at": _iso(e.at),
                "transition_at": e.transition_at,
            }
            for e in reversed(history)
        ],
        "pending_timers": timers,
    }


async def _timers(
    conn: AsyncConnection, condition: sa.ColumnElement[bool], limit: int
) -> list[dict[str, Any]]:
    t = process_timer
    query = (
        sa.select(t.c.id, t.c.machine, t.c.key, t.c.name, t.c.due_at, t.c.instance_id)
        .where(t.c.status == PENDING, condition)
        .order_by(t.c.due_at, t.c.id)
        .limit(limit)
    )
    return [
        {"id": r.id, "machine": r.machine, "key": r.key, "name": r.name, "due_at": _iso(r.due_at)}
        for r in (await conn.execute(query)).all()
    ]


async def timers_listing(
    engine: AsyncEngine, *, due_before: dt.datetime | None, machine: str | None, limit: int,
    loaded: Collection[str],
) -> dict[str, Any]:
    """Pending timers, soonest first; only those due before ``due_before`` and of ``machine`` if given."""
    t = process_timer
    condition: sa.ColumnElement[bool] = sa.true()
    if due_before is not None:
        condition = sa.and_(condition, t.c.due_at < due_before)
    if machine is not None:
        condition = sa.and_(condition, t.c.machine == machine)
    with translate_errors("listing process timers"):
        async with engine.connect() as conn:
            if machine is not None:
                await _require_machine(conn, machine, loaded)
            timers = await _timers(conn, condition, limit)
    return {"timers": timers, "count": len(timers), "limit": limit, "due_before": _iso(due_before)}


async def refresh_process_gauges(daemon: Daemon) -> None:
    """Set ``proud_process_timers_pending`` per machine; on failure keep the previous values."""
    async def count() -> dict[str, int]:
        async with daemon.engine.connect() as conn:
            return await _pending_by_machine(conn)

    try:
        pending = await asyncio.wait_for(count(), PROCESS_GAUGES_TIMEOUT_S)
    except Exception as exc:  # metrics must still be served when the database is slow or down
        log.warning("pending timer gauge not refreshed", error=f"{exc.__class__.__name__}: {exc}")
        return
    for name in {*daemon.processes.handler.machines, *pending}:
        daemon.metrics.process_timers_pending.labels(name).set(pending.get(name, 0))


@api.get("/api/ops/processes", summary="Instances per machine, version and state; pending timers")
async def processes(request: web.Request) -> web.Response:
    """Every loaded machine, and machines no rule file defines any more that still have instances."""
    daemon = request.app[DAEMON]
    return _json(await processes_overview(daemon.engine, daemon.processes.handler.machines))


@api.get(
    "/api/ops/processes/{machine}/{key}", summary="One instance: state, data, latest history, pending timers",
)
async def process_instance_view(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    machine, key = request.match_info["machine"], request.match_info["key"]
    return _json(await instance_detail(daemon.engine, machine, key, daemon.processes.handler.machines))


@api.get(
    "/api/ops/timers", summary="Pending timers, soonest first",
    query=[
        QueryParam("due_before", dt.datetime, "only those due before this (with a UTC offset)"),
        QueryParam("machine", str, "only those of this machine"),
        QueryParam(
            "limit", Annotated[int, msgspec.Meta(ge=1, le=TIMERS_LIST_MAX)], "the soonest N at most",
            default=TIMERS_LIST_LIMIT_DEFAULT,
        ),
    ],
)
async def timers(request: web.Request) -> web.Response:
    daemon, query = request.app[DAEMON], request.query
    raw_due = query.get("due_before")
    view = await timers_listing(
        daemon.engine,
        due_before=parse_instant("due_before", raw_due) if raw_due else None,
        machine=query.get("machine") or None,
        limit=parse_limit(query.get("limit", str(TIMERS_LIST_LIMIT_DEFAULT)), TIMERS_LIST_MAX),
        loaded=daemon.processes.handler.machines,
    )
    return _json(view)


@api.post(
    "/api/ops/rules/reload", summary="Reload the rule files: the versions now in use, or the problems",
    role="admin", errors=[422],
)
async def rules_reload(request: web.Request) -> web.Response:
    """Reload the rule files: 200 with the versions now in use, 422 with the problems (nothing changed)."""
    # Shielded: a client hanging up, or the server stopping, must not cut a reload between registering
    # versions and swapping consumers; ``Daemon.stop`` waits for it through the rules lock.
    report = await asyncio.shield(request.app[DAEMON].reload_rules())
    return _json(report.view(), status=200 if report.ok else 422)
