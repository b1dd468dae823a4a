"""The master-data API end to end over real HTTP: customer → account → OPM → contract, the customer-360 view
as of days before and after an amendment and a technical change, and the audit trail with the key's name.

SQLite for the main flow; ``test_postgres_*`` runs the same flow on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from connectors.ares.client import AresLookup, Found
from connectors.ares.codec import AresSubject
from connectors.ares.transport import AresUnavailable
from gateway.http.api_keys import Role
from tests.http.masterdata_support import (
    DIC,
    EAN,
    ICO,
    MdApp,
    account,
    contract,
    fresh_ean,
    opm,
    person,
    running,
    technical,
)
from tests.http.support import bearer


async def full_flow(app: MdApp, unique: str, code: str = EAN) -> None:
    """Create the four objects, check the 360 view today, amend and re-rate from 1 June, and check the view
    as of days on either side of that date."""
    customer = await app.post("/api/customers", person())
    number = customer["number"]
    assert (customer["name"], customer["version"]) == ("Jan Dvořák", 1)
    assert customer["addresses"][0]["address"]["postal_code"] == "11000"  # canonical PSČ
    vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
    created_opm = await app.post("/api/opm", opm(code))
    assert created_opm["commodity"] == "electricity"
    assert created_opm["technical"]["distribution_rate"] == "D01d"
    signed = await app.post("/api/contracts", contract(number, vs, code))
    assert signed["customer"] == number and signed["opm"] == code

    today = await app.get(f"/api/customers/{number}/360")
    assert today["as_of"] == "2026-03-10"  # the clock's day in Prague
    assert today["customer"]["number"] == number
    assert [a["variable_symbol"] for a in today["accounts"]] == [vs]
    [before_start] = today["contracts"]
    assert (before_start["number"], before_start["status"]) == (signed["number"], "signed")
    assert [o["code"] for o in today["opms"]] == [code]

    amended = await app.post(
        f"/api/contracts/{signed['number']}/amendments",
        {"effective_from": "2026-06-01", "product": "Elektřina Fix 2027", "note": "retention offer"}, 200,
    )
    assert amended["terms"]["product"] == "Elektřina Fix 2027" and len(amended["versions"]) == 2
    rerated = await app.call("PUT", f"/api/opm/{code}/technical", 200, json=technical("2026-06-01", "D02d"))
    assert rerated["technical"]["distribution_rate"] == "D02d"

    may = await app.get(f"/api/customers/{number}/360?as_of=2026-05-31")
    june = await app.get(f"/api/customers/{number}/360?as_of=2026-06-01")
    assert may["as_of"] == "2026-05-31" and june["as_of"] == "2026-06-01"
    assert [c["status"] for c in may["contracts"] + june["contracts"]] == ["active", "active"]
    assert may["contracts"][0]["terms"]["product"] == "Elektřina Standard"
    assert june["contracts"][0]["terms"]["product"] == "Elektřina Fix 2027"
    assert may["opms"][0]["technical"]["distribution_rate"] == "D01d"
    assert june["opms"][0]["technical"]["distribution_rate"] == "D02d"
    # The objects on their own say the same.
    assert (await app.get(f"/api/opm/{code}?as_of=2026-05-31"))["technical"]["distribution_rate"] == "D01d"
    by_contract = await app.get(f"/api/contracts/{signed['number']}?as_of=2026-06-02")
    assert by_contract["terms"]["product"] == "Elektřina Fix 2027"
    await check_history(app, number, unique)
    await app.all_published()  # each change was announced on its masterdata.* topic


async def check_history(app: MdApp, number: str, unique: str) -> None:
    customer = await app.get(f"/api/customers/{number}")
    patch = {"version": customer["version"], "segment": "vulnerable"}
    changed = await app.call("PATCH", f"/api/customers/{number}", 200, json=patch)
    assert (changed["segment"], changed["version"]) == ("vulnerable", 2)
    history = await app.get(f"/api/customers/{number}/history")
    assert [c["action"] for c in history["changes"]] == ["updated", "created"]  # newest first
    assert {c["actor"] for c in history["changes"]} == {f"key:test-operator-{unique}"}
    newest = history["changes"][0]
    assert newest["before"]["segment"] == "household" and newest["after"]["segment"] == "vulnerable"
    assert len((await app.get(f"/api/customers/{number}/history?limit=1"))["changes"]) == 1


async def test_customer_account_opm_contract_and_the_360_view_as_of_days(app: MdApp, unique: str) -> None:
    await full_flow(app, unique)


async def test_360_lists_activities_and_documents_about_any_of_the_customers_objects(app: MdApp) -> None:
    number = (await app.post("/api/customers", person()))["number"]
    vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
    await app.post("/api/opm", opm())
    contract_number = (await app.post("/api/contracts", contract(number, vs)))["number"]
    about_contract = {"entity": "contract", "key": contract_number}
    call = await app.post("/api/activities", {"kind": "call", "subject": "Asked about the fixed price",
                                              "status": "done", "about": about_contract})
    assert call["done_at"] is not None and call["status"] == "done"
    task = await app.post("/api/activities", {"kind": "task", "subject": "Send the meter photo",
                                              "due_on": "2026-03-20", "about": {"entity": "opm", "key": EAN}})
    done = await app.call("PATCH", f"/api/activities/{task['id']}", 200,
                          json={"version": task["version"], "status": "done"})
    assert done["status"] == "done" and done["version"] == 2
    await app.call("POST", f"/api/documents?kind=contract&title=Smlouva&filename=smlouva.pdf"
                   f"&link=contract:{contract_number}&link=customer:{number}", 201,
                   data=b"%PDF-1.7 contract", headers={"Content-Type": "application/pdf"})

    view = await app.get(f"/api/customers/{number}/360")
    assert {a["id"] for a in view["activities"]} == {call["id"], task["id"]}
    [document] = view["documents"]
    assert document["title"] == "Smlouva"
    listed = await app.get(f"/api/activities?entity=contract&key={contract_number}")
    assert [a["id"] for a in listed] == [call["id"]]
    assert (await app.get(f"/api/activities/{task['id']}"))["status"] == "done"


async def test_today_is_the_day_in_prague(app: MdApp) -> None:
    number = (await app.post("/api/customers", person()))["number"]
    app.clock.set(dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC))  # 00:30 on 11 March in Prague
    assert (await app.get(f"/api/customers/{number}/360"))["as_of"] == "2026-03-11"


async def test_unknown_keys_are_404(app: MdApp) -> None:
    paths = [
        "/api/customers/999", "/api/customers/999/360", "/api/customers/999/history", "/api/accounts/1",
        f"/api/opm/{EAN}", "/api/contracts/1", "/api/activities/00000000-0000-4000-8000-000000000000",
        "/api/documents/00000000-0000-4000-8000-000000000000",
    ]
    for path in paths:
        body: dict[str, Any] = await app.get(path, 404)
        assert "does not exist" in body["error"], (path, body)
    stale = {"version": 1, "segment": "business"}
    await app.call("PATCH", "/api/customers/999", 404, json=stale)
    await app.call("PATCH", "/api/customers/999", 403, role=Role.READER, json=stale)


SEAT = AresSubject(
    ico=ICO, name="ČEZ, a. s.", dic=DIC, legal_form="121", address_lines=("Duhová 1444/2", "140 00 Praha"),
    postal_code="14000", country_code="CZ", founded_on=None, dissolved_on=None,
)


async def test_a_company_from_ares_and_ares_failing(app: MdApp) -> None:
    asked: list[str] = []

    async def registered(ico: str) -> AresLookup:
        asked.append(ico)
        return Found(SEAT)

    async def down(ico: str) -> AresLookup:
        raise AresUnavailable("ARES answered 503")

    app.daemon.ares_lookup = registered
    body = {"kind": "company", "segment": "business", "ico": ICO, "from_ares": True}
    created = await app.post("/api/customers", body)
    assert asked == [ICO]  # once, before the transaction; the service got the same answer
    assert (created["company_name"], created["dic"], created["legal_form"]) == ("ČEZ, a. s.", DIC, "121")
    [seat] = created["addresses"]
    assert seat["kind"] == "registered"
    assert (seat["address"]["street"], seat["address"]["house_number"]) == ("Duhová", "1444/2")

    before = await app.counts()
    app.daemon.ares_lookup = down
    unavailable = await app.post("/api/customers", body, 503)
    assert "ARES is unavailable" in unavailable["error"] and "by hand" in unavailable["error"]
    app.daemon.ares_lookup = None
    off = await app.post("/api/customers", body, 422)
    assert (off["field"], off["value"]) == ("from_ares", True) and "turned off" in off["reason"]
    assert await app.counts() == before


@pytest.mark.postgres
async def test_postgres_full_flow(pg_url: str, unique: str, tmp_path: Path) -> None:
    # The shared database keeps OPMs of earlier runs only until the session resets it; the code is unique
    # within one run because only this test creates OPMs on PostgreSQL.
    async with running({"PROUD_DATABASE_URL": pg_url}, unique, tmp_path) as app:
        # The PostgreSQL database lives for the whole session: other tests' OPMs (demo data) are there.
        await full_flow(app, unique, fresh_ean())


@pytest.mark.postgres
async def test_postgres_racing_writes_of_one_key_or_one_opm_give_one_201_and_409s(
    pg_url: str, unique: str, tmp_path: Path
) -> None:
    # Row locks (the OPM's, the number series') and unique indexes decide; neither request is lost silently.
    async with running({"PROUD_DATABASE_URL": pg_url}, unique, tmp_path) as app:
        racers = 4
        number = f"R-{unique[:8].upper()}"
        statuses = await race(app, "/api/customers", [person(number=number)] * racers)
        assert sorted(statuses) == [201] + [409] * (racers - 1)
        vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
        code = fresh_ean()
        await app.post("/api/opm", opm(code))
        starts = ["2026-04-01", "2026-05-01", "2026-06-01", "2026-07-01"]
        bodies = [contract(number, vs, code, valid_from=start) for start in starts]
        assert sorted(await race(app, "/api/contracts", bodies)) == [201] + [409] * (racers - 1)
        view = await app.get(f"/api/customers/{number}/360")
        assert len(view["contracts"]) == 1


async def race(app: MdApp, path: str, bodies: list[Any]) -> list[int]:
    """The statuses of ``bodies`` POSTed to ``path`` all at once."""
    headers = bearer(app.keys[Role.OPERATOR])

    async def one(body: Any) -> int:
        async with app.http.post(app.url + path, json=body, headers=headers) as response:
            await response.read()
            return response.status

    return list(await asyncio.gather(*(one(body) for body in bodies)))
