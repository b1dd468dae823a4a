"""The operator API under ``/api/ops``: topics with offsets and lag, the dead letters with replay, and the
outbox rows parked over ``message_bytes_max`` with release.

Reading needs the role ``reader``; a replay or a release changes what consumers receive, so it needs
``admin``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, get_args

import msgspec
from aiohttp import web

from gateway import limits
from gateway.bus import dlq, outbox_parked
from gateway.http.keys import DAEMON
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.http.views import (
    DLQ_LIST_LIMIT_DEFAULT,
    DLQ_STATUSES,
    BadParameter,
    describe_topics,
    dlq_listing,
    parse_letter_id,
    parse_limit,
    parse_status,
    replay_note,
)
from gateway.store.db import translate_errors

api = ApiRoutes(
    tag="ops", description="Topics with offsets and lag; dead letters and their replay; parked outbox rows."
)

DlqStatus = Literal["open", "replayed", "all"]
assert set(get_args(DlqStatus)) == set(DLQ_STATUSES), "the documented statuses are the parsed ones"
DlqLimit = Annotated[int, msgspec.Meta(ge=1, le=limits.DLQ_LIST_MAX)]
LETTER_ID = PathParam("id", uuid.UUID, "the dead letter's id")


@api.get("/api/ops/topics", summary="Every registered topic: partitions, end offsets, committed offsets, lag")
async def topics(request: web.Request) -> web.Response:
    """Every registered topic and its ``.dlq`` twin, with each consumer group's committed offset and lag."""
    daemon = request.app[DAEMON]
    view = await describe_topics(daemon.bus, daemon.topics.all(), daemon.settings.topic_partitions)
    return web.json_response(view)


@api.get(
    "/api/ops/dlq", summary="Dead letters, newest first, and the open count per topic and group",
    query=[
        QueryParam("status", DlqStatus, "which dead letters", default="open"),
        QueryParam("topic", str, "only those of this topic"),
        QueryParam("group", str, "only those of this consumer group"),
        QueryParam("limit", DlqLimit, "the newest N at most", default=DLQ_LIST_LIMIT_DEFAULT),
    ],
)
async def dlq_list(request: web.Request) -> web.Response:
    query = request.query
    view = await dlq_listing(
        request.app[DAEMON].engine,
        status=parse_status(query.get("status", "open")),
        topic=query.get("topic") or None,
        group=query.get("group") or None,
        limit=parse_limit(query.get("limit", str(DLQ_LIST_LIMIT_DEFAULT))),
    )
    return web.json_response(view)


@api.get(
    "/api/ops/dlq/{id}", summary="One dead letter: the record, both errors, the headers",
    path_params=[LETTER_ID], errors=[400],
)
async def dlq_show(request: web.Request) -> web.Response:
    letter_id = parse_letter_id(request.match_info["id"])
    with translate_errors("reading a dead letter"):
        letter = await dlq.get(request.app[DAEMON].engine, letter_id)
    return web.json_response(letter.detail())


@api.post(
    "/api/ops/dlq/{id}/replay", summary="Queue a dead letter's record again, for the group that failed it",
    role="admin", path_params=[LETTER_ID], errors=[400, 409],
)
async def dlq_replay(request: web.Request) -> web.Response:
    """Once per dead letter (409 after): the record goes to the outbox, and the relay publishes it."""
    daemon = request.app[DAEMON]
    letter_id = parse_letter_id(request.match_info["id"])
    with translate_errors("replaying a dead letter"):
        letter = await dlq.replay(daemon.engine, letter_id, daemon.clock)
    daemon.relay.notify()  # publish now rather than at the relay's next poll
    return web.json_response({"replayed": letter.summary(), "message": replay_note(letter)})


#: A BIGINT has 19 digits; 18 always fit, and no outbox grows that far.
SEQ_DIGITS_MAX = 18
SEQ = PathParam("seq", int, "the parked row's outbox sequence number")


@api.get("/api/ops/outbox/parked", summary="Outbox rows parked over message_bytes_max, oldest first")
async def outbox_parked_list(request: web.Request) -> web.Response:
    """Rows the relay did not publish because they are over ``message_bytes_max``: held here, not lost."""
    with translate_errors("listing parked outbox rows"):
        rows, total = await outbox_parked.listing(request.app[DAEMON].engine)
    return web.json_response({"parked": [p.summary() for p in rows], "total": total})


@api.post(
    "/api/ops/outbox/parked/{seq}/release", summary="Queue a parked outbox row again, at the end of the line",
    role="admin", path_params=[SEQ], errors=[400, 404, 409],
)
async def outbox_parked_release(request: web.Request) -> web.Response:
    """409 while the row is still over ``message_bytes_max``; the relay publishes it once released."""
    daemon = request.app[DAEMON]
    raw = request.match_info["seq"]
    if not raw.isdigit() or len(raw) > SEQ_DIGITS_MAX:
        raise BadParameter("seq", raw, "a parked row's sequence number (an integer)")
    with translate_errors("releasing a parked outbox row"):
        released = await outbox_parked.release(daemon.engine, [int(raw)], daemon.settings.message_bytes_max)
    daemon.relay.notify()
    return web.json_response({"released": [p.summary() for p in released]})
