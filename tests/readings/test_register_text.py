"""``rd_reading.register_values``: the text round-trips every register's values, and migration 0016 fills it
for the readings stored before it (on SQLite and PostgreSQL) as the writers write it."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st

from gateway.readings import register_text as rt
from gateway.readings import tables as t
from gateway.store.db import create_engine
from gateway.store.migrate import alembic_config, upgrade_sync
from schemas.readings import RegisterValue
from tests.readings.register_check import mismatches
from tests.store.test_migrations import _in_thread, database_url

__all__ = ["database_url"]

_numbers = st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False) | (
    st.sampled_from([Decimal("1E+3"), Decimal("1E-7"), Decimal("-0.0"), Decimal("0E-5"), Decimal("12.300")])
)
_maybe = st.none() | _numbers
_values = st.builds(RegisterValue, register=st.sampled_from(["vt", "nt", "single"]), start_state=_maybe,
                    end_state=_maybe, consumption_kwh=_numbers, volume_m3=_maybe)


@given(st.lists(_values, max_size=3))
def test_the_text_gives_back_every_value_and_digit(values: list[RegisterValue]) -> None:
    text = rt.register_values(values)
    expected = [
        (value.register, *(None if number is None else format(number, "f") for number in (
            value.start_state, value.end_state, value.consumption_kwh, value.volume_m3)))
        for value in values
    ]
    assert rt.parts(text) == expected
    # Exact: the decimal of each text is the value, whatever its exponent (1E+3, 0.0000001).
    assert [Decimal(part[3]) for part in rt.parts(text)] == [value.consumption_kwh for value in values]


def test_a_reading_without_registers_has_an_empty_text() -> None:
    assert (rt.register_values(()), rt.parts("")) == ("", [])


_NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
_READINGS = (  # id, duplicate_of; register rows: register, start, end, kWh, m³
    (1, None, [("vt", "100.500", "200", "99.500", None), ("nt", "7", "8.000", "1", None)]),
    (2, None, [("single", None, None, "31.250", "3.000")]),  # gas: consumption only
    (3, 1, []),  # a duplicate of reading 1
)


async def _store_before_0016(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        for reading_id, duplicate_of, registers in _READINGS:
            await conn.execute(sa.text(
                "INSERT INTO rd_reading (id, opm, commodity, meter_id, date_from, date_to, reason, kind, "
                "status, duplicate_of, fingerprint, source, created_at) VALUES (:id, 'OPM', 'electricity', "
                ":meter, :day, :day, 'periodic', 'actual', :status, :duplicate_of, :fingerprint, 'ote', :now)"
            ), {"id": reading_id, "meter": f"M{reading_id}", "day": dt.date(2026, 1, 31),
                "status": "new" if duplicate_of is None else "duplicate", "duplicate_of": duplicate_of,
                "fingerprint": b"\0" * 16, "now": _NOW})
            for register, start, end, kwh, m3 in registers:
                await conn.execute(t.register.insert().values(
                    reading_id=reading_id, register=register, start_state=_decimal(start),
                    end_state=_decimal(end), consumption_kwh=Decimal(kwh), volume_m3=_decimal(m3),
                ))
    await engine.dispose()


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


async def _stored(url: str) -> tuple[list[str], dict[int, str]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        found = await mismatches(conn, t.reading.c.opm == "OPM")
        texts = dict((await conn.execute(sa.select(t.reading.c.id, t.reading.c.register_values))).all())
    await engine.dispose()
    return found, texts


def test_migration_0016_fills_the_text_of_readings_stored_before_it(database_url: str) -> None:
    _in_thread(command.upgrade, alembic_config(database_url), "0015_contract_billed_until")
    _in_thread(asyncio.run, _store_before_0016(database_url))

    upgrade_sync(database_url)

    found, texts = _in_thread(asyncio.run, _stored(database_url))
    assert found == []
    assert texts[2] == "single   31.250 3.000"
    assert rt.parts(texts[3]) == rt.parts(texts[1])
