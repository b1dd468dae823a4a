"""The data of ``proud bench billing``: a slice of generated OPMs with everything a bill needs, written by
COPY (text format) on PostgreSQL, and the billing of a slice through ``bill_many``.

Each OPM ``k`` of a run has its own customer (a household), contract account, contract (from
``SUPPLY_START``, product ``E-STANDARD`` or ``G-STANDARD``), technical data, one meter and a year of monthly
DSO readings (actual, start and end states) over ``PERIOD``, plus four quarterly advance requests, paid.
One in ``GAS_EVERY`` is gas (GasNet, m³); electricity cycles through the three DSOs, one in
``TWO_RATE_EVERY`` on the two-rate D25d (VT/NT meter), the others on D02d. Keys carry the run's number
(``RUN_MIN`` … ``RUN_MAX``), so that runs never collide in one database.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.billing.batch import BillRequest, Unbillable, bill_many
from gateway.billing.checks import Checks, TableDecision
from gateway.readings import register_text as rt
from gateway.store.db import copy_payload
from schemas.billing.bill import Billed

PERIOD: Final = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
#: The bench bills after the period, when every closing reading is in.
BILLED_AT: Final = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
SUPPLY_START: Final = dt.date(2025, 1, 1)
GAS_EVERY: Final = 5
TWO_RATE_EVERY: Final = 3
RUN_MIN: Final = 100
RUN_MAX: Final = 999
#: OPMs one run prepares at most: seven digits of ``k`` in the keys.
OPM_MAX: Final = 9_999_999
#: OPMs written per COPY round (the rows of one round are built in memory first).
PREPARE_CHUNK_OPM: Final = 20_000
_ELECTRICITY_DSOS: Final = ("ČEZ Distribuce, a.s.", "PREdistribuce, a.s.", "EG.D, a.s.")
_GAS_DSO: Final = "GasNet Služby, s.r.o."
_MONTHS: Final = 12
#: Monthly consumption shares of a year (heating households use more in winter), in per mille.
_SEASON: Final = (120, 110, 95, 75, 60, 50, 45, 50, 60, 85, 115, 135)
_QUARTER_DUE: Final = tuple(dt.date(2026, month, 15) for month in (2, 5, 8, 11))
_STAMP: Final = "2025-01-01 00:00:00+00"
_NULL: Final = "\\N"

assert sum(_SEASON) == 1000 and len(_SEASON) == _MONTHS
assert OPM_MAX < 10**7


def _id(run: int, kind: int, k: int) -> uuid.UUID:
    """A row id unique per run, table kind and OPM (the bench's rows are never merged with others)."""
    return uuid.UUID(int=(0xBE << 120) | (run << 64) | (kind << 56) | k)


def contract_number(run: int, k: int) -> str:
    return f"B{run:03}-{k:07}"


def variable_symbol(run: int, k: int) -> str:
    """The account of OPM ``k`` of a run: ten digits, the run's number first (``bench billing`` draws a run
    whose symbols no account has)."""
    return f"{run:03}{k:07}"


def run_prefix(run: int) -> str:
    """What the contract numbers of a run start with."""
    return f"B{run:03}-"


@dataclass(frozen=True, slots=True)
class _Opm:
    k: int
    gas: bool
    two_rate: bool
    dso: str

    @property
    def registers(self) -> tuple[str, ...]:
        return ("vt", "nt") if self.two_rate else ("single",)


def _opm(k: int) -> _Opm:
    gas = k % GAS_EVERY == GAS_EVERY - 1
    return _Opm(k, gas, not gas and k % TWO_RATE_EVERY == 0,
                _GAS_DSO if gas else _ELECTRICITY_DSOS[k % len(_ELECTRICITY_DSOS)])


@dataclass(slots=True)
class _Lines:
    """COPY text lines per table, for one chunk of OPMs."""

    customer: list[str]
    address: list[str]
    account: list[str]
    opm: list[str]
    technical: list[str]
    meter: list[str]
    contract: list[str]
    terms: list[str]
    supply: list[str]
    reading: list[str]
    register: list[str]
    receivable: list[str]


_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "customer": ("id", "number", "kind", "segment", "first_name", "last_name", "search_name",
                 "consent_einvoice", "consent_marketing", "contacts", "version", "created_at", "updated_at"),
    "address": ("customer_id", "opm_id", "kind", "street", "house_number", "city", "postal_code", "country",
                "search_text"),
    "account": ("id", "customer_id", "variable_symbol", "payment_method", "billing_cycle",
                "advance_frequency", "dunning_procedure", "delivery_channel", "version", "created_at",
                "updated_at"),
    "opm": ("id", "code", "commodity", "dso", "version", "created_at", "updated_at"),
    "technical": ("opm_id", "effective_from", "distribution_rate", "breaker_phases", "breaker_amps",
                  "gas_band", "tdd_class", "annual_consumption_kwh", "recorded_at"),
    "meter": ("opm_id", "serial", "installed_on", "registers"),
    "contract": ("id", "number", "customer_id", "opm_id", "commodity", "signed_on", "valid_from",
                 "negotiation", "start_reason", "version", "created_at", "updated_at"),
    "terms": ("contract_id", "version", "effective_from", "product", "account_id", "notice_period_days",
              "note", "recorded_at"),
    "supply": ("contract_id", "opm_id", "start"),
    "reading": ("id", "opm", "commodity", "meter_id", "date_from", "date_to", "reason", "kind", "status",
                "fingerprint", "source", "created_at", "register_values"),
    "register": ("reading_id", "register", "start_state", "end_state", "consumption_kwh", "volume_m3"),
    "receivable": ("account", "document", "kind", "amount", "open_amount", "due_date", "paid_on",
                   "posted_at"),
}
_TABLES: Final = {
    "customer": "md_customer", "address": "md_address", "account": "md_account", "opm": "md_opm",
    "technical": "md_opm_technical", "meter": "md_meter", "contract": "md_contract",
    "terms": "md_contract_terms", "supply": "md_supply", "reading": "rd_reading", "register": "rd_register",
    "receivable": "bl_receivable",
}


