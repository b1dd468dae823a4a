"""Searching customers over HTTP: by name without diacritics, IČO, EAN, VS and address, with paging."""

from __future__ import annotations

from typing import Any

from tests.http.masterdata_support import (
    EAN,
    EAN_OTHER,
    ICO,
    MdApp,
    account,
    address,
    company,
    contract,
    opm,
    person,
)


def at(street: str, number: str, city: str, psc: str) -> list[dict[str, Any]]:
    return [{"kind": "permanent", "address": address(street, number, city, psc)}]


async def numbers(app: MdApp, query: str) -> list[str]:
    page = await app.get(f"/api/customers?{query}")
    return [hit["number"] for hit in page["hits"]]


async def test_search_by_every_filter_with_paging(app: MdApp) -> None:
    dvorak = (await app.post("/api/customers", person()))["number"]
    dvorakova = (await app.post("/api/customers", person(
        "Petra", "Dvořáková", birth_number=None, addresses=at("Šafaříkova", "7", "Brno", "602 00"),
    )))["number"]
    novak = (await app.post("/api/customers", person(
        "Eva", "Nováková", birth_number=None, addresses=at("Husova", "1", "Plzeň", "301 00"),
    )))["number"]
    firm = (await app.post("/api/customers", company()))["number"]
    vs = (await app.post("/api/accounts", account(novak)))["variable_symbol"]
    await app.post("/api/opm", opm(EAN_OTHER, supply_address=address("Lesní", "44", "Tábor", "390 01")))
    await app.post("/api/contracts", contract(novak, vs, EAN_OTHER))

    assert await numbers(app, "name=dvorak") == [dvorak, dvorakova]  # no diacritics, any case
    assert await numbers(app, "name=DVOŘÁK") == [dvorak, dvorakova]
    assert await numbers(app, "q=dvorakova") == [dvorakova]
    assert await numbers(app, f"ico={ICO}") == [firm]
    assert await numbers(app, f"q={ICO}") == [firm]
    assert await numbers(app, f"code={EAN_OTHER}") == [novak]
    assert await numbers(app, f"q={EAN_OTHER}") == [novak]
    assert await numbers(app, f"vs={vs}") == [novak]
    assert await numbers(app, "address=safarikova") == [dvorakova]
    assert await numbers(app, "address=lesni") == [novak]  # the supply address of her OPM
    assert await numbers(app, "address=tabor&name=novak") == [novak]  # filters combine
    assert await numbers(app, "address=tabor&name=dvorak") == []
    assert await numbers(app, f"number={firm}") == [firm]
    assert await numbers(app, f"q={firm}") == [firm]  # q matches a customer number too
    assert await numbers(app, f"q={vs}") == [novak]
    assert await numbers(app, "q=lesni") == [novak]  # and addresses
    assert EAN not in await numbers(app, f"code={EAN}")  # no contract for this OPM: nobody

    first = await app.get("/api/customers?name=dvor&limit=1")
    second = await app.get("/api/customers?name=dvor&limit=1&offset=1")
    past = await app.get("/api/customers?name=dvor&limit=1&offset=2")
    assert [h["number"] for h in first["hits"] + second["hits"]] == [dvorak, dvorakova]
    assert (first["total"], second["total"], past["total"], past["hits"]) == (2, 2, 2, [])
    assert (second["limit"], second["offset"]) == (1, 1)
    hit = first["hits"][0]
    assert (hit["name"], hit["kind"], hit["segment"]) == ("Jan Dvořák", "person", "household")


async def test_search_text_needs_two_characters(app: MdApp) -> None:
    refused = await app.get("/api/customers?name=d", 422)
    assert (refused["field"], refused["value"]) == ("name", "d")
