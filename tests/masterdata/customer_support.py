"""What the customer and account service tests share: the database on both backends, valid inputs, and
snapshots of every table a service writes (to prove that a refused request stored nothing)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.masterdata import tables as t
from gateway.store.db import create_engine
from gateway.store.tables import outbox
from schemas.envelope import Envelope, decode
from schemas.masterdata.common import Address, Contact, TypedAddress
from schemas.masterdata.customers import CustomerIn

ACTOR: Final = "key:test"
NOW: Final = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
BACKENDS: Final = ("sqlite", "postgresql")

BIRTH_NUMBER: Final = "7103192745"  # 19 March 1971
BIRTH_DATE: Final = dt.date(1971, 3, 19)
ICO: Final = "25596641"  # valid check digit, not among the simulated ARES subjects
DIC: Final = "CZ25596641"

PRAHA: Final = Address(street="Dlouhá", house_number="12", city="Praha", city_part="Staré Město",
                       postal_code="110 00")
BRNO: Final = Address(street="Kounicova", house_number="284/39", city="Brno", postal_code="60200")


@contextlib.asynccontextmanager
async def database(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A migrated database of the backend ``request.param``: a fresh SQLite file, or the shared PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def person(**overrides: Any) -> CustomerIn:
    fields: dict[str, Any] = {
        "kind": "person", "first_name": "Jiří", "last_name": "Dvořák",
        "contacts": [Contact(kind="email", value="jiri@example.cz", primary=True)],
        "addresses": [TypedAddress(kind="permanent", address=PRAHA)],
    }
    fields.update(overrides)
    return CustomerIn(**fields)


def company(**overrides: Any) -> CustomerIn:
    fields: dict[str, Any] = {
        "kind": "company", "segment": "business", "company_name": "Teplárna Líšeň a.s.", "ico": ICO,
        "addresses": [TypedAddress(kind="registered", address=BRNO)],
    }
    fields.update(overrides)
    return CustomerIn(**fields)


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """Row counts of every table the services write, and the number series' positions."""
    async with engine.connect() as conn:
        counts = {
            table.name: await conn.scalar(sa.select(sa.func.count()).select_from(table))
            for table in (t.customer, t.address, t.account, t.change, outbox)
        }
        series = (await conn.execute(sa.select(t.sequence.c.name, t.sequence.c.next_value))).all()
    return {**counts, "series": sorted((name, int(value)) for name, value in series)}


async def changes_of(engine: AsyncEngine, entity: str, key: str) -> list[Any]:
    async with engine.connect() as conn:
        query = sa.select(t.change).where(t.change.c.entity == entity, t.change.c.entity_key == key)
        return list((await conn.execute(query.order_by(t.change.c.id))).all())


async def envelopes_of(engine: AsyncEngine, topic: str, key: str) -> list[Envelope]:
    async with engine.connect() as conn:
        query = sa.select(outbox.c.value).where(outbox.c.topic == topic, outbox.c.key == key)
        return [decode(bytes(row.value)) for row in await conn.execute(query.order_by(outbox.c.seq))]
