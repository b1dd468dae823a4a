"""A real daemon for the master-data API tests (SQLite or PostgreSQL, the SQL-log bus, a manual clock, ARES
off), a client that calls it with a key of a chosen role, and valid request bodies to vary.

The identifiers below are valid (check digits computed by the validators); tests that need an invalid one
change one character.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from gateway.clock import ManualClock
from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.http.api_keys import Role

# Imported for its effect: registers the masterdata.* topics in TOPICS, so that the daemon creates them at
# start whatever this test session imported before (the outbox relay cannot publish to a missing topic).
from gateway.masterdata import tables as t
from gateway.masterdata import topics as _masterdata_topics  # noqa: F401
from gateway.masterdata.identifiers import ean_check_digit
from tests.http.support import bearer, free_port, new_key, wait_for

#: 10:00 in Prague on Tuesday 10 March 2026: "today" for as-of defaults is 2026-03-10.
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

EAN = "859182400000000012"
EAN_OTHER = "859182400000000029"


def fresh_ean() -> str:
    """An EAN no other test uses: for the session-long PostgreSQL database."""
    body = "8591824" + str(uuid.uuid4().int)[:10]
    return body + ean_check_digit(body)
EIC = "27ZG100000000004"
ICO = "45274649"
DIC = "CZ45274649"
BIRTH_NUMBER = "7801010008"
IBAN = "CZ6508000000192000145399"
SIPO = "1234567897"

#: Tables a refused request must leave as they were.
MASTERDATA_TABLES = (t.customer, t.account, t.opm, t.contract, t.address, t.change, t.activity, t.document)


@dataclass
class MdApp:
    daemon: Daemon
    url: str
    http: aiohttp.ClientSession
    clock: ManualClock
    keys: dict[Role, str]

    async def call(
        self, method: str, path: str, status: int, *, role: Role | None = Role.OPERATOR, **kwargs: Any
    ) -> Any:
        """The JSON answer to a request made with a key of ``role`` (None: no key); asserts the status."""
        headers = {**kwargs.pop("headers", {}), **(bearer(self.keys[role]) if role is not None else {})}
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as response:
            body = await response.json()
            assert response.status == status, (method, path, response.status, body)
            return body

    async def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return await self.call("GET", path, status, role=Role.READER, **kwargs)

    async def post(self, path: str, body: Any, status: int = 201, **kwargs: Any) -> Any:
        return await self.call("POST", path, status, json=body, **kwargs)

    async def counts(self) -> dict[str, int]:
        """Rows in every master-data table and in the outbox: what a refused request must not change."""
        async with self.daemon.engine.connect() as conn:
            counts = {
                table.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
                for table in MASTERDATA_TABLES
            }
            counts["outbox"] = int(await conn.scalar(sa.text("SELECT count(*) FROM outbox")) or 0)
        return counts


    async def all_published(self) -> None:
        """Wait until the relay published every queued ``masterdata.changed`` event to the bus."""

        async def drained() -> bool | None:
            async with self.daemon.engine.connect() as conn:
                unsent = await conn.scalar(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
            return True if unsent == 0 else None

        await wait_for(drained, "every outbox row published")


@asynccontextmanager
async def running(environ: dict[str, str], unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    port, clock = free_port(), ManualClock(NOW)
    settings = load_settings(environ={
        **environ, "PROUD_HTTP_PORT": str(port), "PROUD_ARES_BASE_URL": "off",
        "PROUD_DOCUMENTS_DIR": str(tmp_path / "documents"),
    })
    daemon = Daemon(settings, clock=clock)
    await daemon.start()
    try:
        keys = {role: await new_key(daemon.engine, role, unique) for role in Role}
        async with aiohttp.ClientSession() as http:
            yield MdApp(daemon, f"http://127.0.0.1:{port}", http, clock, keys)
    finally:
        await daemon.stop()


def address(
    street: str = "Dlouhá", number: str = "12", city: str = "Praha", psc: str = "110 00"
) -> dict[str, Any]:
    return {"street": street, "house_number": number, "city": city, "postal_code": psc}


def person(first: str = "Jan", last: str = "Dvořák", **fields: Any) -> dict[str, Any]:
    return {
        "kind": "person", "first_name": first, "last_name": last, "birth_number": BIRTH_NUMBER,
        "contacts": [{"kind": "email", "value": "jan@example.cz", "primary": True}],
        "addresses": [{"kind": "permanent", "address": address()}],
        **fields,
    }


def company(name: str = "Pekárna Dvůr s.r.o.", **fields: Any) -> dict[str, Any]:
    return {
        "kind": "company", "segment": "small_business", "company_name": name, "ico": ICO, "dic": DIC,
        "addresses": [{"kind": "registered", "address": address("Náměstí Míru", "3", "Brno", "602 00")}],
        **fields,
    }


def account(customer: str, **fields: Any) -> dict[str, Any]:
    return {"customer": customer, "payment_method": "direct_debit", "iban": IBAN, **fields}


def technical(effective_from: str = "2026-01-01", rate: str = "D01d", **fields: Any) -> dict[str, Any]:
    return {
        "effective_from": effective_from, "distribution_rate": rate, "breaker_phases": 3, "breaker_amps": 25,
        **fields,
    }


def opm(code: str = EAN, **fields: Any) -> dict[str, Any]:
    return {
        "code": code, "dso": "PREdistribuce, a.s.", "supply_address": address(),
        "technical": technical(),
        "meters": [{"serial": f"M-{code[-6:]}", "installed_on": "2020-05-01",
                    "registers": [{"code": "SINGLE", "unit": "kWh"}]}],
        **fields,
    }


def gas_opm(code: str = EIC) -> dict[str, Any]:
    return {
        "code": code, "dso": "GasNet Služby, s.r.o.", "supply_address": address(),
        "technical": {"effective_from": "2026-01-01", "gas_band": "7.56-15", "tdd_class": "DOM3"},
    }


def contract(customer: str, vs: str, code: str = EAN, **fields: Any) -> dict[str, Any]:
    return {
        "customer": customer, "account": vs, "opm": code, "product": "Elektřina Standard",
        "signed_on": "2026-03-01", "valid_from": "2026-04-01", "negotiation": "on_premises", **fields,
    }


async def customer_with_contract(app: MdApp, code: str = EAN) -> tuple[str, str, str]:
    """A person with an account, an OPM and a contract for it: (customer number, VS, contract number)."""
    number = (await app.post("/api/customers", person()))["number"]
    vs = (await app.post("/api/accounts", account(number)))["variable_symbol"]
    await app.post("/api/opm", opm(code))
    signed = await app.post("/api/contracts", contract(number, vs, code))
    return number, vs, signed["number"]
