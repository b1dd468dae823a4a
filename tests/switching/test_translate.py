"""The OTE translator on PostgreSQL: CS OTE's switch answers and master data, archived as the callback
archives them, become market facts on ``switch.events`` keyed by the OPM, with our contract where it helps."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.ote import codec, soap
from connectors.ote.archive import archive
from connectors.ote.tables import DIRECTION_IN
from connectors.ote.topics import OTE_INBOUND
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.errors import ConfigError, HandlerRejected
from gateway.switching.config import DEFAULT, OTE_EAN, current, install
from gateway.switching.topics import SWITCH_EVENTS
from gateway.switching.translate import SWITCH_TRANSLATE_GROUP, SwitchTranslator
from schemas.envelope import new_envelope
from schemas.ote import Commodity, Envelope, MasterData, MasterDataItem, Party, SwitchAnswer
from schemas.ote.common import (
    CHANGE_REASON_CUSTOMER,
    CHANGE_REASON_END,
    CHANGE_REASON_LAST_RESORT,
    CHANGE_REASON_SWITCH,
)
from schemas.ote.events import OteReceived
from schemas.switching import (
    LastResortAssigned,
    LossNotified,
    SupplyConfirmed,
    SwitchAnswered,
)
from tests.connectors.ote.conftest import GOLDEN
from tests.masterdata.supply_helpers import NOW, add_contract, add_parties, day, new_ean
from tests.switching.support import Emitted, deliver

#: A participant EAN (valid check digit) for the config under test, and another supplier's.
OUR_EAN = "8591824048108"
OTHER_EAN = "8591824003008"
DATE_TIME = dt.datetime(2026, 11, 30, 10, 15)


@pytest.fixture(autouse=True)
def our_config() -> Iterator[None]:
    install(dataclasses.replace(DEFAULT, participant_ean=OUR_EAN))
    yield
    install(DEFAULT)


def envelope(message_id: str, code: str = "158") -> Envelope:
    return Envelope(
        id=message_id, message_code=code, date_time=DATE_TIME, sender=Party(ean=OTE_EAN),
        receiver=Party(ean=OUR_EAN),
    )


async def received(
    engine: AsyncEngine, message: MasterData | SwitchAnswer, *, on_bus: bool = True
) -> OteReceived:
    """Archive ``message`` as the callback does (the SOAP request as it came) and announce it."""
    raw = soap.wrap(codec.encode(message))
    async with engine.begin() as conn:
        archive_id = await archive(
            conn, direction=DIRECTION_IN, raw=raw, now=NOW, message_id=message.envelope.id,
            message_code=message.envelope.message_code, peer_subject=None,
        )
    return OteReceived(
        archive_id=archive_id, family=str(message.__struct_config__.tag),
        message_code=message.envelope.message_code, message_id=message.envelope.id,
        message=msgspec.to_builtins(message) if on_bus else None,
    )


async def translate(engine: AsyncEngine, body: OteReceived, key: str) -> list[Emitted]:
    return await deliver(
        engine, SwitchTranslator(), new_envelope(body, key=key, now=NOW), topic=OTE_INBOUND.name, now=NOW
    )


def item(opm: str, reason: str | None, supplier: str | None, **fields: dt.date) -> MasterDataItem:
    return MasterDataItem(
        opm=opm, valid_from=fields.get("valid_from", day("2027-01-01")), valid_to=fields.get("valid_to"),
        supplier_ean=supplier, change_reason=reason,
    )


async def test_a_switch_answer_is_a_switch_answered_fact(pg_engine: AsyncEngine, unique: str) -> None:
    golden = codec.decode_as((GOLDEN / "switch-answer-electricity.xml").read_bytes(), SwitchAnswer)
    answer = msgspec.structs.replace(golden, envelope=envelope(f"MD{unique}", "151"), opm=new_ean())
    body = await received(pg_engine, answer)

    [emitted] = await translate(pg_engine, body, answer.opm)

    assert (emitted.topic, emitted.key) == (SWITCH_EVENTS.name, answer.opm)
    assert emitted.payload == SwitchAnswered(
        opm=answer.opm, reference_id="PRD-2025-000187", accepted=True, date_from=day("2025-05-01"),
        rejection_reason=None, ote_message_id=f"MD{unique}", archive_id=body.archive_id,
    )


@pytest.mark.parametrize("on_bus", [True, False], ids=["from the bus", "from the archive"])
async def test_master_data_items_become_facts_per_opm(
    pg_engine: AsyncEngine, unique: str, on_bus: bool
) -> None:
    ours = await add_parties(pg_engine)
    contract = await add_contract(
        pg_engine, ours, signed_on=day("2026-10-01"), valid_from=day("2026-11-01"),
        valid_to=day("2027-10-31"), notice_period_days=30,
    )
    lost, stranger, assigned, ended, confirmed, gained, plain = (new_ean() for _ in range(7))
    items = (
        item(ours.opm, CHANGE_REASON_SWITCH, OTHER_EAN),  # we lose an OPM we supply
        item(lost, CHANGE_REASON_SWITCH, OTHER_EAN),  # a loss where we have no contract
        item(assigned, CHANGE_REASON_LAST_RESORT, OUR_EAN, valid_from=day("2026-12-01")),
        item(ended, CHANGE_REASON_END, None, valid_from=day("2026-01-01"), valid_to=day("2026-12-31")),
        item(confirmed, CHANGE_REASON_CUSTOMER, OTHER_EAN),
        item(gained, CHANGE_REASON_SWITCH, OUR_EAN),  # our own switch, confirmed
        item(plain, None, None),  # plain master data: not a fact
        item(stranger, CHANGE_REASON_LAST_RESORT, OTHER_EAN),  # another supplier of last resort
    )
    message = MasterData(envelope=envelope(f"MD{unique}"), commodity=Commodity.electricity, items=items)
    body = await received(pg_engine, message, on_bus=on_bus)
    common = {"ote_message_id": f"MD{unique}", "archive_id": body.archive_id}

    emitted = await translate(pg_engine, body, f"MD{unique}")

    assert [(e.topic, e.key) for e in emitted] == [
        (SWITCH_EVENTS.name, opm) for opm in (ours.opm, lost, assigned, ended, confirmed, gained, stranger)
    ]
    assert [e.payload for e in emitted] == [
        LossNotified(
            opm=ours.opm, commodity="electricity", new_supplier_ean=OTHER_EAN, date_from=day("2027-01-01"),
            contract=contract.number, contract_status="active", account=ours.account, notice_period_days=30,
            contract_valid_to=day("2027-10-31"), **common,
        ),
        LossNotified(
            opm=lost, commodity="electricity", new_supplier_ean=OTHER_EAN, date_from=day("2027-01-01"),
            **common,
        ),
        LastResortAssigned(opm=assigned, commodity="electricity", valid_from=day("2026-12-01"), **common),
        SupplyConfirmed(
            opm=ended, supplier_ean=None, ours=False, valid_from=day("2026-01-01"),
            valid_to=day("2026-12-31"), **common,
        ),
        SupplyConfirmed(
            opm=confirmed, supplier_ean=OTHER_EAN, ours=False, valid_from=day("2027-01-01"), **common
        ),
        SupplyConfirmed(opm=gained, supplier_ean=OUR_EAN, ours=True, valid_from=day("2027-01-01"), **common),
        SupplyConfirmed(
            opm=stranger, supplier_ean=OTHER_EAN, ours=False, valid_from=day("2027-01-01"), **common
        ),
    ]


async def test_a_loss_from_the_day_after_our_contract_ended_finds_none(
    pg_engine: AsyncEngine, unique: str
) -> None:
    ours = await add_parties(pg_engine)
    await add_contract(
        pg_engine, ours, signed_on=day("2026-10-01"), valid_from=day("2026-11-01"),
        valid_to=day("2026-12-30"),
    )
    message = MasterData(
        envelope=envelope(f"MD{unique}"), commodity=Commodity.electricity,
        items=(item(ours.opm, CHANGE_REASON_SWITCH, OTHER_EAN),),
    )

    [emitted] = await translate(pg_engine, await received(pg_engine, message), ours.opm)

    loss = emitted.payload
    assert isinstance(loss, LossNotified) and loss.contract is None and loss.contract_status is None


async def test_other_families_are_not_ours(pg_engine: AsyncEngine, unique: str) -> None:
    for name in ("response-electricity.xml", "metered-electricity.xml", "opm-registration-electricity.xml"):
        message = codec.decode((GOLDEN / name).read_bytes())
        body = OteReceived(
            archive_id=1, family=str(message.__struct_config__.tag), message_code="812",
            message_id=f"X{unique}", message=msgspec.to_builtins(message),
        )
        assert await translate(pg_engine, body, f"X{unique}") == [], name


async def test_a_broken_message_is_refused_naming_the_field(pg_engine: AsyncEngine, unique: str) -> None:
    message = MasterData(
        envelope=envelope(f"MD{unique}"), commodity=Commodity.electricity,
        items=(item(new_ean(), CHANGE_REASON_SWITCH, OTHER_EAN),),
    )
    body = await received(pg_engine, message)
    assert body.message is not None
    broken = msgspec.structs.replace(body, message={**body.message, "items": [{"opm": "1"}]})

    with pytest.raises(HandlerRejected, match=r"at `\$\.items\[0\]"):
        await translate(pg_engine, broken, f"MD{unique}")
    missing = msgspec.structs.replace(body, message=None, archive_id=body.archive_id + 10_000_000)
    with pytest.raises(HandlerRejected, match="no ote_archive row"):
        await translate(pg_engine, missing, f"MD{unique}")


def test_the_translator_reads_ote_inbound_in_its_own_group() -> None:
    subscription = SwitchTranslator().subscription()
    assert (subscription.group_id, subscription.topics) == (SWITCH_TRANSLATE_GROUP, (OTE_INBOUND.name,))


async def test_the_daemon_installs_the_switching_config_at_start(pg_url: str, tmp_path: Path) -> None:
    base = {
        "PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(tmp_path / "no-rules"),
        "PROUD_ARES_BASE_URL": "off", "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
    }
    edc = Daemon(load_settings(environ={**base, "PROUD_MARKET_SOURCE_SWITCHING": "edc"}), serve_http=False)
    try:
        with pytest.raises(ConfigError) as caught:
            await edc.start()
        assert caught.value.key == "market_source_switching"
    finally:
        await edc.stop()

    daemon = Daemon(load_settings(environ={**base, "PROUD_OTE_PARTICIPANT_EAN": OTHER_EAN}), serve_http=False)
    await daemon.start()
    try:
        assert current().participant_ean == OTHER_EAN
    finally:
        await daemon.stop()
