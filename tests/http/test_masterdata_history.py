"""Every object's change history over HTTP: who, when, the action, before and after, newest first."""

from __future__ import annotations

from gateway.http.api_keys import Role
from tests.http.masterdata_support import EAN, MdApp, customer_with_contract, technical


async def test_each_object_shows_its_changes_newest_first(app: MdApp, unique: str) -> None:
    _, vs, number = await customer_with_contract(app)
    amendment = {"effective_from": "2026-06-01", "product": "Fix 26"}
    await app.call("POST", f"/api/contracts/{number}/amendments", 200, json=amendment)
    await app.call("PUT", f"/api/opm/{EAN}/technical", 200, json=technical("2026-06-01", "D02d"))

    contract = await app.call("GET", f"/api/contracts/{number}/history", 200, role=Role.READER)
    assert [c["action"] for c in contract["changes"]] == ["amended", "created"]
    amended = contract["changes"][0]
    assert amended["actor"] == f"key:test-operator-{unique}"
    assert [v["product"] for v in amended["after"]["versions"]] == ["Elektřina Standard", "Fix 26"]
    assert [v["product"] for v in amended["before"]["versions"]] == ["Elektřina Standard"]
    assert contract["changes"][1]["before"] is None

    opm = await app.get(f"/api/opm/{EAN}/history")
    assert [c["action"] for c in opm["changes"]] == ["technical_changed", "created"]
    assert [c["action"] for c in (await app.get(f"/api/accounts/{vs}/history"))["changes"]] == ["created"]
    limited = await app.get(f"/api/opm/{EAN}/history?limit=1")
    assert (limited["limit"], len(limited["changes"])) == (1, 1)


async def test_history_of_an_unknown_object_is_404(app: MdApp) -> None:
    missing = await app.call("GET", "/api/contracts/NOPE-1/history", 404)
    assert "NOPE-1" in missing["error"]
    await app.call("GET", "/api/accounts/7000000000/history", 404)
