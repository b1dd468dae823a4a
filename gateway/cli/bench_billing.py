"""``proud bench billing``: settlements per second through ``bill_many`` on PostgreSQL.

Prepares ``--opm`` OPMs with their customers, accounts, contracts, technical data, a year of monthly readings
and paid advances (COPY, in the worker processes; timed apart and not counted), then bills them all for 2026
in ``--workers`` processes, batches of ``--batch``, each process on an invoice series of its own: rating,
the checks (the repository's decision tables), invoice rows with their settlement JSON and receivable
postings, committed. Prints the figures, ``settlements_per_s`` last.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing import batch_bench as bench
from gateway.billing.batch import BATCH_BILLS_MAX
from gateway.billing.invoices.numbering import SEQUENCE_MAX, WORKER_MAX
from gateway.billing.invoices.tables import invoice_series
from gateway.billing.ledger_tables import invoice as bl_invoice
from gateway.billing.ledger_tables import receivable as bl_receivable
from gateway.cli import guarded
from gateway.cli.bench_common import (
    MachineCpu,
    machine_cpu,
    machine_gauge_ms,
    prepared_database,
    print_figures,
)
from gateway.config import load_settings
from gateway.gc_tuning import tune_gc
from gateway.masterdata import fake
from gateway.masterdata import tables as md
from gateway.masterdata.service_base import local_date
from gateway.store.db import create_engine

OPM_DEFAULT: Final = 100_000
#: Processes at most: each holds a database connection and a core.
BENCH_WORKERS_MAX: Final = 16
#: Attempts at drawing a run number no earlier run of the database used.
RUN_ATTEMPTS_MAX: Final = 20
#: Readings written per OPM (``batch_bench``: monthly over the year).
READINGS_PER_OPM: Final = 12
#: Tables vacuumed and analysed after the bulk load: a real book's rows were vacuumed long before its billing
#: run (hint bits set, visibility map current), and the planner needs their statistics.
_ANALYZED: Final = ("md_customer", "md_address", "md_account", "md_opm", "md_opm_technical", "md_meter",
                    "md_contract", "md_contract_terms", "md_supply", "rd_reading", "rd_register",
                    "bl_receivable", "bl_invoice")
T = TypeVar("T")


def bench_billing(
    opm: Annotated[int, typer.Option(
        min=1, max=bench.OPM_MAX, help="OPMs (contracts) to prepare and bill"
    )] = OPM_DEFAULT,
    database_url: Annotated[str | None, typer.Option(
        help="a PostgreSQL database; default: PROUD_DATABASE_URL, else the local one of `make services`"
    )] = None,
    workers: Annotated[int, typer.Option(
        min=1, max=BENCH_WORKERS_MAX, help="billing processes, each with its own invoice series"
    )] = 2,
    batch: Annotated[int, typer.Option(min=1, max=BATCH_BILLS_MAX, help="bills per bill_many")] = (
        BATCH_BILLS_MAX
    ),
) -> None:
    """Generated contracts → bill_many (rating, checks, invoices, receivables); prints settlements_per_s."""
    with guarded():
        url = prepared_database(database_url)
        if not url.startswith("postgresql"):
            raise typer.BadParameter(f"{url.split('://', 1)[0]}: the bench writes by COPY, PostgreSQL only",
                                     param_hint="--database-url")
        print_figures(url, run_billing_bench(url, opm=opm, workers=workers, batch=batch))


@dataclass(frozen=True, slots=True)
class BillingBenchResult:
    run: int
    opm: int
    workers: int
    batch: int
    prepare_s: float
    bill_s: float
    slices: list[bench.SliceResult]
    invoices: int
    receivables: int
    #: The whole machine's CPU over the billing (None: not measurable here).
    machine: MachineCpu | None = None
    #: ``bench_common.machine_gauge_ms`` just before and just after the billing (the machine's speed then).
    gauge_ms: tuple[float, float] | None = None

    @property
    def billed(self) -> int:
        return sum(part.billed for part in self.slices)

    def figures(self) -> str:
        outsorted = sum(part.outsorted for part in self.slices)
        errors = sum(part.errors for part in self.slices)
        gas = sum(1 for k in range(self.opm) if k % bench.GAS_EVERY == bench.GAS_EVERY - 1)
        billed = max(self.billed, 1)
        billing_cpu_s = sum(part.cpu_s for part in self.slices)
        return "\n".join([
            f"run: {bench.run_prefix(self.run)} contracts, {self.workers} processes, batches of {self.batch}",
            f"prepared: {self.opm} OPMs ({self.opm - gas} electricity, {gas} gas), "
            f"{self.opm * READINGS_PER_OPM} readings, in {self.prepare_s:.1f} s (not measured)",
            f"billed: {self.billed} settlements, {outsorted} outsorted, {errors} errors, "
            f"in {self.bill_s:.2f} s",
            f"stored: {self.invoices} invoices, {self.receivables} invoice receivables",
            _cpu_line(billing_cpu_s, self.machine, billed),
            *([] if self.gauge_ms is None else [
                f"gauge: {self.gauge_ms[0]:.1f} ms before the billing, {self.gauge_ms[1]:.1f} ms after "
                "(CPU for a fixed interpreter workload: the machine's speed apart from proud's code, by "
                "which runs of other days compare)"
            ]),
        ])

    def line(self) -> str:
        return f"settlements_per_s={self.billed / self.bill_s:.0f}"


def _cpu_line(billing_cpu_s: float, machine: MachineCpu | None, billed: int) -> str:
    """CPU per settlement of the billing processes and of the rest of the machine (PostgreSQL, on one box),
    and how busy the machine was: on a machine that is busy throughout, the sum is what a settlement costs."""
    line = f"cpu: {1000 * billing_cpu_s / billed:.2f} ms per settlement in the billing processes"
    if machine is None or machine.total_s <= 0:
        return f"{line} (the rest of the machine not measured)"
    rest_s = max(machine.busy_s - billing_cpu_s, 0.0)
    line += (f", {1000 * rest_s / billed:.2f} ms in the rest of the machine (PostgreSQL on one box); "
             f"busy {100 * machine.busy_s / machine.total_s:.0f} % of {os.cpu_count()} cores")
    if machine.steal_s > 0:
        line += f", {100 * machine.steal_s / machine.total_s:.1f} % taken by the hypervisor"
    return line


def run_billing_bench(url: str, *, opm: int, workers: int, batch: int) -> BillingBenchResult:
    """Prepare and bill ``opm`` contracts in ``workers`` processes (spawned: no loop or engine inherited)."""
    workers = min(workers, opm)
    run, series, first_reading = asyncio.run(_setup(url, opm, workers))
    bounds = [(opm * index // workers, opm * (index + 1) // workers) for index in range(workers)]
    rules = Path(load_settings().rules_dir)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        typer.echo(f"preparing {opm} OPMs in {workers} processes …")
        started = time.perf_counter()
        prepared = [
            pool.submit(_prepare, url, run, lo, hi, first_reading + lo * READINGS_PER_OPM)
            for lo, hi in bounds
        ]
        for future in prepared:
            future.result()
        asyncio.run(_analyze(url))
        prepare_s = time.perf_counter() - started
        gauge_before_ms = machine_gauge_ms()  # the workers wait: the machine is idle
        typer.echo(f"billing {opm} contracts …")
        started, cpu_before = time.perf_counter(), machine_cpu()
        billing = [
            pool.submit(_bill, url, run, lo, hi, worker, batch, rules)
            for (lo, hi), worker in zip(bounds, series, strict=True)
        ]
        slices = [future.result() for future in billing]
        bill_s, cpu_after = time.perf_counter() - started, machine_cpu()
    gauge_ms = (gauge_before_ms, machine_gauge_ms())
    invoices, receivables = asyncio.run(_stored(url, run))
    machine = cpu_after.since(cpu_before) if cpu_before is not None and cpu_after is not None else None
    return BillingBenchResult(
        run, opm, workers, batch, prepare_s, bill_s, slices, invoices, receivables, machine, gauge_ms
    )


async def _setup(url: str, opm: int, workers: int) -> tuple[int, list[int], int]:
    """A run number no earlier run used, the invoice series with room for a slice each, reading ids."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            run = await _free_run(conn)
            series = await _free_series(conn, -(-opm // workers), workers)
            first_reading = await bench.reserve_reading_ids(conn, opm * READINGS_PER_OPM)
        return run, series, first_reading
    finally:
        await engine.dispose()


async def _free_run(conn: AsyncConnection) -> int:
    """A run whose keys no stored row has: no contract with its prefix, and no account with one of its
    variable symbols (ten digits: a run shares their space with every account). A run whose symbols start
    as the generated master data's (``proud demo-data``, the tests) is never drawn, since that data may be
    imported after the bench and would find its accounts taken (a CI run's import of key block 35 found
    account 8350000000 another customer's: most likely a bench run 835 before it)."""
    symbol = md.account.c.variable_symbol
    for _attempt in range(RUN_ATTEMPTS_MAX):
        run = bench.RUN_MIN + secrets.randbelow(bench.RUN_MAX - bench.RUN_MIN + 1)
        if bench.variable_symbol(run, 0).startswith(fake.VARIABLE_SYMBOL_FIRST):
            continue
        taken = await conn.scalar(sa.select(sa.literal(1)).where(sa.or_(
            sa.exists().where(md.contract.c.number.startswith(bench.run_prefix(run))),
            sa.exists().where(symbol.between(bench.variable_symbol(run, 0),
                                             bench.variable_symbol(run, bench.OPM_MAX))),
        )))
        if taken is None:
            return run
    raise typer.BadParameter(f"no free run number after {RUN_ATTEMPTS_MAX} draws: use a fresh database")


async def _free_series(conn: AsyncConnection, needed: int, workers: int) -> list[int]:
    """``workers`` series of the bench's year with ``needed`` numbers left each, the least used first."""
    year = local_date(bench.BILLED_AT).year
    s = invoice_series.c
    used = dict((await conn.execute(
        sa.select(s.worker, s.next_number).where(s.prefix == "FV", s.year == year)
    )).tuples().all())
    free = sorted((used.get(worker, 1), worker) for worker in range(1, WORKER_MAX + 1))
    chosen = [worker for next_number, worker in free if next_number + needed - 1 <= SEQUENCE_MAX][:workers]
    if len(chosen) < workers:
        raise typer.BadParameter(f"fewer than {workers} invoice series of {year} have {needed} numbers left: "
                                 "use a fresh database", param_hint="--database-url")
    return chosen


async def _analyze(url: str) -> None:
    # VACUUM refuses to run in a transaction.
    engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f"VACUUM (ANALYZE) {', '.join(_ANALYZED)}"))
    finally:
        await engine.dispose()


