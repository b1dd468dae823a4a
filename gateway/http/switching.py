"""``/api/switching``: the supplier-switch processes of one OPM, and the back office's objection to a loss.

``GET /api/switching/{opm}`` shows every process instance keyed by the OPM code (each switching machine keys
its instances by OPM): machine, state, data and recent history. ``POST …/objection`` puts
``switch.objection_requested`` on ``switch.events`` through the outbox, in one transaction; the losing
switch machine decides what it means in its present state (the API does not second-guess it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus import outbox
from gateway.clock import as_utc
from gateway.errors import NotFound
from gateway.http.masterdata.common import read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam
from gateway.masterdata import tables as t
from gateway.masterdata.opm_checks import lookup_code
from gateway.process.tables import process_history, process_instance
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import new_envelope
from schemas.masterdata.common import Note
from schemas.ote.common import REJECTION_REASON_WITHDRAWAL, ShortCode
from schemas.switching import ObjectionRequested

api = ApiRoutes(
    tag="switching", description="Supplier-switch processes per OPM, and objections to losing an OPM.",
)

OPM = PathParam("opm", str, "the OPM's EAN (18 digits) or EIC (16 characters)")
#: Instances shown for one OPM: one per switching machine, so a handful; more means something is wrong.
INSTANCES_SHOWN_MAX: Final = 50
#: History entries shown per instance: the most recent ones (``history_total`` says how many exist).
HISTORY_SHOWN_MAX: Final = 200


class ObjectionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why we object: ``ARE`` (the customer withdrew from the new contract or gave it notice) by default."""

    reason_code: ShortCode = REJECTION_REASON_WITHDRAWAL
    note: Note = ""


class ObjectionQueued(msgspec.Struct, frozen=True, kw_only=True):
    """The objection is on ``switch.events`` as message ``message_id``; the process takes it from there."""

    opm: str
    message_id: uuid.UUID
    reason_code: str
    actor: str


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    from_state: str | None
    to_state: str
    message_type: str
    at: dt.datetime
    disposition: str


class SwitchProcess(msgspec.Struct, frozen=True, kw_only=True):
    machine: str
    version: str
    state: str
    data: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    history_total: int
    #: Oldest first; the latest ``HISTORY_SHOWN_MAX`` entries.
    history: list[HistoryEntry]


class SwitchingView(msgspec.Struct, frozen=True, kw_only=True):
    opm: str
    #: By machine name.
    processes: list[SwitchProcess]


async def _opm_code(conn: AsyncConnection, opm: str) -> str | None:
    return await conn.scalar(sa.select(t.opm.c.code).where(t.opm.c.code == lookup_code(opm)))


async def _history(conn: AsyncConnection, instance_id: int) -> list[HistoryEntry]:
    h = process_history.c
    query = (
        sa.select(process_history).where(h.instance_id == instance_id)
        .order_by(h.seq.desc()).limit(HISTORY_SHOWN_MAX)
    )
    rows = (await conn.execute(query)).all()
    return [
        HistoryEntry(
            seq=row.seq, from_state=row.from_state, to_state=row.to_state, message_type=row.message_type,
            at=as_utc(row.at), disposition=row.disposition,
        )
        for row in reversed(rows)
    ]


async def switching_view(conn: AsyncConnection, opm: str) -> SwitchingView:
    """The instances keyed by ``opm``; ``NotFound`` when there are none and master data has no such OPM."""
    code = lookup_code(opm)
    i = process_instance.c
    query = sa.select(process_instance).where(i.key == code).order_by(i.machine).limit(INSTANCES_SHOWN_MAX)
    rows = (await conn.execute(query)).all()
    if not rows and await _opm_code(conn, code) is None:
        raise NotFound(f"OPM {opm!r} is neither in master data nor the key of any process")
    processes = [
        SwitchProcess(
            machine=row.machine, version=row.version, state=row.state, data=row.data,
            created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at), history_total=row.seq,
            history=await _history(conn, row.id),
        )
        for row in rows
    ]
    return SwitchingView(opm=code, processes=processes)


@api.get(
    "/api/switching/{opm}", summary="The switching processes of one OPM: state, data, recent history",
    response=SwitchingView, path_params=[OPM],
)
async def show(request: web.Request) -> SwitchingView:
    """Every process instance keyed by the OPM code, by machine; an OPM we know with none yet answers an
    empty list."""
    opm = request.match_info["opm"]

    async def operation(conn: AsyncConnection) -> SwitchingView:
        return await switching_view(conn, opm)

    return await read(request, "reading the switching processes of an OPM", operation)


@api.post(
    "/api/switching/{opm}/objection", summary="Object to losing an OPM to another supplier",
    request=ObjectionIn, response=ObjectionQueued, status=202, path_params=[OPM], errors=[413],
)
async def objection(request: web.Request) -> ObjectionQueued:
    """Queues ``switch.objection_requested`` for the OPM's losing-switch process (202). The OPM must be in
    master data (404 otherwise); whether an objection is possible now is the process's decision."""
    opm = request.match_info["opm"]
    body = await read_json(request, ObjectionIn)

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> ObjectionQueued:
        code = await _opm_code(conn, opm)
        if code is None:
            raise NotFound(f"OPM {opm!r} is not in master data")
        requested = ObjectionRequested(opm=code, reason_code=body.reason_code, actor=who, note=body.note)
        envelope = new_envelope(requested, key=code, now=now)
        await outbox.add(conn, [outbox.envelope_record(SWITCH_EVENTS.name, envelope)], now)
        return ObjectionQueued(opm=code, message_id=envelope.id, reason_code=body.reason_code, actor=who)

    return await write(request, "queuing an objection", operation)
