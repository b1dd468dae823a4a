"""The OPM speed path writes what ``create_opm`` writes: the same rows, the same audit row and the same event.

Method: create one OPM through the service and its twin (same data, another code) through the bulk import,
then compare every table row, the ``md_change`` after-image and the outbox envelope, with the id, code and
message ids set aside.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.masterdata import bulk, fake, opm
from gateway.masterdata import tables as t
from gateway.masterdata.audit import as_json
from gateway.masterdata.bulk import search_text
from gateway.masterdata.bulk_audit import encoded
from gateway.masterdata.importer import import_file
from gateway.masterdata.service_base import fold
from gateway.store.db import create_engine
from gateway.store.tables import outbox
from schemas.envelope import decode
from schemas.masterdata.common import Address
from schemas.masterdata.events import MasterDataChanged
from tests.masterdata.import_support import (
    IMPORT_DATABASES,
    NOW,
    clock,
    import_database,
    pg_workers_url,  # noqa: F401 - a fixture
    write_jsonl,
)


@pytest.fixture(params=IMPORT_DATABASES)
async def engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(import_database(request, monkeypatch))
    yield engine
    await engine.dispose()


async def _stored(engine: AsyncEngine, code: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        opm_row = (await conn.execute(sa.select(t.opm).where(t.opm.c.code == code))).one()
        rows = {
            name: (await conn.execute(sa.select(table).where(table.c.opm_id == opm_row.id))).all()
            for name, table in (("address", t.address), ("technical", t.opm_technical), ("meters", t.meter))
        }
        change = (await conn.execute(sa.select(t.change).where(
            t.change.c.entity == "opm", t.change.c.entity_key == code))).one()
        event = (await conn.execute(
            sa.select(outbox).where(outbox.c.message_id == change.message_id))).one()
    drop = {"id", "opm_id", "code"}
    found: dict[str, Any] = {name: [{k: v for k, v in row._mapping.items() if k not in drop} for row in found]
                             for name, found in rows.items()}
    found["opm"] = {k: v for k, v in opm_row._mapping.items() if k not in drop}
    return found | {"change": change, "event": event}


def _without_ids(data: Any, opm_id: Any, code: str) -> Any:
    text = msgspec.json.encode(data).decode()
    return msgspec.json.decode(text.replace(str(opm_id), "ID").replace(code, "CODE"))


@pytest.mark.parametrize("gas", [False, True])
async def test_bulk_path_writes_what_create_opm_writes(
    engine: AsyncEngine, tmp_path: Path, gas: bool
) -> None:
    block = 41 if gas else 40
    twin, original = (fake.fake_opm(block, index, gas=gas, seed=5) for index in (1, 2))
    original = msgspec.structs.replace(twin, code=original.code)
    async with engine.begin() as conn:
        await opm.create_opm(conn, "import:one.jsonl", NOW, original)
    summary = await import_file(engine, clock(), write_jsonl(tmp_path / "one.jsonl", [twin]))
    assert summary.counts["opm"].created == 1, summary.errors
    service, bulk = await _stored(engine, original.code), await _stored(engine, twin.code)
    for table in ("opm", "address", "technical", "meters"):
        assert bulk[table] == service[table], table
    s_change, b_change = service["change"], bulk["change"]
    assert (b_change.actor, b_change.action, b_change.version, b_change.before) == (
        s_change.actor, s_change.action, s_change.version, s_change.before,
    )
    assert _without_ids(b_change.after, b_change.entity_id, twin.code) == _without_ids(
        s_change.after, s_change.entity_id, original.code
    )
    s_event, b_event = decode(bytes(service["event"].value)), decode(bytes(bulk["event"].value))
    assert isinstance(b_event.payload, MasterDataChanged) and isinstance(s_event.payload, MasterDataChanged)
    assert b_event.payload.change_id == b_change.id and b_event.id == b_change.message_id
    assert b_event.payload.after == b_change.after
    assert _without_ids(msgspec.structs.replace(b_event.payload, id=uuid.UUID(int=0), change_id=0),
                        b_change.entity_id, twin.code) == _without_ids(
        msgspec.structs.replace(s_event.payload, id=uuid.UUID(int=0), change_id=0),
        s_change.entity_id, original.code)
    assert (b_event.type, b_event.key, b_event.correlation_id) == (s_event.type, twin.code, b_event.id)
    assert bulk["event"].headers == [["proud-id", str(b_event.id)], ["proud-type", "masterdata.changed"]]
    assert bulk["event"].topic == service["event"].topic == "masterdata.opm"


def test_one_step_json_equals_audit_as_json() -> None:
    record = fake.fake_opm(1, 1, gas=False)
    assert encoded(record) == msgspec.json.encode(as_json(record))


@pytest.mark.parametrize("parts", [
    ("Československé armády", "1234/5a", "Ústí nad Labem", "Střekov", "40001"),
    ("Wiener Straße", "1", "Břeclav", None, "69002"),  # ß: folded by fold itself
    (None, "č. ev. 12", "Lhota", "Ŕíčany ﬁ", "25101"),
])
def test_search_text_equals_fold(parts: tuple[str | None, ...]) -> None:
    street, house, city, city_part, postal = parts
    assert city is not None and house is not None and postal is not None
    address = Address(street=street, house_number=house, city=city, city_part=city_part, postal_code=postal)
    assert search_text(address) == fold(*parts)


async def _orphans(engine: AsyncEngine) -> dict[str, int]:
    """Rows of the OPM child tables whose OPM does not exist (they have no foreign key: tables.py)."""
    async with engine.connect() as conn:
        return {
            table.name: int(await conn.scalar(
                sa.select(sa.func.count()).select_from(table)
                .where(table.c.opm_id.is_not(None), table.c.opm_id.not_in(sa.select(t.opm.c.id)))
            ) or 0)
            for table in (t.address, t.opm_technical, t.meter)
        }


async def test_a_bulk_import_leaves_no_child_row_without_its_opm(engine: AsyncEngine, tmp_path: Path) -> None:
    opms = list(fake.fake_opms(97, 300))  # a key block of its own (the bench takes the first free ones)
    path = write_jsonl(tmp_path / "many.jsonl", opms)
    summary = await import_file(engine, clock(), path)
    assert summary.counts["opm"].created == 300, summary.errors
    async with engine.connect() as conn:
        codes = [o.code for o in opms]
        children = await conn.scalar(sa.select(sa.func.count()).select_from(t.opm_technical).join(
            t.opm, t.opm.c.id == t.opm_technical.c.opm_id).where(t.opm.c.code.in_(codes)))
    assert children == 300
    assert await _orphans(engine) == {"md_address": 0, "md_opm_technical": 0, "md_meter": 0}


async def test_a_code_created_meanwhile_falls_back_to_one_by_one(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer created a code between the existence query and the insert: the bulk insert is refused
    by the database, and the batch is applied row by row instead, with nothing lost or doubled."""
    stored, new = (fake.fake_opm(42, index, gas=False, seed=6) for index in (1, 2))
    path = write_jsonl(tmp_path / "race.jsonl", [stored, new])
    async with engine.begin() as conn:
        await opm.create_opm(conn, "import:other.jsonl", NOW, stored)

    async def nothing_exists(conn: object, codes: list[str]) -> set[str]:
        return set()

    monkeypatch.setattr(bulk, "existing_codes", nothing_exists)
    summary = await import_file(engine, clock(), path)
    assert summary.ok, summary.errors
    counts = summary.counts["opm"]
    assert (counts.created, counts.unchanged) == (1, 1)
    async with engine.connect() as conn:
        found = await conn.scalar(sa.select(sa.func.count()).select_from(t.change).where(
            t.change.c.entity_key.in_([stored.code, new.code])))
    assert found == 2
    assert await _orphans(engine) == {"md_address": 0, "md_opm_technical": 0, "md_meter": 0}
