"""Shared pieces of the OPM, contract and supply tests: fresh codes, customer and account rows, events.

Customers and accounts are inserted straight into ``md_customer`` / ``md_account``: these tests are about
OPMs and contracts, and need only rows to refer to. Codes and numbers are random, because the PostgreSQL
test database lives for the whole session.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.masterdata import tables as t
from gateway.masterdata.contracts import create_contract
from gateway.masterdata.identifiers import ean_check_digit, eic_check_char
from gateway.masterdata.opm import create_opm
from gateway.store.tables import outbox
from schemas.envelope import Envelope, decode
from schemas.masterdata.common import Address
from schemas.masterdata.contracts import Contract, ContractIn
from schemas.masterdata.events import MasterDataChanged
from schemas.masterdata.opm import MeterIn, OpmIn, Register, Technical, Unit

NOW: Final = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
TODAY: Final = NOW.date()
ACTOR: Final = "key:test"
ADDRESS: Final = Address(street="Dlouhá", house_number="12", city="Praha", postal_code="110 00")
_EIC_CHARS: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_rng = random.Random()  # not seeded: codes must differ from run to run on the session-long PostgreSQL


def new_ean() -> str:
    body = "8591824" + "".join(_rng.choice("0123456789") for _ in range(10))
    return body + ean_check_digit(body)


def new_eic() -> str:
    while True:
        body = "27ZG" + "".join(_rng.choice(_EIC_CHARS) for _ in range(11))
        try:
            return body + eic_check_char(body)
        except ValueError:  # the body would need the check character '-', never issued
            continue


def new_number(prefix: str = "T") -> str:
    return prefix + "".join(_rng.choice("0123456789") for _ in range(12))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def single_meter(serial: str = "M1", installed_on: str = "2020-01-01", unit: Unit = "kWh") -> MeterIn:
    registers = [Register(code="SINGLE", unit=unit)]
    return MeterIn(serial=serial, installed_on=day(installed_on), registers=registers)


def two_tariff_meter(serial: str = "M2", installed_on: str = "2020-01-01") -> MeterIn:
    return MeterIn(serial=serial, installed_on=day(installed_on), registers=[
        Register(code="VT", unit="kWh"), Register(code="NT", unit="kWh"),
    ])


def electricity_technical(rate: str = "D02d", since: str = "2026-01-01", **changes: Any) -> Technical:
    values: dict[str, Any] = {
        "effective_from": day(since), "distribution_rate": rate, "breaker_phases": 3, "breaker_amps": 25,
        "tdd_class": "4", "annual_consumption_kwh": Decimal("3500"),
    }
    return Technical(**{**values, **changes})


def gas_technical(band: str = "7.56-15", since: str = "2026-01-01", **changes: Any) -> Technical:
    values: dict[str, Any] = {
        "effective_from": day(since), "gas_band": band, "tdd_class": "DOM4",
        "annual_consumption_kwh": Decimal("12000"),
    }
    return Technical(**{**values, **changes})


def electricity_in(code: str | None = None, **changes: Any) -> OpmIn:
    values: dict[str, Any] = {
        "code": code or new_ean(), "dso": "ČEZ Distribuce", "supply_address": ADDRESS,
        "technical": electricity_technical(), "meters": [single_meter()],
    }
    return OpmIn(**{**values, **changes})


def gas_in(code: str | None = None, **changes: Any) -> OpmIn:
    values: dict[str, Any] = {
        "code": code or new_eic(), "dso": "GasNet", "supply_address": ADDRESS,
        "technical": gas_technical(), "meters": [single_meter(unit="m3")],
    }
    return OpmIn(**{**values, **changes})


async def add_customer(conn: AsyncConnection, kind: str = "person") -> tuple[uuid.UUID, str]:
    """A bare customer row: its id and number."""
    customer_id, number = uuid.uuid4(), new_number("C")
    await conn.execute(sa.insert(t.customer).values(
        id=customer_id, number=number, kind=kind, segment="household" if kind == "person" else "business",
        first_name="Jana" if kind == "person" else None, last_name="Nová" if kind == "person" else None,
        company_name="Firma s.r.o." if kind == "company" else None, search_name="jana nova",
        consent_einvoice=False, consent_marketing=False, contacts=[], version=1, created_at=NOW,
        updated_at=NOW,
    ))
    return customer_id, number


async def add_account(conn: AsyncConnection, customer_id: uuid.UUID) -> str:
    """A bare contract account row of the customer: its variable symbol."""
    variable_symbol = "".join(_rng.choice("0123456789") for _ in range(10))
    await conn.execute(sa.insert(t.account).values(
        id=uuid.uuid4(), customer_id=customer_id, variable_symbol=variable_symbol,
        payment_method="bank_transfer", billing_cycle="annual", advance_frequency="monthly",
        dunning_procedure="standard", delivery_channel="email_pdf", version=1, created_at=NOW,
        updated_at=NOW,
    ))
    return variable_symbol


def contract_in(customer: str, account: str, opm: str, **changes: Any) -> ContractIn:
    values: dict[str, Any] = {
        "customer": customer, "account": account, "opm": opm, "product": "Elektřina Standard",
        "signed_on": day("2026-11-20"), "valid_from": day("2027-01-01"), "notice_period_days": 30,
        "negotiation": "distance",
    }
    return ContractIn(**{**values, **changes})


_COUNTED: Final = (
    t.opm, t.opm_technical, t.meter, t.address, t.contract, t.contract_terms, t.supply, t.change, outbox,
    t.sequence,
)


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table these services write."""
    async with engine.connect() as conn:
        return {
            table.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in _COUNTED
        }


async def events(engine: AsyncEngine, topic: str, key: str) -> list[Envelope]:
    """The envelopes queued in the outbox for ``topic`` and ``key``, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.key, outbox.c.value).where(outbox.c.topic == topic, outbox.c.key == key)
            .order_by(outbox.c.seq)
        )
        found = [(row.key, decode(row.value)) for row in rows]
    assert all(envelope.key == row_key for row_key, envelope in found)
    return [envelope for _, envelope in found]


def changed(envelope: Envelope) -> MasterDataChanged:
    assert isinstance(envelope.payload, MasterDataChanged), type(envelope.payload)
    return envelope.payload


E = TypeVar("E", bound=BaseException)


async def refused(
    engine: AsyncEngine, call: Callable[[AsyncConnection], Awaitable[object]], error: type[E]
) -> E:
    """``call`` fails with ``error`` and stores nothing.

    The transaction is committed after the failure, so a service that wrote before refusing would leave rows
    behind (a rollback would hide that).
    """
    before = await counts(engine)
    async with engine.begin() as conn:
        with pytest.raises(error) as info:
            await call(conn)
    assert await counts(engine) == before
    return info.value


@dataclass(frozen=True)
class Parties:
    """What a contract refers to: a customer (id and number), one of its accounts (VS) and an OPM (code)."""

    customer_id: uuid.UUID
    customer: str
    account: str
    opm: str


async def add_parties(engine: AsyncEngine, kind: str = "person") -> Parties:
    async with engine.begin() as conn:
        customer_id, customer = await add_customer(conn, kind)
        account = await add_account(conn, customer_id)
        opm = await create_opm(conn, ACTOR, NOW, electricity_in())
    return Parties(customer_id, customer, account, opm.code)


async def add_contract(engine: AsyncEngine, parties: Parties, **changes: Any) -> Contract:
    async with engine.begin() as conn:
        return await create_contract(
            conn, ACTOR, NOW, contract_in(parties.customer, parties.account, parties.opm, **changes)
        )
