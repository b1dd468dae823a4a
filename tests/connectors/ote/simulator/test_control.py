"""The control API over plain HTTP: seeding, a foreign supplier's switch of our OPM (our losing side hears of
it at its callback), moving the manual clock, readings, a failing supplier, the log and the outbox."""

from __future__ import annotations

from typing import Any

import aiohttp

from connectors.ote.pki import ensure_simulator_pki
from connectors.ote.simulator import codes
from gateway.masterdata.energy import ean_check_digit
from tests.connectors.ote.simulator.conftest import CEZ_DISTRIBUCE, COMPETITOR, OURS, THEIRS, US, Market, ean

NEWCOMER = "859182499009" + ean_check_digit("859182499009")


async def call(market: Market, method: str, path: str, body: object = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, market.handle.control_url + path, json=body) as response,
    ):
        return response.status, await response.json(content_type=None) if response.status != 204 else None


async def test_control_api_plays_a_foreign_supplier_against_our_losing_side(market: Market) -> None:
    status, body = await call(market, "GET", "/")
    assert status == 200 and body["manual_clock"] is True and body["opms"] == 4

    assert (await call(market, "POST", "/participants", {"ean": NEWCOMER, "name": "newcomer"}))[0] == 201
    status, body = await call(market, "POST", "/switches", {
        "opm": OURS, "supplier_ean": NEWCOMER, "date_from": "2027-01-01",
    })
    assert status == 200 and body["refusal"] is None and body["switch"]["status"] == "pending"
    assert body["switch"]["previous_supplier_ean"] == US

    status, body = await call(market, "POST", "/process-due")
    assert status == 200 and body["delivered"] == 1
    (notice,) = await market.received()
    assert notice["items"][0]["change_reason"] == "SWI" and notice["items"][0]["supplier_ean"] == NEWCOMER

    status, body = await call(market, "POST", "/clock", {"to": "2026-12-23T10:00:00+01:00"})
    assert status == 200 and body["due"]["steps"] == 1
    status, outbox = await call(market, "GET", "/outbox?status=kept")
    answer = outbox[-1]
    assert answer["receiver_ean"] == NEWCOMER and answer["family"] == "switch-answer"
    assert "accepted" in answer["note"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{market.handle.control_url}/outbox/{answer['seq']}/xml") as response,
    ):
        assert b"SignatureValue" in await response.read(), "every message goes out signed"

    status, log = await call(market, "GET", "/log?direction=in&limit=5")
    assert status == 200 and log[-1]["family"] == "switch-request" and log[-1]["sender"] == NEWCOMER


async def test_control_api_seeds_reads_and_fails_a_supplier(market: Market) -> None:
    new_opm = ean("85918240090000077")
    status, body = await call(market, "POST", "/opms", {
        "opm": new_opm, "commodity": "electricity", "dso_ean": CEZ_DISTRIBUCE, "supplier_ean": US,
        "registers": ["VT"], "states": {"VT": "500.5"},
    })
    assert status == 201 and body["states"] == {"VT": "500.5"}
    bad = await call(market, "POST", "/opms", {
        "opm": new_opm[:-1] + "0", "commodity": "electricity", "dso_ean": CEZ_DISTRIBUCE,
    })
    assert bad[0] == 422 and "check digit" in bad[1]["error"]
    gas_with_ean = {"opm": new_opm, "commodity": "gas", "dso_ean": US}
    assert (await call(market, "POST", "/opms", gas_with_ean))[0] == 422
    assert (await call(market, "GET", "/opms/" + THEIRS))[1]["supplier_ean"] == COMPETITOR

    status, body = await call(market, "POST", "/clock", {"advance_s": 5 * 86_400})
    assert status == 200
    status, body = await call(market, "POST", "/readings", {"supplier_ean": US})
    assert (status, body) == (200, {"messages": 1})
    await call(market, "POST", "/process-due")
    (readings,) = await market.received()
    assert {reading["opm"] for reading in readings["readings"]} == {OURS, new_opm}
    assert all(reading["reading_reason"] == codes.READING_REASON_PERIODIC for reading in readings["readings"])

    status, body = await call(market, "POST", f"/suppliers/{COMPETITOR}/fail")
    assert (status, body) == (200, {"opms": 2})
    assert (await call(market, "POST", "/suppliers/8591824000014/fail"))[0] == 404
    status, body = await call(market, "POST", "/notices", {
        "sender_ean": COMPETITOR, "change_reason": "XYZ", "opm": THEIRS,
    })
    assert status == 200 and body["refusal"]["code"] == codes.NOTICE_CHANGE_REASON
    assert (await call(market, "POST", "/switches", {"opm": THEIRS}))[0] == 422
    assert (await call(market, "POST", "/outbox/retry", {}))[1]["retried"] == 0


def test_a_simulator_pki_is_reused_and_a_partial_one_refused(tmp_path: Any) -> None:
    first, made = ensure_simulator_pki(tmp_path / "pki", valid_days=2)
    again, made_again = ensure_simulator_pki(tmp_path / "pki")
    assert made and not made_again and again.tls_ca.cert_pem == first.tls_ca.cert_pem
    first.proud_client.key_path.unlink()
    try:
        ensure_simulator_pki(tmp_path / "pki")
    except Exception as exc:
        assert "proud_client.key" in str(exc)
    else:
        raise AssertionError("a partial PKI must be refused")
