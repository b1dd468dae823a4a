"""Who may do what, and when a write is refused for the state it meets: a reader key reads but cannot write
(403), an operator key writes; optimistic locking and overlapping supply answer 409 and store nothing. And
the OpenAPI document describes every master-data route."""

from __future__ import annotations

from typing import Any

from gateway.http.api_keys import Role
from gateway.http.masterdata import MASTERDATA_ROUTES
from tests.http.masterdata_support import (
    EAN,
    MdApp,
    account,
    contract,
    customer_with_contract,
    opm,
    person,
)


async def test_a_reader_key_reads_but_cannot_write_and_an_operator_key_writes(app: MdApp) -> None:
    before = await app.counts()
    refused = await app.call("POST", "/api/customers", 403, role=Role.READER, json=person())
    assert (refused["role_needed"], refused["role_held"]) == ("operator", "reader")
    assert (await app.call("POST", "/api/customers", 401, role=None, json=person()))["error"]
    assert await app.counts() == before
    number = (await app.call("POST", "/api/customers", 201, role=Role.OPERATOR, json=person()))["number"]
    assert (await app.call("GET", f"/api/customers/{number}", 200, role=Role.READER))["number"] == number
    await app.call("GET", f"/api/customers/{number}", 401, role=None)
    patch = {"version": 1, "segment": "business"}
    await app.call("PATCH", f"/api/customers/{number}", 403, role=Role.READER, json=patch)
    vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
    writes: list[tuple[str, str, Any]] = [
        ("POST", "/api/accounts", account(number)),
        ("PATCH", f"/api/accounts/{vs}", {"version": 1, "billing_cycle": "monthly"}),
        ("POST", "/api/opm", opm()),
        ("PUT", f"/api/opm/{EAN}/technical", {"effective_from": "2026-05-01", "distribution_rate": "D02d"}),
        ("POST", "/api/contracts", contract(number, vs)),
        ("POST", "/api/activities", {"kind": "note", "subject": "x", "about": {"entity": "customer",
                                                                             "key": number}}),
    ]
    for method, path, body in writes:
        await app.call(method, path, 403, role=Role.READER, json=body)
    upload = "/api/documents?kind=other&title=t&filename=a.txt"
    text = {"Content-Type": "text/plain"}
    await app.call("POST", upload, 403, role=Role.READER, data=b"text", headers=text)
    assert await app.counts() == {**before, "md_customer": 1, "md_address": 1, "md_account": 1,
                                  "md_change": 2, "outbox": before["outbox"] + 2}


async def test_a_change_based_on_an_old_version_is_409_and_not_applied(app: MdApp) -> None:
    number = (await app.post("/api/customers", person()))["number"]
    vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
    await app.call("PATCH", f"/api/customers/{number}", 200, json={"version": 1, "last_name": "Dvořáček"})
    stale = await app.call(
        "PATCH", f"/api/customers/{number}", 409, json={"version": 1, "segment": "business"}
    )
    assert "version 1 was read" in stale["error"]
    current = await app.get(f"/api/customers/{number}")
    assert (current["last_name"], current["segment"], current["version"]) == ("Dvořáček", "household", 2)

    await app.call("PATCH", f"/api/accounts/{vs}", 200, json={"version": 1, "billing_cycle": "monthly"})
    await app.call("PATCH", f"/api/accounts/{vs}", 409, json={"version": 1, "billing_cycle": "quarterly"})
    assert (await app.get(f"/api/accounts/{vs}"))["billing_cycle"] == "monthly"
    await app.post("/api/opm", opm())
    await app.call("PATCH", f"/api/opm/{EAN}", 200, json={"version": 1, "dso": "ČEZ Distribuce, a.s."})
    await app.call("PATCH", f"/api/opm/{EAN}", 409, json={"version": 1, "dso": "EG.D, a.s."})


async def test_a_second_contract_overlapping_the_supply_of_an_opm_is_409(app: MdApp) -> None:
    number, vs, first = await customer_with_contract(app)
    before = await app.counts()
    overlapping = contract(number, vs, valid_from="2026-09-01")
    refused = await app.post("/api/contracts", overlapping, 409)
    assert first in refused["error"] and EAN in refused["error"]
    assert await app.counts() == before
    # After notice ends the first contract, a contract starting the day after fits.
    ended = await app.post(f"/api/contracts/{first}/termination",
                           {"kind": "notice", "served_on": "2026-04-15", "end_on": "2026-08-31"}, 200)
    assert ended["ended_on"] == "2026-08-31"
    follow_up = await app.post("/api/contracts", overlapping)
    assert follow_up["valid_from"] == "2026-09-01"
    again = await app.post(f"/api/contracts/{first}/termination",
                           {"kind": "notice", "served_on": "2026-04-16", "end_on": "2026-08-31"}, 409)
    assert "already ended" in again["error"]


async def test_taken_keys_are_409(app: MdApp) -> None:
    await app.post("/api/customers", person(number="C-1"))
    assert "taken" in (await app.post("/api/customers", person(number="C-1"), 409))["error"]
    await app.post("/api/opm", opm())
    assert "exists" in (await app.post("/api/opm", opm(), 409))["error"]


async def test_the_openapi_document_lists_every_master_data_route(app: MdApp) -> None:
    document = await app.call("GET", "/api/openapi.json", 200, role=None)
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    declared = {(op.method, op.path) for routes in MASTERDATA_ROUTES for op in routes.operations}
    assert len(declared) >= 28
    assert declared <= listed
    for method, path in declared:
        operation = document["paths"][path][method.lower()]
        assert operation["x-proud-role"] == ("reader" if method == "GET" else "operator"), (method, path)
    upload = document["paths"]["/api/documents"]["post"]
    assert upload["requestBody"]["content"]["application/pdf"]["schema"]["format"] == "binary"
    download = document["paths"]["/api/documents/{id}/content"]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in download
    view = document["paths"]["/api/customers/{number}/360"]["get"]
    assert view["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("Customer360")
