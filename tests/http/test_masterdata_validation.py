"""Refusals: every kind of identifier invalid in a request is 422 naming the field, the value sent and the
reason, and stores nothing (no row, no audit entry, no event); query parameters are parsed strictly (400
naming the parameter and the value)."""

from __future__ import annotations

import io
from typing import Any

import msgspec
import pytest

from gateway.http.masterdata.common import JSON_BODY_BYTES_MAX
from tests.http.masterdata_support import (
    EAN,
    MdApp,
    account,
    company,
    customer_with_contract,
    gas_opm,
    opm,
    person,
)


def bad_psc() -> dict[str, Any]:
    body = person()
    body["addresses"][0]["address"]["postal_code"] = "110 0"
    return body


# (what, path, body or a function of the customer number, field, value, words of the reason)
INVALID: list[tuple[str, str, Any, str, Any, str]] = [
    ("EAN check digit", "/api/opm", opm("859182400000000013"), "code", "859182400000000013", "check digit"),
    ("EIC check character", "/api/opm", gas_opm("27ZG100000000001"), "code", "27ZG100000000001",
     "check character"),
    ("IČO", "/api/customers", company(ico="45274640"), "ico", "45274640", "check digit"),
    ("DIČ", "/api/customers", company(dic="CZ4527464"), "dic", "CZ4527464", ""),
    ("rodné číslo", "/api/customers", person(birth_number="7801010007"), "birth_number", "7801010007",
     "check digit"),
    ("PSČ", "/api/customers", bad_psc(), "addresses[0].address.postal_code", "110 0", "digits"),
    ("IBAN", "/api/accounts", lambda number: account(number, iban="CZ6508000000192000145398"), "iban",
     "CZ6508000000192000145398", ""),
    ("SIPO", "/api/accounts",
     lambda number: account(number, payment_method="sipo", iban=None, sipo_number="1234567890"),
     "sipo_number", "1234567890", "check digit"),
    ("VS", "/api/accounts", lambda number: account(number, variable_symbol="12345678901"), "variable_symbol",
     "12345678901", "digits"),
]


@pytest.mark.parametrize(
    ("what", "path", "body", "field", "value", "reason"), INVALID, ids=[i[0] for i in INVALID]
)
async def test_an_invalid_identifier_is_422_naming_it_and_stores_nothing(
    app: MdApp, what: str, path: str, body: Any, field: str, value: Any, reason: str
) -> None:
    number = (await app.post("/api/customers", person(first="Eva", last="Malá")))["number"]
    before = await app.counts()
    sent = body(number) if callable(body) else body
    refused = await app.post(path, sent, 422)
    assert (refused["field"], refused["value"]) == (field, value), (what, refused)
    assert reason in refused["reason"] and refused["reason"], (what, refused)
    assert refused["error"].startswith(f"{field}: "), refused
    assert await app.counts() == before, what


async def test_a_body_that_does_not_fit_the_struct_names_the_field(app: MdApp) -> None:
    before = await app.counts()
    wrong_type = await app.post("/api/customers", person(consent_marketing="yes"), 422)
    assert (wrong_type["field"], wrong_type["value"]) == ("consent_marketing", "yes")
    unknown = await app.post("/api/customers", person(nickname="Honza"), 422)
    assert (unknown["field"], unknown["reason"]) == ("nickname", "is not a known field")
    missing = await app.post("/api/opm", {"code": EAN}, 422)
    assert missing["field"] in {"dso", "supply_address", "technical"} and missing["reason"] == "is required"
    not_json = await app.call("POST", "/api/customers", 400, data=b"{nope",
                              headers={"Content-Type": "application/json"})
    assert not_json["parameter"] == "body"
    assert await app.counts() == before


async def test_a_json_body_over_the_limit_is_413(app: MdApp) -> None:
    huge = msgspec.json.encode(person(first="J" * JSON_BODY_BYTES_MAX))
    before = await app.counts()
    body = await app.call("POST", "/api/customers", 413, data=io.BytesIO(huge),
                          headers={"Content-Type": "application/json"})
    assert "error" in body
    assert await app.counts() == before


@pytest.mark.parametrize("raw", ["2026-3-1", "20260301", "2026-02-30", "yesterday", "2026-03-01T00:00"])
async def test_as_of_is_a_strict_date(app: MdApp, raw: str) -> None:
    number, _, contract_number = await customer_with_contract(app)
    for path in (f"/api/customers/{number}/360", f"/api/opm/{EAN}", f"/api/contracts/{contract_number}"):
        refused = await app.get(f"{path}?as_of={raw}", 400)
        assert (refused["parameter"], refused["value"]) == ("as_of", raw)
        assert "YYYY-MM-DD" in refused["error"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("name=ab&limit=0", "limit"), ("name=ab&limit=201", "limit"), ("name=ab&offset=-1", "offset"),
     ("name=ab&limit=ten", "limit")],
)
async def test_search_paging_parameters_are_checked(app: MdApp, query: str, parameter: str) -> None:
    refused = await app.get(f"/api/customers?{query}", 400)
    assert refused["parameter"] == parameter


async def test_bad_ids_and_listing_parameters_are_400(app: MdApp) -> None:
    assert (await app.get("/api/activities/not-a-uuid", 400))["parameter"] == "id"
    assert (await app.get("/api/documents/not-a-uuid", 400))["parameter"] == "id"
    assert (await app.get("/api/activities?entity=invoice&key=1", 400))["parameter"] == "entity"
    assert (await app.get("/api/activities?entity=customer", 400))["parameter"] == "key"
    assert (await app.get("/api/documents?entity=customer&key=1&kind=memo", 400))["parameter"] == "kind"
    no_filter = await app.get("/api/customers", 422)
    assert no_filter["field"] == "q"
