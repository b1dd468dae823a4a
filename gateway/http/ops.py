"""The operator API under ``/api/ops``: topics with offsets and lag, and the dead letters with replay."""

from __future__ import annotations

from aiohttp import web

from gateway.bus import dlq
from gateway.http.keys import DAEMON
from gateway.http.views import (
    DLQ_LIST_LIMIT_DEFAULT,
    describe_topics,
    dlq_listing,
    parse_letter_id,
    parse_limit,
    parse_status,
    replay_note,
)
from gateway.store.db import translate_errors

routes = web.RouteTableDef()


@routes.get("/api/ops/topics")
async def topics(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    view = await describe_topics(daemon.bus, daemon.topics.all(), daemon.settings.topic_partitions)
    return web.json_response(view)


@routes.get("/api/ops/dlq")
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


@routes.get("/api/ops/dlq/{id}")
async def dlq_show(request: web.Request) -> web.Response:
    letter_id = parse_letter_id(request.match_info["id"])
    with translate_errors("reading a dead letter"):
        letter = await dlq.get(request.app[DAEMON].engine, letter_id)
    return web.json_response(letter.detail())


@routes.post("/api/ops/dlq/{id}/replay")
async def dlq_replay(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    letter_id = parse_letter_id(request.match_info["id"])
    with translate_errors("replaying a dead letter"):
        letter = await dlq.replay(daemon.engine, letter_id, daemon.clock)
    daemon.relay.notify()  # publish now rather than at the relay's next poll
    return web.json_response({"replayed": letter.summary(), "message": replay_note(letter)})