def opm_code(run: int, item: _Opm) -> str:
    return f"27ZG{run:03}{item.k:09}" if item.gas else f"859189{run:03}{item.k:09}"


def _master_lines(run: int, item: _Opm, lines: _Lines) -> None:
    k = item.k
    customer, account, opm, contract = (_id(run, kind, k) for kind in (1, 2, 3, 4))
    code = opm_code(run, item)
    lines.customer.append(
        f"{customer}\tBC{run:03}{k:07}\tperson\thousehold\tJana\tNová {k}\tjana nova {k}\tf\tf\t[]\t1"
        f"\t{_STAMP}\t{_STAMP}\n"
    )
    lines.address.append(
        f"{customer}\t{_NULL}\tpermanent\tDlouhá\t{k % 200 + 1}\tPraha\t11000\tCZ\tdlouha praha\n"
    )
    lines.address.append(f"{_NULL}\t{opm}\tsupply\tKrátká\t{k % 300 + 1}\tBrno\t60200\tCZ\tkratka brno\n")
    symbol = variable_symbol(run, k)
    lines.account.append(
        f"{account}\t{customer}\t{symbol}\tbank_transfer\tannual\tquarterly\tstandard\temail_pdf\t1\t{_STAMP}"
        f"\t{_STAMP}\n"
    )
    commodity = "gas" if item.gas else "electricity"
    lines.opm.append(f"{opm}\t{code}\t{commodity}\t{item.dso}\t1\t{_STAMP}\t{_STAMP}\n")
    if item.gas:
        technical = f"{_NULL}\t{_NULL}\t{_NULL}\t7.56-15\tDOM4\t10500"
        meter = '[{"code": "SINGLE", "unit": "m3", "digits": 6}]'
    else:
        rate = "D25d" if item.two_rate else "D02d"
        technical = f"{rate}\t3\t25\t{_NULL}\t4\t3500"
        meter = ('[{"code": "VT", "unit": "kWh", "digits": 6}, {"code": "NT", "unit": "kWh", "digits": 6}]'
                 if item.two_rate else '[{"code": "SINGLE", "unit": "kWh", "digits": 6}]')
    lines.technical.append(f"{opm}\t2020-01-01\t{technical}\t{_STAMP}\n")
    lines.meter.append(f"{opm}\tM{k}\t2020-01-01\t{meter}\n")
    lines.contract.append(
        f"{contract}\t{contract_number(run, k)}\t{customer}\t{opm}\t{commodity}\t2024-11-01\t{SUPPLY_START}"
        f"\tdistance\tswitch\t1\t{_STAMP}\t{_STAMP}\n"
    )
    product = "G-STANDARD" if item.gas else "E-STANDARD"
    lines.terms.append(f"{contract}\t1\t{SUPPLY_START}\t{product}\t{account}\t30\t\t{_STAMP}\n")
    lines.supply.append(f"{contract}\t{opm}\t{SUPPLY_START}\n")
    advance = "5000.00" if item.gas else "1500.00"
    for quarter, due in enumerate(_QUARTER_DUE):
        lines.receivable.append(
            f"{symbol}\tZB{run:03}{k:07}{quarter}\tadvance_request\t{advance}\t0.00\t{due}\t{due}\t{_STAMP}\n"
        )


