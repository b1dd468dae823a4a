"""The import against SQLite and PostgreSQL: every kind from JSONL and CSV, idempotent re-imports, updates
through the services (audited), and bad rows reported while the good ones are stored.

Each test uses its own fake-data seed, so its natural keys do not meet another test's on the PostgreSQL
database the session shares; row counts are compared before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.masterdata import customers, opm
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.importer import ImportSummary, import_file
from gateway.masterdata.importer_rows import Record
from gateway.store.db import create_engine
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn
from tests.masterdata.import_support import (
    IMPORT_DATABASES,
    NOW,
    clock,
    counts,
    fake_data,
    grew,
    import_database,
    pg_workers_url,  # noqa: F401 - a fixture
    write_csv,
    write_jsonl,
)

CUSTOMERS = 12


@pytest.fixture(params=IMPORT_DATABASES)
async def engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(import_database(request, monkeypatch))
    yield engine
    await engine.dispose()


async def _import(engine: AsyncEngine, path: Path, **options: object) -> ImportSummary:
    return await import_file(engine, clock(), path, **options)  # type: ignore[arg-type]


def _per_kind(records: list[Record]) -> dict[str, int]:
    names = {CustomerIn: "customer", AccountIn: "account", OpmIn: "opm", ContractIn: "contract"}
    found: dict[str, int] = {}
    for record in records:
        found[names[type(record)]] = found.get(names[type(record)], 0) + 1
    return found


async def test_jsonl_of_every_kind_then_a_reimport_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    records = fake_data(31, CUSTOMERS)
    path = write_jsonl(tmp_path / "masterdata.jsonl", records)
    before = await counts(engine)
    summary = await _import(engine, path, batch_rows=7)  # batches split runs of one kind, too
    assert summary.ok, summary.errors
    expected = _per_kind(records)
    assert {kind: c.created for kind, c in summary.counts.items() if c.created} == expected
    created = await counts(engine)
    changes = len(records)
    assert grew(before, created) == {
        "md_customer": expected["customer"], "md_account": expected["account"], "md_opm": expected["opm"],
        "md_address": expected["customer"] + expected["opm"], "md_opm_technical": expected["opm"],
        "md_meter": expected["opm"], "md_contract": expected["contract"],
        "md_contract_terms": expected["contract"], "md_supply": expected["contract"],
        "md_change": changes, "outbox": changes,
    }
    again = await _import(engine, path)
    assert again.ok and again.total("unchanged") == len(records)
    assert again.total("created") == again.total("updated") == 0
    assert await counts(engine) == created  # no rows, no audit rows, no events


async def test_csv_of_every_kind(engine: AsyncEngine, tmp_path: Path) -> None:
    records = fake_data(32, CUSTOMERS)
    files = []
    kinds = (("customer", CustomerIn), ("account", AccountIn), ("opm", OpmIn), ("contract", ContractIn))
    for kind, cls in kinds:
        chosen = [record for record in records if isinstance(record, cls)]
        files.append((kind, write_csv(tmp_path / f"{kind}s.csv", chosen)))
    for kind, path in files:
        summary = await _import(engine, path, kind=kind)
        assert summary.ok, [error.message() for error in summary.errors]
        assert summary.counts[kind].created == _per_kind(records)[kind]
    stored = await counts(engine)
    for kind, path in files:
        summary = await _import(engine, path, kind=kind)
        assert summary.counts[kind].unchanged == _per_kind(records)[kind], summary
    assert await counts(engine) == stored


async def test_a_changed_row_is_updated_through_the_service_and_audited(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    records = fake_data(33, 3)
    await _import(engine, write_jsonl(tmp_path / "first.jsonl", records))
    customer = records[0]
    assert isinstance(customer, CustomerIn) and customer.number
    electricity = next(r for r in records if isinstance(r, OpmIn) and r.code.isdigit())
    contract = next(r for r in records if isinstance(r, ContractIn) and r.opm == electricity.code)
    changed = [
        msgspec.structs.replace(
            customer, segment="vulnerable", consent_marketing=not customer.consent_marketing
        ),
        msgspec.structs.replace(electricity, dso="Distributor s.r.o."),
        msgspec.structs.replace(contract, product="Elektřina Zelená"),
    ]
    before = await counts(engine)
    summary = await _import(engine, write_jsonl(tmp_path / "second.jsonl", changed))
    assert summary.ok, summary.errors
    assert summary.total("updated") == 3
    assert grew(before, await counts(engine)) == {"md_change": 3, "outbox": 3, "md_contract_terms": 1}
    async with engine.connect() as conn:
        stored = await customers.get_customer(conn, customer.number)
        assert (stored.segment, stored.version) == ("vulnerable", 2)
        assert (await opm.get_opm(conn, electricity.code, NOW.date())).dso == "Distributor s.r.o."
        assert contract.number is not None
        amended = await get_contract(conn, contract.number, NOW.date())
        assert amended.terms is not None and amended.terms.product == "Elektřina Zelená"
        actors = (await conn.execute(sa.text(
            "SELECT DISTINCT actor, action FROM md_change WHERE entity_key IN (:a, :b, :c) AND version > 1"
        ), {"a": customer.number, "b": electricity.code, "c": contract.number})).all()
    assert {tuple(row) for row in actors} == {
        ("import:second.jsonl", "updated"), ("import:second.jsonl", "amended"),
    }


async def test_new_technical_data_and_a_new_meter_of_an_existing_opm(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    electricity = next(r for r in fake_data(34, 1) if isinstance(r, OpmIn))
    await _import(engine, write_jsonl(tmp_path / "a.jsonl", [electricity]))
    technical = msgspec.structs.replace(
        electricity.technical, effective_from=NOW.date(), breaker_amps=40,
    )
    meter = msgspec.structs.replace(electricity.meters[0], serial="E99999999", installed_on=NOW.date())
    newer = msgspec.structs.replace(electricity, technical=technical, meters=[*electricity.meters, meter])
    summary = await _import(engine, write_jsonl(tmp_path / "b.jsonl", [newer]))
    assert summary.counts["opm"].updated == 1, summary.errors
    async with engine.connect() as conn:
        stored = await opm.get_opm(conn, electricity.code, NOW.date())
    assert [t.breaker_amps for t in stored.technical_history] == [electricity.technical.breaker_amps, 40]
    assert [m.serial for m in stored.meters] == [electricity.meters[0].serial, "E99999999"]
    assert stored.version == 3  # two changes, each audited


async def test_bad_rows_are_reported_and_good_rows_stored(engine: AsyncEngine, tmp_path: Path) -> None:
    records = fake_data(35, 2)
    person, account = records[0], records[1]
    assert isinstance(person, CustomerIn) and isinstance(account, AccountIn)
    opm_good = next(r for r in records if isinstance(r, OpmIn))
    wrong_check = str((int(opm_good.code[-1]) + 1) % 10)
    bad_ean = msgspec.structs.replace(opm_good, code=opm_good.code[:-1] + wrong_check)
    company = next(r for r in fake_data(36, 40) if isinstance(r, CustomerIn) and r.kind == "company")
    assert company.ico is not None
    bad_ico = msgspec.structs.replace(company, ico=company.ico[:-1] + str((int(company.ico[-1]) + 1) % 10),
                                      dic=None)
    orphan = msgspec.structs.replace(account, customer="999999999", variable_symbol="8350000099")
    lines: list[Record | bytes] = [
        person, bad_ean, bad_ico, orphan, b'{"kind": "opm", "code": \n',
        b'{"kind":"account","customer":"1","variable_symbol":"12","billing_cycle":7}\n', account, opm_good,
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    reported: list[object] = []
    summary = await _import(engine, path, on_error=reported.append)
    found = {(e.line, e.field): e for e in summary.errors}
    expected = {(2, "code"), (3, "ico"), (4, "customer"), (5, ""), (6, "billing_cycle")}
    assert set(found) == expected, summary.errors
    assert "check digit" in found[2, "code"].reason
    assert "check digit" in found[3, "ico"].reason
    assert found[4, "customer"].reason == "no such customer" and found[4, "customer"].value == "999999999"
    assert "not valid JSON" in found[5, ""].reason
    assert "Expected `str`" in found[6, "billing_cycle"].reason
    assert reported == summary.errors
    assert summary.failed == 5 and not summary.ok
    assert {kind: c.created for kind, c in summary.counts.items() if c.created} == {
        "customer": 1, "account": 1, "opm": 1,
    }


async def test_a_dry_run_stores_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    records = fake_data(37, 4)
    path = write_jsonl(tmp_path / "dry.jsonl", records)
    before = await counts(engine)
    summary = await _import(engine, path, dry_run=True, batch_rows=3)
    assert summary.ok and summary.dry_run and summary.total("created") == len(records)
    assert await counts(engine) == before


async def test_an_opm_listed_twice_in_one_batch(engine: AsyncEngine, tmp_path: Path) -> None:
    electricity = next(r for r in fake_data(38, 1) if isinstance(r, OpmIn))
    moved = msgspec.structs.replace(electricity, dso="Jiný distributor a.s.")
    summary = await _import(engine, write_jsonl(tmp_path / "twice.jsonl", [electricity, electricity, moved]))
    assert summary.ok, summary.errors
    opm_counts = summary.counts["opm"]
    assert (opm_counts.created, opm_counts.unchanged, opm_counts.updated) == (1, 1, 1)


async def test_service_errors_of_csv_rows_name_the_column(engine: AsyncEngine, tmp_path: Path) -> None:
    person = next(r for r in fake_data(39, 3) if isinstance(r, CustomerIn) and r.kind == "person")
    address = msgspec.structs.replace(person.addresses[0].address, postal_code="1100")
    bad_psc = msgspec.structs.replace(
        person, addresses=[msgspec.structs.replace(person.addresses[0], address=address)]
    )
    contacts = [msgspec.structs.replace(c, value="not a phone") if c.kind == "phone" else c
                for c in person.contacts]
    bad_phone = msgspec.structs.replace(person, number="939000099", contacts=contacts)
    summary = await _import(engine, write_csv(tmp_path / "people.csv", [bad_psc, bad_phone]), kind="customer")
    assert [(e.line, e.field) for e in summary.errors] == [
        (2, "permanent_address.postal_code"), (3, "phone"),
    ], summary.errors


async def test_a_taken_over_book_imports_what_its_previous_system_billed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """``billed_until`` of a contract comes with the import; a re-import cannot move it."""
    records = fake_data(37, 2)
    contract = next(r for r in records if isinstance(r, ContractIn))
    assert contract.number is not None
    billed_until = contract.valid_from.replace(day=28)
    taken_over = msgspec.structs.replace(contract, billed_until=billed_until)
    lines: list[Record | bytes] = [taken_over if record is contract else record for record in records]
    summary = await _import(engine, write_jsonl(tmp_path / "book.jsonl", lines))
    assert summary.ok, summary.errors
    async with engine.connect() as conn:
        assert (await get_contract(conn, contract.number, NOW.date())).billed_until == billed_until
    moved = msgspec.structs.replace(contract, billed_until=billed_until.replace(day=27))
    summary = await _import(engine, write_jsonl(tmp_path / "again.jsonl", [moved]))
    [error] = summary.errors
    assert (error.field, error.value) == ("billed_until", billed_until.replace(day=27))
    assert "an import cannot change it" in error.reason
