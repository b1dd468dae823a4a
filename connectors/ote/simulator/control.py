"""The simulator's control API: plain HTTP with JSON, on a loopback port of its own (never the mTLS one).

It seeds the registry, plays the other market participants (a foreign supplier's switch request, objection
or notice; a supplier that fails), triggers periodic readings and due steps, and shows what was received
and sent. Endpoints and bodies: ``docs/ote-simulator.md``. Errors answer ``{"error": …}`` with 404 (unknown),
409 (not possible now), 422 (invalid body) or 503 (full).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, TypeVar

import msgspec
import structlog
from aiohttp import web

from connectors.ote.simulator import codes, messages
from connectors.ote.simulator.core import OteSimulator
from connectors.ote.simulator.outbox import Delivery, Outgoing
from connectors.ote.simulator.registry import OpmSpec, ParticipantSpec, Spec
from gateway.clock import ManualClock
from gateway.errors import Conflict, InvalidField, NotFound, ProudError, TransientError
from gateway.process.calendar import PRAGUE
from schemas.ote import Commodity, MasterData, MasterDataItem, SwitchRequest
from schemas.ote.common import NegotiationType, OpmId, ParticipantEan, ShortCode

log = structlog.get_logger(__name__)

S = TypeVar("S")

SIMULATOR: Final = web.AppKey("ote_simulator", OteSimulator)
#: Largest JSON body taken (a seed of a few thousand OPMs).
BODY_BYTES_MAX: Final = 8 * 1024 * 1024
#: Entries one list returns at most, newest last.
LIST_LIMIT_DEFAULT: Final = 200
LIST_LIMIT_MAX: Final = 10_000
#: A move of the manual clock at most (a little over a year: a switch takes weeks, a test a few months).
CLOCK_ADVANCE_S_MAX: Final = 400 * 86_400.0


class SwitchSpec(Spec, frozen=True, kw_only=True):
    """A switch request as ``supplier_ean`` would send it (a foreign supplier: our losing side)."""

    opm: OpmId
    supplier_ean: ParticipantEan
    date_from: dt.date
    date_to: dt.date | None = None
    balance_responsible_ean: ParticipantEan | None = None
    contract_type: ShortCode = "DOD"
    switch_type: ShortCode | None = None
    contract_negotiation_type: NegotiationType | None = None


class NoticeSpec(Spec, frozen=True, kw_only=True):
    """A master-data notice from ``sender_ean``: OBJ (objection, ARE), CAN, END or CUS."""

    sender_ean: ParticipantEan
    change_reason: ShortCode
    opm: OpmId
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    rejection_reason: ShortCode | None = None


class ReadingsSpec(Spec, frozen=True, kw_only=True):
    date_to: dt.date | None = None
    opms: list[OpmId] | None = None
    supplier_ean: ParticipantEan | None = None


class LastResortSpec(Spec, frozen=True, kw_only=True):
    ean: ParticipantEan | None


class RetrySpec(Spec, frozen=True, kw_only=True):
    seq: int | None = None


class ClockSpec(Spec, frozen=True, kw_only=True):
    advance_s: Annotated[float, msgspec.Meta(ge=0, le=CLOCK_ADVANCE_S_MAX)] | None = None
    to: dt.datetime | None = None


def _json(value: object, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(value), status=status, content_type="application/json")


def _status(error: ProudError) -> int:
    for kind, status in ((NotFound, 404), (Conflict, 409), (InvalidField, 422), (TransientError, 503)):
        if isinstance(error, kind):
            return status
    return 400


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except msgspec.ValidationError as exc:
        return _json({"error": str(exc)}, 422)
    except msgspec.DecodeError as exc:
        return _json({"error": f"not JSON: {exc}"}, 422)
    except ProudError as exc:
        return _json({"error": exc.message}, _status(exc))
    except web.HTTPException:
        raise
    except Exception as exc:
        # A bug of the simulator: said as JSON like every other answer, and logged with its trace.
        log.exception("ote.simulator.control_failed", path=request.path)
        return _json({"error": f"{type(exc).__name__}: {exc}"}, 500)


async def _body(request: web.Request, spec: type[S]) -> S:
    data = await request.read()
    return msgspec.json.decode(data or b"{}", type=spec)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(LIST_LIMIT_DEFAULT))
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_LIMIT_MAX:
        raise InvalidField("limit", raw, f"must be 1..{LIST_LIMIT_MAX}")
    return int(raw)


def _refusal(refusal: tuple[str, str] | None) -> dict[str, str] | None:
    return None if refusal is None else {"code": refusal[0], "text": refusal[1]}


def _outgoing(entry: Outgoing) -> dict[str, Any]:
    shown = dataclasses.asdict(entry)
    shown.pop("xml")
    return shown


# --- registry ---------------------------------------------------------------------------------------------


async def _status_view(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    registry = simulator.registry
    return _json({
        "now": simulator.clock.now(), "manual_clock": isinstance(simulator.clock, ManualClock),
        "profile": str(simulator.profile), "operator_ean": registry.operator_ean,
        "last_resort_ean": registry.last_resort_ean, "participants": len(registry.participants),
        "opms": len(registry.opms), "scheduled_steps": len(simulator.scheduler),
        "outbox": simulator.outbox.counts(),
    })


async def _participants(request: web.Request) -> web.Response:
    return _json(list(request.app[SIMULATOR].registry.participants.values()))


async def _add_participant(request: web.Request) -> web.Response:
    spec = await _body(request, ParticipantSpec)
    request.app[SIMULATOR].add_participant(spec)
    return _json(request.app[SIMULATOR].registry.participant(spec.ean), 201)


async def _set_last_resort(request: web.Request) -> web.Response:
    spec = await _body(request, LastResortSpec)
    request.app[SIMULATOR].registry.set_last_resort(spec.ean)
    return _json({"last_resort_ean": spec.ean})


async def _opms(request: web.Request) -> web.Response:
    opms = list(request.app[SIMULATOR].registry.opms.values())
    supplier = request.query.get("supplier_ean")
    if supplier is not None:
        opms = [opm for opm in opms if opm.supplier_ean == supplier]
    return _json(opms[-_limit(request):])


async def _opm(request: web.Request) -> web.Response:
    return _json(request.app[SIMULATOR].registry.opm(request.match_info["opm"]))


async def _add_opm(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    spec = await _body(request, OpmSpec)
    today = simulator.clock.now().astimezone(PRAGUE).date()
    return _json(simulator.registry.add_opm(spec, today=today), 201)


async def _switches(request: web.Request) -> web.Response:
    return _json(list(request.app[SIMULATOR].registry.switches.values())[-_limit(request):])


# --- playing the other participants ------------------------------------------------------------------------


def _commodity(simulator: OteSimulator, opm: str) -> Commodity:
    known = simulator.registry.opms.get(opm)
    if known is not None:
        return known.commodity
    return Commodity.electricity if opm.isdigit() else Commodity.gas


async def _request_switch(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    spec = await _body(request, SwitchSpec)
    commodity = _commodity(simulator, spec.opm)
    envelope = messages.envelope(
        codes.CODE_SWITCH_REQUEST[commodity], sender=spec.supplier_ean,
        receiver=simulator.registry.operator_ean, now=simulator.clock.now(),
    )
    message = SwitchRequest(
        envelope=envelope, commodity=commodity, opm=spec.opm, supplier_ean=spec.supplier_ean,
        balance_responsible_ean=spec.balance_responsible_ean or spec.supplier_ean, date_from=spec.date_from,
        date_to=spec.date_to, contract_type=spec.contract_type, switch_type=spec.switch_type,
        contract_negotiation_type=spec.contract_negotiation_type,
    )
    refusal = simulator.receive(message, family="switch-request")
    switch = next((s for s in simulator.registry.switches.values() if s.request_id == envelope.id), None)
    return _json({"request_id": envelope.id, "refusal": _refusal(refusal), "switch": switch})


async def _notice(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    spec = await _body(request, NoticeSpec)
    commodity = _commodity(simulator, spec.opm)
    now = simulator.clock.now()
    item = MasterDataItem(
        opm=spec.opm, valid_from=spec.valid_from or now.astimezone(PRAGUE).date(),
        valid_to=spec.valid_to, supplier_ean=spec.sender_ean, rejection_reason=spec.rejection_reason,
        change_reason=spec.change_reason,
    )
    envelope = messages.envelope(
        codes.CODE_MASTERDATA[commodity], sender=spec.sender_ean, receiver=simulator.registry.operator_ean,
        now=now,
    )
    refusal = simulator.receive(MasterData(envelope=envelope, commodity=commodity, items=(item,)),
                                family="masterdata")
    return _json({"message_id": envelope.id, "refusal": _refusal(refusal)})


async def _fail_supplier(request: web.Request) -> web.Response:
    count = request.app[SIMULATOR].fail_supplier(request.match_info["ean"])
    return _json({"opms": count})


async def _readings(request: web.Request) -> web.Response:
    spec = await _body(request, ReadingsSpec)
    simulator = request.app[SIMULATOR]
    sent = simulator.send_readings(date_to=spec.date_to, opms=spec.opms, supplier=spec.supplier_ean)
    return _json({"messages": sent})


# --- time, the log and the outbox --------------------------------------------------------------------------


async def _process_due(request: web.Request) -> web.Response:
    return _json(await request.app[SIMULATOR].process_due())


async def _clock(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    clock = simulator.clock
    if not isinstance(clock, ManualClock):
        raise Conflict("the simulator runs on the system clock; start it with a manual clock to move time")
    spec = await _body(request, ClockSpec)
    if (spec.advance_s is None) == (spec.to is None):
        raise InvalidField("", None, "give exactly one of advance_s and to")
    if spec.to is not None:
        if spec.to.tzinfo is None or spec.to < clock.now():
            raise InvalidField("to", spec.to, "must be an aware instant not before the simulator's now")
        clock.set(spec.to)
    else:
        assert spec.advance_s is not None
        clock.advance(dt.timedelta(seconds=spec.advance_s))
    summary = await simulator.process_due()
    return _json({"now": clock.now(), "due": summary})


async def _log(request: web.Request) -> web.Response:
    entries = list(request.app[SIMULATOR].log)
    direction = request.query.get("direction")
    if direction is not None:
        entries = [entry for entry in entries if entry.direction == direction]
    return _json(entries[-_limit(request):])


async def _outbox(request: web.Request) -> web.Response:
    raw = request.query.get("status")
    if raw is not None and raw not in set(Delivery):
        raise InvalidField("status", raw, f"is not one of {sorted(Delivery)}")
    status = None if raw is None else Delivery(raw)
    entries = list(request.app[SIMULATOR].outbox.entries(status))
    return _json([_outgoing(entry) for entry in entries[-_limit(request):]])


async def _outbox_xml(request: web.Request) -> web.Response:
    seq = request.match_info["seq"]
    if not seq.isdigit():
        raise InvalidField("seq", seq, "is not a number")
    entry = request.app[SIMULATOR].outbox.get(int(seq))
    if entry.xml is None:
        raise NotFound(f"the XML of outbox message {seq} is no longer kept")
    return web.Response(body=entry.xml, content_type="application/xml")


async def _retry(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    spec = await _body(request, RetrySpec)
    count = simulator.outbox.retry(simulator.clock.now(), spec.seq)
    return _json({"retried": count, "due": await simulator.process_due()})


def create_control_app(simulator: OteSimulator) -> web.Application:
    app = web.Application(client_max_size=BODY_BYTES_MAX, middlewares=[_errors])
    app[SIMULATOR] = simulator
    routes = app.router
    routes.add_get("/", _status_view)
    routes.add_get("/participants", _participants)
    routes.add_post("/participants", _add_participant)
    routes.add_post("/last-resort", _set_last_resort)
    routes.add_get("/opms", _opms)
    routes.add_post("/opms", _add_opm)
    routes.add_get("/opms/{opm}", _opm)
    routes.add_get("/switches", _switches)
    routes.add_post("/switches", _request_switch)
    routes.add_post("/notices", _notice)
    routes.add_post("/suppliers/{ean}/fail", _fail_supplier)
    routes.add_post("/readings", _readings)
    routes.add_post("/process-due", _process_due)
    routes.add_post("/clock", _clock)
    routes.add_get("/log", _log)
    routes.add_get("/outbox", _outbox)
    routes.add_get("/outbox/{seq}/xml", _outbox_xml)
    routes.add_post("/outbox/retry", _retry)
    return app
