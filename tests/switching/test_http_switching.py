"""``/api/switching`` over real HTTP against a daemon on PostgreSQL (SQL-log bus): an objection goes to
``switch.events`` through the outbox; the processes of an OPM are read with their history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.http.api_keys import Role
from gateway.process.tables import process_history, process_instance
from gateway.store.tables import outbox
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import Envelope, decode
from schemas.switching import ObjectionRequested
from tests.http.masterdata_support import NOW, MdApp, fresh_ean, opm, running
from tests.http.support import wait_for
from tests.masterdata.supply_helpers import new_ean


@pytest.fixture
async def app(pg_url: str, unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    # No rule files: these tests are about the API, not about machines other engineers are editing.
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(tmp_path / "no-rules")}
    async with running(environ, unique, tmp_path) as started:
        yield started


async def queued(engine: AsyncEngine, key: str) -> list[Envelope]:
    query = sa.select(outbox.c.value).where(
        outbox.c.topic == SWITCH_EVENTS.name, outbox.c.key == key
    ).order_by(outbox.c.seq)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [decode(row.value) for row in rows]


async def add_instance(
    engine: AsyncEngine, machine: str, key: str, state: str, data: dict[str, Any], steps: list[str]
) -> None:
    """An instance of ``machine`` for ``key`` that went through ``steps`` (as the runtime stores one)."""
    at = NOW - dt.timedelta(days=len(steps))
    async with engine.begin() as conn:
        instance_id = (await conn.execute(process_instance.insert().values(
            machine=machine, key=key, version="v1", state=state, data=data, seq=len(steps),
            entered_seq=len(steps), transitions=len(steps), created_at=at, updated_at=NOW,
        ).returning(process_instance.c.id))).scalar_one()
        previous: str | None = None
        for seq, to_state in enumerate(steps, start=1):
            await conn.execute(process_history.insert().values(
                instance_id=instance_id, seq=seq, from_state=previous, to_state=to_state,
                transition_at=f"machines/{machine}.yaml:{seq}", message_id=uuid.uuid4(),
                message_type="switch.contract_signed", at=at + dt.timedelta(days=seq), disposition="applied",
            ))
            previous = to_state


async def test_an_objection_is_queued_for_the_opms_process(app: MdApp) -> None:
    code = fresh_ean()
    await app.post("/api/opm", opm(code))

    answer = await app.call(
        "POST", f"/api/switching/{code}/objection", 202, json={"note": "Zákazník odstoupil od nové smlouvy."}
    )

    assert (answer["opm"], answer["reason_code"]) == (code, "ARE")
    assert answer["actor"].startswith("key:test-operator-")
    [envelope] = await queued(app.daemon.engine, code)
    assert str(envelope.id) == answer["message_id"] and envelope.key == code
    assert envelope.payload == ObjectionRequested(
        opm=code, reason_code="ARE", actor=answer["actor"], note="Zákazník odstoupil od nové smlouvy."
    )
    await app.all_published()  # switch.events exists on the bus: the relay published it


async def test_an_objection_is_refused_without_the_role_an_opm_or_a_valid_code(app: MdApp) -> None:
    code = fresh_ean()
    await app.post("/api/opm", opm(code))
    before = await app.counts()

    await app.call("POST", f"/api/switching/{code}/objection", 403, role=Role.READER, json={})
    unknown = new_ean()
    await app.call("POST", f"/api/switching/{unknown}/objection", 404, json={})
    refused = await app.call("POST", f"/api/switching/{code}/objection", 422, json={"reason_code": "are!"})

    assert (refused["field"], refused["value"]) == ("reason_code", "are!")
    assert await app.counts() == before
    assert await queued(app.daemon.engine, code) == []


async def test_the_processes_of_an_opm_with_their_history(app: MdApp) -> None:
    code = fresh_ean()
    await app.post("/api/opm", opm(code))
    assert await app.get(f"/api/switching/{code}") == {"opm": code, "processes": []}

    data = {"contract": "C-1", "advance": Decimal("1200.50")}
    await add_instance(app.daemon.engine, "switch_loss", code, "objecting", data, ["notified", "objecting"])
    await add_instance(app.daemon.engine, "switch_gain", code, "requested", {}, ["requested"])

    view = await app.get(f"/api/switching/{code}")

    assert view["opm"] == code
    assert [(p["machine"], p["state"], p["history_total"]) for p in view["processes"]] == [
        ("switch_gain", "requested", 1), ("switch_loss", "objecting", 2),
    ]
    loss = view["processes"][1]
    assert loss["data"] == {"contract": "C-1", "advance": "1200.50"}  # money stays exact
    assert [(h["seq"], h["from_state"], h["to_state"]) for h in loss["history"]] == [
        (1, None, "notified"), (2, "notified", "objecting"),
    ]
    assert loss["updated_at"].startswith(NOW.date().isoformat())


async def test_processes_of_an_opm_not_in_master_data(app: MdApp) -> None:
    """Supply of last resort can start a process for an OPM master data does not have yet; else 404."""
    assigned, unknown = new_ean(), new_ean()
    await add_instance(app.daemon.engine, "switch_last_resort", assigned, "supplying", {}, ["supplying"])

    view = await app.get(f"/api/switching/{assigned}")

    assert [p["machine"] for p in view["processes"]] == ["switch_last_resort"]
    await app.call("GET", f"/api/switching/{unknown}", 404, role=Role.READER)
    await app.call("GET", f"/api/switching/{assigned}", 401, role=None)


async def test_the_routes_are_in_the_openapi_document(app: MdApp) -> None:
    document = await wait_for(lambda: _document(app), "the OpenAPI document")
    paths = document["paths"]
    assert paths["/api/switching/{opm}"]["get"]["x-proud-role"] == "reader"
    assert paths["/api/switching/{opm}/objection"]["post"]["x-proud-role"] == "operator"
    assert "202" in paths["/api/switching/{opm}/objection"]["post"]["responses"]


async def _document(app: MdApp) -> dict[str, Any] | None:
    async with app.http.get(app.url + "/api/openapi.json") as response:
        return await response.json() if response.status == 200 else None
