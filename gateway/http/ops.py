"""The operator API under ``/api/ops``: topics with offsets and lag, and the dead letters with replay.

Reading needs the role ``reader``; a replay changes what consumers receive, so it needs ``admin``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, get_args

import msgspec
from aiohttp import web

from gateway import limits
from gateway.bus import dlq
from gateway.http.keys import DAEMON
from gateway.http.openapi import ApiRoutes, PathParam, QueryParam
from gateway.http.views import (
    DLQ_LIST_LIMIT_DEFAULT,
    DLQ_STATUSES,
    describe_topics,
    dlq_listing,
    parse_letter_id,
    parse_limit,
    parse_status,
    replay_note,
)
from gateway.store.db import translate_errors

api = ApiRoutes(tag="ops", description="Topics with offsets and lag; dead letters and their replay.")

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
