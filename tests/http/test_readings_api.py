"""``/api/opm/{code}/readings`` and ``/consumption`` through the daemon: an operator enters readings, a
reader asks for the consumption; refusals are 422 naming the field and the value, and store nothing."""

from __future__ import annotations

from gateway.http.api_keys import Role
from tests.http.masterdata_support import MdApp, fresh_ean, opm


async def test_enter_readings_and_read_consumption(app: MdApp) -> None:
    code = fresh_ean()
    await app.post("/api/opm", opm(code))
    serial = f"M-{code[-6:]}"

    path = f"/api/opm/{code}/readings"
    first = await app.post(path, {"date": "2025-03-01", "registers": {"single": "100"}})
    second = await app.post(path, {"date": "2026-03-01", "registers": {"single": "3750.5"}, "kind": "actual"})
    estimate = await app.post(f"/api/opm/{code}/readings/estimate", {"date": "2026-03-10"})

    assert (first["status"], first["kind"], first["meter"]) == ("new", "customer", serial)
    assert second["consumption"] == {"single": "3650.5"}
    assert estimate["registers"][0]["method"] == "history" and estimate["reading"]["kind"] == "estimated"
    used = await app.get(f"/api/opm/{code}/consumption?from=2025-03-02&to=2026-03-01")
    assert [(r["register"], r["consumption"], r["unit"], r["days"]) for r in used["registers"]] == [
        ("single", "3650.5", "kWh", 365)
    ]
    assert used["findings"] == []


async def test_refusals_name_the_field_and_value(app: MdApp) -> None:
    code = fresh_ean()
    await app.post("/api/opm", opm(code))
    before = await app.counts()

    wrong_register = await app.post(
        f"/api/opm/{code}/readings", {"date": "2026-03-01", "registers": {"vt": "1"}}, status=422
    )
    future = await app.post(
        f"/api/opm/{code}/readings", {"date": "2026-03-11", "registers": {"single": "1"}}, status=422
    )
    await app.call("POST", f"/api/opm/{code}/readings", 403, role=Role.READER,
                   json={"date": "2026-03-01", "registers": {"single": "1"}})
    bad_period = await app.get(f"/api/opm/{code}/consumption?from=2026-03-01", status=400)

    assert (wrong_register["field"], wrong_register["value"]) == ("registers", "vt")
    assert (future["field"], future["value"]) == ("date", "2026-03-11")
    assert "to" in bad_period["error"]
    assert await app.counts() == before
