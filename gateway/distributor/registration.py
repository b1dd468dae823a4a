"""OPM registration: an OPM we distribute is registered in CS OTE when it is created or its technical data
changes (electricity: message code 111 [C]; gas: the PDT registration, code [I], see ``codes``).

A consumer of ``masterdata.opm`` (group ``proud.distributor-registration``), active only when the setting
``distributor_ean`` is set (``registration_subscription``). It reads the OPM as the event's ``after`` image
shows it, so that a replay decides the same way:

- ``created``: the OPM's first technical data version, from its ``effective_from``;
- ``technical_changed``: the version just set, from its ``effective_from`` (the image is read as of it);
- ``updated`` whose DSO became us (another DSO's OPM moved to our grid): the version in force, from the
  day of the change at the earliest.

"Ours" means that the OPM's recorded DSO is our EAN (``DistributorIdentity.is_ours``): master data keeps the
DSO of every OPM, as a 13-digit EAN or as a name; one recorded by name is never taken for ours.

Since 1.1.2018 CS OTE rejects a 111 that carries neither the consumption category nor the distribution rate
[C]. Master data keeps no consumption category, so an electricity OPM without a distribution rate cannot be
registered: the handler refuses the event (``HandlerRejected``, dead-lettered, naming the OPM and the field).
A dead letter, not a log line: the registration is a duty towards the market that did not happen, and the
dead-letter store is where proud keeps work it could not do (``proud dlq list``, a metric to alert on). The
fix is a technical data version with a rate, whose own event registers the OPM; the dead letter is then
dropped, not replayed (it carries the old image and would be refused again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import msgspec

from connectors.ote import codec
from connectors.ote.codec import OteInvalidOutbound
from connectors.ote.topics import OTE_OUTBOUND
from gateway.bus.handler import HandlerContext, Subscription
from gateway.config import Settings
from gateway.distributor.codes import MESSAGE_CODE_REGISTRATION_ELECTRICITY, MESSAGE_CODE_REGISTRATION_GAS
from gateway.distributor.identity import (
    PROCESS_REGISTRATION,
    DistributorIdentity,
    distributor_identity,
    ote_send,
    require_source,
)
from gateway.errors import HandlerRejected, MalformedMessage
from gateway.masterdata.service_base import local_date
from gateway.masterdata.topics import OPM
from schemas.masterdata.events import MasterDataChanged
from schemas.masterdata.opm import Technical
from schemas.ote import Commodity, OpmRecord, OpmRegistration

REGISTRATION_GROUP: Final = "proud.distributor-registration"
#: The OPM service's actions that can call for a registration (``gateway.masterdata.opm``, ``bulk``).
REGISTERING_ACTIONS: Final = frozenset({"created", "technical_changed", "updated"})


class _OpmImage(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of an OPM's audit image (``schemas.masterdata.opm.Opm`` as JSON) a registration needs."""

    code: str
    commodity: Commodity
    dso: str
    technical: Technical | None = None
    technical_history: list[Technical] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RegistrationRefused:
    """An OPM of ours that cannot be registered: ``field`` of its master data has ``value``, and why not."""

    opm: str
    field: str
    value: object
    reason: str

    @property
    def message(self) -> str:
        return f"OPM {self.opm}: registration refused: {self.field} = {self.value!r} {self.reason}"


def registration_for(
    change: MasterDataChanged, identity: DistributorIdentity, *, changed_on: dt.date, now: dt.datetime
) -> OpmRegistration | RegistrationRefused | None:
    """The registration a master-data change calls for; None when it calls for none (not an OPM, not ours,
    an action that changes nothing 111 carries). ``changed_on``: the local day of the change."""
    if change.entity != "opm" or change.action not in REGISTERING_ACTIONS or change.after is None:
        return None
    after = _image("after", change.after)
    if not identity.is_ours(after.dso):
        return None
    if change.action == "updated":
        if change.before is not None and identity.is_ours(_image("before", change.before).dso):
            return None  # already ours: an address change, nothing the registration carries
        return _registration(identity, after, _in_force(after), changed_on, now)
    if change.action == "created":
        first = after.technical_history[0] if after.technical_history else None
        return _registration(identity, after, first, None, now)
    return _registration(identity, after, after.technical, None, now)


def _image(field: str, data: dict[str, object]) -> _OpmImage:
    try:
        return msgspec.convert(data, _OpmImage)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"masterdata.changed {field}: not an OPM image: {exc}") from exc


def _in_force(image: _OpmImage) -> Technical | None:
    """The version in force when the image was taken, else (all versions in the future) the first."""
    if image.technical is not None:
        return image.technical
    return image.technical_history[0] if image.technical_history else None


def _registration(
    identity: DistributorIdentity, image: _OpmImage, technical: Technical | None, earliest: dt.date | None,
    now: dt.datetime,
) -> OpmRegistration | RegistrationRefused:
    if technical is None:
        return RegistrationRefused(image.code, "technical", None, "is missing: the OPM has no technical data")
    rate = technical.distribution_rate
    electricity = image.commodity is Commodity.electricity
    if electricity and not rate:
        return RegistrationRefused(
            image.code, "technical.distribution_rate", rate,
            "is missing, and master data keeps no consumption category: CS OTE rejects message 111 "
            "without one of them",
        )
    valid_from = max(technical.effective_from, earliest) if earliest else technical.effective_from
    record = OpmRecord(
        opm=image.code, valid_from=valid_from, dso_ean=identity.distributor_ean,
        # Master data keeps neither the metering type nor the consumption category: both left out.
        distribution_rate=rate if electricity else None,
    )
    code = MESSAGE_CODE_REGISTRATION_ELECTRICITY if electricity else MESSAGE_CODE_REGISTRATION_GAS
    return OpmRegistration(envelope=identity.envelope(code, now), commodity=image.commodity, items=(record,))


@dataclass(frozen=True, slots=True)
class OpmRegistrations:
    """The consumer: one ``ote.send`` per registration, keyed by the OPM code."""

    identity: DistributorIdentity

    def subscription(self) -> Subscription:
        return Subscription(REGISTRATION_GROUP, (OPM.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, MasterDataChanged):
            expected = MasterDataChanged.message_type
            raise HandlerRejected(f"distributor registration got {ctx.envelope.type}, expected {expected}")
        decision = registration_for(
            body, self.identity, changed_on=local_date(ctx.envelope.occurred_at), now=ctx.now
        )
        if decision is None:
            return
        if isinstance(decision, RegistrationRefused):
            raise HandlerRejected(decision.message)
        try:
            codec.encode(decision)  # the XSD and the codec's rules, before it goes anywhere
        except OteInvalidOutbound as exc:
            raise HandlerRejected(f"OPM {body.key}: registration refused: {exc.message}") from exc
        ctx.emit_payload(OTE_OUTBOUND.name, ote_send(decision, PROCESS_REGISTRATION), key=body.key)


def registration_subscription(settings: Settings) -> Subscription | None:
    """The registration consumer, or None when this install is no DSO (``distributor_ean`` unset). Raises
    ``ConfigError`` for a bad DSO or OTE EAN, or ``market_source_registration`` other than ``ote``."""
    identity = distributor_identity(settings)
    if identity is None:
        return None
    require_source(settings, "market_source_registration")
    return OpmRegistrations(identity).subscription()
