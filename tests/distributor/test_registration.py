"""OPM registration: our OPMs reach CS OTE as message 111 (gas: its PDT registration) when created or when
their technical data changes; another DSO's do not; one without a rate is refused, naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec
from gateway.distributor.registration import (
    REGISTRATION_GROUP,
    OpmRegistrations,
    RegistrationRefused,
    registration_for,
    registration_subscription,
)
from gateway.errors import ConfigError, HandlerRejected
from gateway.masterdata.opm import create_opm, set_technical, update_opm
from schemas.envelope import Envelope
from schemas.masterdata.opm import OpmPatch
from schemas.ote import AnyOteMessage, Commodity, OpmRegistration
from tests.distributor.support import (
    NOW,
    OTE_EAN,
    OTHER_DSO_EAN,
    changed,
    context,
    identity,
    new_dso_ean,
    opm_events,
    sends,
    settings,
)
from tests.masterdata.supply_helpers import ACTOR, ADDRESS, electricity_in, electricity_technical, gas_in


async def _deliver(engine: AsyncEngine, dso: str, envelope: Envelope) -> list[OpmRegistration]:
    """Hand ``envelope`` to the consumer; the registrations it emitted (checked on topic, key, process)."""
    handler = OpmRegistrations(identity(dso))
    async with engine.begin() as conn:
        ctx = context(conn, envelope)
        await handler(ctx)
    found = []
    for topic, key, send in sends(ctx):
        assert (topic, key, send.process) == ("ote.outbound", envelope.key, "distributor-registration")
        message = msgspec.convert(send.message, AnyOteMessage)
        assert isinstance(message, OpmRegistration)
        codec.encode(message)  # XSD-valid, and a 111 with a rate
        found.append(message)
    return found


async def _last_event(engine: AsyncEngine, code: str, action: str) -> Envelope:
    events = [e for e in await opm_events(engine, code) if changed(e).action == action]
    assert events, f"no {action} event for {code}"
    return events[-1]


async def test_our_new_electricity_opm_is_registered_with_its_rate(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, electricity_in(dso=dso))
    [registration] = await _deliver(engine, dso, await _last_event(engine, opm.code, "created"))
    envelope = registration.envelope
    assert (envelope.message_code, envelope.sender.ean, envelope.receiver.ean) == ("111", dso, OTE_EAN)
    assert envelope.date_time == dt.datetime(2026, 11, 30, 10, 0)  # the clock's time, Prague local
    assert registration.commodity is Commodity.electricity
    [record] = registration.items
    assert (record.opm, record.dso_ean, record.distribution_rate) == (opm.code, dso, "D02d")
    assert record.valid_from == dt.date(2026, 1, 1)  # the first technical data version's
    assert record.consumption_category is None and record.metering_type is None  # master data has neither


async def test_a_technical_change_registers_the_new_version(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, electricity_in(dso=dso))
        await set_technical(conn, ACTOR, NOW, opm.code, electricity_technical("C02d", since="2027-01-01"))
    [registration] = await _deliver(engine, dso, await _last_event(engine, opm.code, "technical_changed"))
    [record] = registration.items
    assert (record.distribution_rate, record.valid_from) == ("C02d", dt.date(2027, 1, 1))


async def test_our_gas_opm_is_registered_without_a_rate(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, gas_in(dso=dso))
    [registration] = await _deliver(engine, dso, await _last_event(engine, opm.code, "created"))
    assert registration.commodity is Commodity.gas and registration.envelope.message_code == "G01"
    assert registration.items[0].distribution_rate is None


async def test_another_dsos_opm_is_not_registered(engine: AsyncEngine) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        by_ean = await create_opm(conn, ACTOR, NOW, electricity_in(dso=OTHER_DSO_EAN))
        by_name = await create_opm(conn, ACTOR, NOW, electricity_in(dso="ČEZ Distribuce"))
        await set_technical(conn, ACTOR, NOW, by_ean.code, electricity_technical("C02d", since="2027-01-01"))
    for code in (by_ean.code, by_name.code):
        for envelope in await opm_events(engine, code):
            assert await _deliver(engine, dso, envelope) == []


async def test_an_opm_that_moves_to_our_grid_is_registered_an_address_change_is_not(
    engine: AsyncEngine,
) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, electricity_in(dso=OTHER_DSO_EAN))
        moved = await update_opm(conn, ACTOR, NOW, opm.code, OpmPatch(version=opm.version, dso=dso))
    [registration] = await _deliver(engine, dso, await _last_event(engine, opm.code, "updated"))
    assert registration.items[0].valid_from == NOW.date()  # the day it became ours (technical data is older)
    address = msgspec.structs.replace(ADDRESS, house_number="14")
    async with engine.begin() as conn:
        await update_opm(conn, ACTOR, NOW, opm.code, OpmPatch(version=moved.version, supply_address=address))
    assert await _deliver(engine, dso, await _last_event(engine, opm.code, "updated")) == []


def _without_rate(after: dict[str, Any]) -> dict[str, Any]:
    technical = {**after["technical"], "distribution_rate": None}
    return {**after, "technical": technical, "technical_history": [technical]}


async def test_an_electricity_opm_without_rate_or_category_is_refused_naming_the_field(
    engine: AsyncEngine,
) -> None:
    dso = new_dso_ean()
    async with engine.begin() as conn:
        opm = await create_opm(conn, ACTOR, NOW, electricity_in(dso=dso))
    created = await _last_event(engine, opm.code, "created")
    # Master data refuses such an OPM; an image without a rate can only come from elsewhere (an older writer,
    # a hand-made event). The decision is a value; the consumer turns it into a dead letter.
    body = msgspec.structs.replace(changed(created), after=_without_rate(changed(created).after or {}))
    decision = registration_for(body, identity(dso), changed_on=NOW.date(), now=NOW)
    assert isinstance(decision, RegistrationRefused)
    assert (decision.opm, decision.field, decision.value) == (opm.code, "technical.distribution_rate", None)
    with pytest.raises(HandlerRejected) as info:
        await _deliver(engine, dso, msgspec.structs.replace(created, payload=body))
    assert opm.code in info.value.message and "technical.distribution_rate" in info.value.message
    assert "consumption category" in info.value.message


def test_no_consumer_when_distributor_ean_is_unset() -> None:
    assert registration_subscription(settings()) is None


def test_the_consumer_reads_masterdata_opm_when_distributor_ean_is_set() -> None:
    subscription = registration_subscription(settings(distributor_ean=new_dso_ean()))
    assert subscription is not None
    assert (subscription.group_id, subscription.topics) == (REGISTRATION_GROUP, ("masterdata.opm",))


@pytest.mark.parametrize(("values", "key"), [
    ({"distributor_ean": "8591824071503"}, "distributor_ean"),  # wrong check digit
    ({"distributor_ean": "8591824071502", "ote_operator_ean": "8591824000001"}, "ote_operator_ean"),
    ({"distributor_ean": "8591824071502", "market_source_registration": "edc"}, "market_source_registration"),
])
def test_bad_settings_stop_start_up_naming_the_key(values: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        registration_subscription(settings(**values))
    assert info.value.key == key