def _reading_lines(run: int, item: _Opm, first_id: int, lines: _Lines) -> int:
    """Twelve monthly DSO readings of the OPM's meter, ids from ``first_id``; the next free id."""
    k = item.k
    code = opm_code(run, item)
    commodity = "gas" if item.gas else "electricity"
    yearly = 900 + k % 400 if item.gas else 2000 + k % 3000  # m³ or kWh
    shares = (Decimal("0.6"), Decimal("0.4")) if item.two_rate else (Decimal(1),)
    states = [Decimal(10_000 + k % 50_000 * (index + 1)) for index in range(len(shares))]
    reading_id = first_id
    for month in range(_MONTHS):
        first = dt.date(PERIOD[0].year, month + 1, 1)
        following = dt.date(first.year + (month == _MONTHS - 1), (month + 1) % _MONTHS + 1, 1)
        last = following - dt.timedelta(days=1)
        parts: list[str] = []  # rd_reading.register_values, the same values as the register lines
        for index, register in enumerate(item.registers):
            used = (Decimal(yearly * _SEASON[month]) * shares[index] / 1000).quantize(Decimal("0.001"))
            start, states[index] = states[index], states[index] + used
            if item.gas:
                energy = (used * Decimal("10.55")).quantize(Decimal("0.001"))
                lines.register.append(f"{reading_id}\t{register}\t{start}\t{states[index]}\t{energy}\t{used}\n")
                parts.append(rt.part_text(register, str(start), str(states[index]), str(energy), str(used)))
            else:
                lines.register.append(f"{reading_id}\t{register}\t{start}\t{states[index]}\t{used}\t{_NULL}\n")
                parts.append(rt.part_text(register, str(start), str(states[index]), str(used), ""))
        lines.reading.append(
            f"{reading_id}\t{code}\t{commodity}\tM{k}\t{first}\t{last}\tperiodic\tactual\tnew"
            f"\t\\\\x{run:04x}{k:016x}{month:012x}\tote\t{_STAMP}\t{rt.REGISTER_SEPARATOR.join(parts)}\n"
        )
        reading_id += 1
    return reading_id


def _chunks(lo: int, hi: int) -> Iterator[range]:
    for start in range(lo, hi, PREPARE_CHUNK_OPM):
        yield range(start, min(start + PREPARE_CHUNK_OPM, hi))


async def prepare_slice(engine: AsyncEngine, run: int, lo: int, hi: int, first_reading_id: int) -> None:
    """Write OPMs ``lo`` … ``hi − 1`` of ``run`` with their parties, readings and advances (reading ids from
    ``first_reading_id``, reserved by the caller: twelve per OPM)."""
    reading_id = first_reading_id
    for chunk in _chunks(lo, hi):
        lines = _Lines(*([] for _ in _COLUMNS))
        for k in chunk:
            item = _opm(k)
            _master_lines(run, item, lines)
            reading_id = _reading_lines(run, item, reading_id, lines)
        async with engine.begin() as conn:
            for name, table in _TABLES.items():
                payload = "".join(getattr(lines, name)).encode()
                await copy_payload(conn, table, _COLUMNS[name], payload, "text")


async def reserve_reading_ids(conn: AsyncConnection, count: int) -> int:
    """The first of ``count`` consecutive ``rd_reading`` ids, taken from its sequence."""
    last = await conn.scalar(sa.text(
        "SELECT setval(pg_get_serial_sequence('rd_reading', 'id'), "
        "nextval(pg_get_serial_sequence('rd_reading', 'id')) + :count - 1)"
    ), {"count": count})
    assert last is not None
    return int(last) - count + 1


@dataclass(frozen=True, slots=True)
class SliceResult:
    billed: int
    outsorted: int
    errors: int
    bill_s: float
    #: CPU seconds of the billing process (the machine may be shared: wall time alone says less).
    cpu_s: float


async def bill_slice(
    engine: AsyncEngine, run: int, lo: int, hi: int, *, worker: int, batch: int, rules: Path,
) -> SliceResult:
    """Bill contracts ``lo`` … ``hi − 1`` of ``run`` in batches of ``batch``, each in a transaction, with the
    decision tables of ``rules`` and the invoice series of ``worker``."""
    checks = Checks(rules)
    billed = errors = 0
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(lo, hi, batch):
        requests = [
            BillRequest(contract_number(run, k), PERIOD[0], PERIOD[1], decision=TableDecision(checks))
            for k in range(start, min(start + batch, hi))
        ]
        async with engine.begin() as conn:
            outcomes = await bill_many(conn, requests, now=BILLED_AT, worker=worker, prices=rules / "prices")
        billed += sum(isinstance(outcome, Billed) for outcome in outcomes)
        errors += sum(isinstance(outcome, Unbillable) for outcome in outcomes)
    outsorted = (hi - lo) - billed - errors
    return SliceResult(billed, outsorted, errors, time.perf_counter() - started, time.process_time() - cpu)
