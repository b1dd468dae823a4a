"""The run number ``proud bench billing`` draws: none whose keys a stored row has, and none whose accounts'
variable symbols lie where the generated master data's do (imported later, they would find them taken)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing import batch_bench as bench
from gateway.cli import bench_billing
from gateway.masterdata import fake
from gateway.masterdata.accounts import create_account
from gateway.masterdata.customers import create_customer
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.common import Address, TypedAddress
from schemas.masterdata.customers import CustomerIn

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def draws(monkeypatch: pytest.MonkeyPatch, runs: list[int]) -> list[int]:
    """Make the bench draw ``runs`` in this order; the list left holds those not drawn."""
    left = list(runs)

    def randbelow(bound: int) -> int:
        run = left.pop(0)
        assert bench.RUN_MIN <= run < bench.RUN_MIN + bound
        return run - bench.RUN_MIN

    monkeypatch.setattr("gateway.cli.bench_billing.secrets.randbelow", randbelow)
    return left


async def test_a_run_skips_generated_symbols_and_symbols_taken(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_engine.begin() as conn:
        customer = await create_customer(conn, "test", NOW, CustomerIn(
            kind="person", first_name="Jana", last_name="Nová", addresses=[TypedAddress(
                kind="permanent", address=Address(street="Dlouhá", house_number="1", city="Praha",
                                                  postal_code="11000"))],
        ))
        await create_account(conn, "test", NOW, AccountIn(
            customer=customer.number, variable_symbol=bench.variable_symbol(500, 42),
            delivery_channel="paper",
        ))
    generated = int(fake.VARIABLE_SYMBOL_FIRST + "35")  # key block 35's accounts: 8350000000, …
    left = draws(monkeypatch, [generated, 500, 400, 300])

    async with sqlite_engine.begin() as conn:
        run = await bench_billing._free_run(conn)

    assert (run, left) == (400, [300])


def test_no_run_shares_a_symbol_with_the_generated_accounts() -> None:
    generated = {account.variable_symbol for account in _accounts(fake.fake_records(35, 30))}
    ranges = [(bench.variable_symbol(run, 0), bench.variable_symbol(run, bench.OPM_MAX))
              for run in range(bench.RUN_MIN, bench.RUN_MAX + 1)
              if not bench.variable_symbol(run, 0).startswith(fake.VARIABLE_SYMBOL_FIRST)]
    assert generated and all(symbol is not None for symbol in generated)
    assert not [symbol for symbol in generated for low, high in ranges if low <= str(symbol) <= high]


def _accounts(records: Iterator[object]) -> Iterator[AccountIn]:
    return (record for record in records if isinstance(record, AccountIn))
