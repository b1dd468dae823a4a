"""The welcome letter: a signed contract gets exactly one PDF letter in the DMS, linked to its objects."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Record
from gateway.bus.handler import HandlerContext
from gateway.config import Settings, load_settings
from gateway.errors import ConfigError
from gateway.masterdata.accounts import create_account
from gateway.masterdata.contracts import create_contract, terminate_contract
from gateway.masterdata.customers import create_customer
from gateway.masterdata.documents import documents_about, read_content
from gateway.masterdata.filestore import LocalFileStore
from gateway.masterdata.letter_template import InvalidLetterTemplate, load_letter_template
from gateway.masterdata.opm import create_opm
from gateway.masterdata.welcome import WelcomeLetters, address_lines, welcome_letters
from gateway.store.tables import outbox
from gateway.subscriptions import builtin_subscriptions
from schemas.envelope import Envelope, decode
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.common import Address
from schemas.masterdata.contracts import ContractIn, Termination
from tests.masterdata.customer_support import ACTOR, BACKENDS, database, person
from tests.masterdata.letter_support import write_template
from tests.masterdata.supply_helpers import electricity_in

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
NEXT_YEAR = dt.date(2027, 1, 1)


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    async with database(request) as engine:
        yield engine


async def _signed_contract(
    engine: AsyncEngine, negotiation: str = "distance", *, signed_on: dt.date = TODAY,
    valid_from: dt.date = NEXT_YEAR, valid_to: dt.date | None = None,
) -> tuple[str, str]:
    """A customer, account, OPM and contract through the services: (contract number, OPM code)."""
    async with engine.begin() as conn:
        customer = await create_customer(conn, ACTOR, NOW, person())
        account = await create_account(conn, ACTOR, NOW, AccountIn(customer=customer.number))
        opm = await create_opm(conn, ACTOR, NOW, electricity_in())
        contract = await create_contract(conn, ACTOR, NOW, ContractIn(
            customer=customer.number, account=account.variable_symbol, opm=opm.code, product="Stálá cena 24",
            signed_on=signed_on, valid_from=valid_from, valid_to=valid_to,
            negotiation=negotiation,  # type: ignore[arg-type]
        ))
    return contract.number, opm.code


async def _created_event(engine: AsyncEngine, number: str) -> Envelope:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(outbox.c.value).where(outbox.c.topic == "masterdata.contracts", outbox.c.key == number)
        )).all()
    envelopes = [decode(row.value) for row in rows]
    created = [e for e in envelopes if getattr(e.payload, "action", None) == "created"]
    assert len(created) == 1, envelopes
    return created[0]


async def _deliver(engine: AsyncEngine, letters: WelcomeLetters, envelope: Envelope) -> None:
    record = Record(topic="masterdata.contracts", partition=0, offset=0, key=envelope.key, value=b"",
                    headers=(), timestamp_ms=0)
    async with engine.begin() as conn:
        await letters(HandlerContext(conn=conn, envelope=envelope, record=record, group_id="test", now=NOW,
                                     attempt=1))


def _letters(tmp_path: Path) -> WelcomeLetters:
    return WelcomeLetters(LocalFileStore(tmp_path / "documents"), "Moravská energie a.s.", "Brno")


async def test_a_signed_contract_gets_one_letter_linked_to_its_objects(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    letters = _letters(tmp_path)
    number, code = await _signed_contract(engine)
    envelope = await _created_event(engine, number)
    await _deliver(engine, letters, envelope)
    await _deliver(engine, letters, envelope)  # delivered again (replay): still one letter
    async with engine.connect() as conn:
        found = await documents_about(conn, [("contract", number)], kind="welcome_letter")
        assert len(found) == 1
        document = found[0]
        assert {(ref.entity, ref.key) for ref in document.links} >= {("contract", number), ("opm", code)}
        version, content = await read_content(conn, letters.files, document.id)
    assert version.media_type == "application/pdf" and content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Jiří Dvořák" in text and code in text and number in text
    assert "Odstoupení" in text  # a distance contract of a consumer: the withdrawal paragraph is there


async def test_a_contract_withdrawn_before_the_letter_gets_none(engine: AsyncEngine, tmp_path: Path) -> None:
    letters = _letters(tmp_path)
    number, _ = await _signed_contract(engine)
    async with engine.begin() as conn:
        withdrawal = Termination(kind="withdrawal", served_on=NOW.date())
        await terminate_contract(conn, ACTOR, NOW, number, withdrawal)
    await _deliver(engine, letters, await _created_event(engine, number))
    async with engine.connect() as conn:
        assert await documents_about(conn, [("contract", number)], kind="welcome_letter") == []


@pytest.mark.parametrize(("what", "signed_on", "valid_from", "valid_to", "letters"), [
    ("supply starts next month", "2026-11-20", "2026-12-01", None, 1),
    ("supply started 30 days ago (a late letter)", "2026-10-01", "2026-10-31", None, 1),
    ("supply started 31 days ago: a migrated contract", "2026-09-01", "2026-10-30", None, 0),
    ("an imported contract of 2023", "2023-05-10", "2023-06-01", None, 0),
    ("a fixed term that ended before the letter", "2026-09-01", "2026-11-01", "2026-11-29", 0),
])
async def test_only_new_contracts_are_welcomed(
    engine: AsyncEngine, tmp_path: Path, what: str, signed_on: str, valid_from: str, valid_to: str | None,
    letters: int,
) -> None:
    welcome = _letters(tmp_path)
    number, _ = await _signed_contract(
        engine, signed_on=dt.date.fromisoformat(signed_on), valid_from=dt.date.fromisoformat(valid_from),
        valid_to=dt.date.fromisoformat(valid_to) if valid_to else None,
    )
    await _deliver(engine, welcome, await _created_event(engine, number))
    async with engine.connect() as conn:
        found = await documents_about(conn, [("contract", number)], kind="welcome_letter")
    assert len(found) == letters, what


def test_address_lines_for_the_envelope() -> None:
    street = Address(street="Dlouhá", house_number="12/3", city="Praha", postal_code="11000")
    village = Address(house_number="7", city="Lhota", city_part="Horní Lhota", postal_code="58291")
    abroad = Address(street="Hauptstraße", house_number="5", city="Wien", postal_code="1010", country="AT")
    assert address_lines(street) == ["Dlouhá 12/3", "110 00 Praha"]
    assert address_lines(village) == ["Horní Lhota 7", "582 91 Lhota"]
    assert address_lines(abroad) == ["Hauptstraße 5", "1010 Wien", "AT"]


async def test_the_template_setting_words_the_letter(engine: AsyncEngine, tmp_path: Path) -> None:
    path = write_template(tmp_path, ('greeting = "Dobrý den,"', 'greeting = "Milý {customer_name},"'))
    settings = Settings(welcome_letter_template=str(path), supplier_name="Moravská energie a.s.")
    letters = welcome_letters(settings, LocalFileStore(tmp_path / "documents"))
    assert letters.template == load_letter_template(path)
    number, _ = await _signed_contract(engine)
    await _deliver(engine, letters, await _created_event(engine, number))
    async with engine.connect() as conn:
        [document] = await documents_about(conn, [("contract", number)], kind="welcome_letter")
        _, content = await read_content(conn, letters.files, document.id)
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "Milý Jiří Dvořák," in text and "Dobrý den" not in text


def test_without_the_setting_the_packaged_template_is_used(tmp_path: Path) -> None:
    letters = welcome_letters(Settings(), LocalFileStore(tmp_path / "documents"))
    assert letters.template == load_letter_template(None) == _letters(tmp_path).template


def test_a_bad_template_setting_fails_when_the_consumer_is_built(tmp_path: Path) -> None:
    path = write_template(tmp_path, ('greeting = "Dobrý den,"', 'greeting = "Dobrý den, {customr_name},"'))
    settings = load_settings(
        environ={"PROUD_WELCOME_LETTER_TEMPLATE": str(path), "PROUD_DATA_DIR": str(tmp_path / "data")}
    )
    assert settings.welcome_letter_template == str(path)

    with pytest.raises(InvalidLetterTemplate) as caught:
        welcome_letters(settings, LocalFileStore(tmp_path / "documents"))
    assert caught.value.field == "body.greeting"
    assert str(path) in caught.value.message and "{customr_name}" in caught.value.message
    # The daemon builds its consumers before it starts, so start-up stops on a ConfigError (exit 2).
    with pytest.raises(ConfigError, match="customr_name"):
        builtin_subscriptions(settings)
    missing = Settings(welcome_letter_template=str(tmp_path / "chybí.toml"))
    with pytest.raises(InvalidLetterTemplate, match="cannot read file"):
        welcome_letters(missing, LocalFileStore(tmp_path / "documents"))