async def _stored(url: str, run: int) -> tuple[int, int]:
    """The run's invoices and their receivables, counted in the database."""
    engine = create_engine(url)
    i, r = bl_invoice.c, bl_receivable.c
    try:
        async with engine.connect() as conn:
            invoices = await conn.scalar(sa.select(sa.func.count()).where(
                i.contract.startswith(bench.run_prefix(run))
            ))
            receivables = await conn.scalar(
                sa.select(sa.func.count()).select_from(bl_receivable.join(bl_invoice, i.number == r.document))
                .where(i.contract.startswith(bench.run_prefix(run)), r.kind == "invoice")
            )
        return int(invoices or 0), int(receivables or 0)
    finally:
        await engine.dispose()


def _prepare(url: str, run: int, lo: int, hi: int, first_reading: int) -> None:
    asyncio.run(_in_engine(url, lambda engine: bench.prepare_slice(engine, run, lo, hi, first_reading)))


def _bill(url: str, run: int, lo: int, hi: int, worker: int, batch: int, rules: Path) -> bench.SliceResult:
    tune_gc()  # as ``proud run`` does
    return asyncio.run(_in_engine(
        url, lambda engine: bench.bill_slice(engine, run, lo, hi, worker=worker, batch=batch, rules=rules)
    ))


async def _in_engine(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    engine = create_engine(url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()
