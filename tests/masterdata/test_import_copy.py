"""The bulk import's own encodings equal what they replace: binary COPY values read back as written, and the
event cut from a template equals the event encoded whole.

Method: COPY values through ``bulk_copy`` into a temporary PostgreSQL table and read them back; build events
both ways for changes chosen to trip a template (quotes, percent signs, a stand-in in the actor).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec
import pytest
import sqlalchemy as sa

from gateway.masterdata import bulk_copy as copy
from gateway.masterdata.audit import Change
from gateway.masterdata.bulk_audit import _event_parts_whole, _template, event_parts
from gateway.store.db import create_engine

NOW = dt.datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=dt.UTC)
QUANTITIES = ["0", "0.000", "0.001", "0.5", "639", "15175.000", "99999999999999.999", "10000", "1E+5",
              "12345678.9", "0.0001", "-3.25", "100000000", "-0.00", "-1234.50", "1E-7", "-1.5E+3",
              "0.00010000", "-99999999999999.999"]


async def test_copied_values_read_back_as_written(pg_url: str) -> None:
    engine = create_engine(pg_url)
    columns = ("n", "q", "d", "ts", "s", "i", "u")
    rows = [
        b"".join((copy.field_count(len(columns)), copy.numeric(Decimal(value)), copy.numeric(Decimal(value)),
                  copy.date(dt.date(1999, 12, 31) + dt.timedelta(days=index)), copy.timestamptz(NOW),
                  copy.text(f"Jindřichův Hradec {index}"), copy.int2(index),
                  copy.uuid_field(uuid.UUID(int=index))))
        for index, value in enumerate(QUANTITIES)
    ]
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "CREATE TEMPORARY TABLE copied (k serial, n numeric, q numeric(17, 3), d date, "
                "ts timestamptz, s varchar(200), i smallint, u uuid)"
            ))
            await copy.copy_binary(conn, "copied", columns, rows)
            found = (await conn.execute(sa.text(
                "SELECT n, n::text AS n_text, q, d, ts, s, i, u FROM copied ORDER BY k"
            ))).all()
    finally:
        await engine.dispose()
    assert len(found) == len(QUANTITIES)
    for index, (row, value) in enumerate(zip(found, QUANTITIES, strict=True)):
        assert row.n == Decimal(value) and row.q == Decimal(value).quantize(Decimal("0.001")), value
        number = Decimal(value)
        assert row.n_text == format(abs(number) if number == 0 else number, "f"), value  # the scale too
        assert row.d == dt.date(1999, 12, 31) + dt.timedelta(days=index)
        expected = (NOW, f"Jindřichův Hradec {index}", index, uuid.UUID(int=index))
        assert (row.ts, row.s, row.i, row.u) == expected


async def test_a_numeric_of_hundreds_of_digits_reads_back(pg_url: str) -> None:
    """A field longer than the lengths encoded ahead (4,095 bytes)."""
    value = Decimal("-1" + "0" * 9_000 + ".5")  # 2,252 base-10000 digits: a field of 4,512 bytes
    engine = create_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TEMPORARY TABLE long_numeric (n numeric)"))
            await copy.copy_binary(conn, "long_numeric", ("n",), [copy.field_count(1) + copy.numeric(value)])
            found = (await conn.execute(sa.text("SELECT n::text FROM long_numeric"))).scalar_one()
    finally:
        await engine.dispose()
    assert found == format(value, "f")


@pytest.mark.parametrize(("key", "actor", "before"), [
    ("859182400010000033", "import:opm.jsonl", None),
    ('a "quoted" key \\ with 100 %', "import:50 % off \"x\".jsonl", {"dso": "Old", "n": [1, 2]}),
    ("27ZG701Z00000054", 'import:"proud-stand-in-key".jsonl', None),  # escaped: still a template
    ("27ZG701Z00000054", "import:7777777777771.jsonl", None),  # the version's stand-in: no template
])
def test_templated_event_equals_the_event_encoded_whole(key: str, actor: str, before: object) -> None:
    change = Change("opm", uuid.uuid4(), key, "created", 3, before, {"code": key})
    before_json = None if before is None else msgspec.json.encode(before)
    after_json = msgspec.json.encode({"code": key, "text": "50 %s"})
    message_id = uuid.uuid4()
    fast = event_parts(change, actor, NOW, message_id, before_json, after_json)
    assert fast == _event_parts_whole(change, actor, NOW, message_id, before_json, after_json)
    assert (_template("opm", "created", actor, NOW) is None) == ("7777777777771" in actor)
