"""Advances (zálohy, issue #6): payment schedules of a contract, their instalments, and the answers of
``GET /api/accounts/{vs}/advances`` and ``POST /api/accounts/{vs}/advances/regenerate``.

A schedule prices the expected consumption of the next 12 months with the contract's product and the OPM's
technical data (the price calculator, schemas/billing/settlement.py) and divides the total including VAT
into instalments (monthly 12, quarterly 4, semi-annual 2), each rounded up to whole CZK. A regenerated
schedule supersedes the previous one's instalments that were neither requested nor paid; those stay.
Money is a decimal string in JSON.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Final, Literal

import msgspec

Frequency = Literal["monthly", "quarterly", "semiannual"]
#: Instalments a year per frequency.
INSTALMENTS_PER_YEAR: Final[dict[str, int]] = {"monthly": 12, "quarterly": 4, "semiannual": 2}
#: Why a schedule was made: the first one of a contract, after a settlement (new consumption), after a
#: price change (a new price list), or on request (API, CLI without a flag).
ScheduleReason = Literal["initial", "settlement", "price_change", "manual"]
#: Where the yearly consumption came from: the OPM's technical data or the last settlement.
ConsumptionSource = Literal["technical", "settlement"]
ScheduleState = Literal["active", "superseded"]
#: planned → requested (an advance request was issued: a receivable) → paid; planned → superseded.
InstalmentState = Literal["planned", "requested", "paid", "superseded"]


class Instalment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    sequence: int  # 1..n within its schedule
    period_from: dt.date
    period_to: dt.date  # inclusive
    due_date: dt.date
    amount: Decimal  # whole CZK
    state: InstalmentState
    #: The advance request (``ZF…``) once issued, and the tax documents for payments received (``DZ…``).
    request_number: str | None = None
    paid_amount: Decimal = Decimal("0")
    tax_documents: list[str] = []


class Schedule(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    contract: str  # contract number
    opm: str
    commodity: Literal["electricity", "gas"]
    version: int  # 1, 2, … per contract
    state: ScheduleState
    reason: ScheduleReason
    frequency: Frequency
    starts_on: dt.date
    ends_on: dt.date
    price_list: str
    #: The 12 months the quote priced (the schedule's own, or the newest 12 months the list has prices for).
    priced_from: dt.date
    priced_to: dt.date
    consumption_source: ConsumptionSource
    #: Yearly consumption per register in MWh (``vt``/``nt`` or ``single``), as quoted.
    consumption_mwh: dict[str, Decimal]
    annual_total: Decimal  # the quote's total including VAT
    instalment_amount: Decimal
    created_at: dt.datetime
    instalments: list[Instalment]


class AccountAdvances(msgspec.Struct, frozen=True, kw_only=True):
    variable_symbol: str
    #: Every schedule of the account's contracts, newest version first per contract; superseded ones too.
    schedules: list[Schedule]


class RegenerateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``price_list``: a list id under the rules directory's ``prices/`` (default: the default list);
    ``frequency``: overrides the account's; ``reason`` is recorded on a new schedule."""

    price_list: str | None = None
    frequency: Frequency | None = None
    reason: ScheduleReason = "manual"


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    """A contract left without a new schedule, and why (the field and value that stopped it)."""

    contract: str
    field: str
    value: str | None
    reason: str


class RegenerationSummary(msgspec.Struct, kw_only=True):
    contracts: int = 0
    created: int = 0
    unchanged: int = 0
    skipped: int = 0
    #: Instalments of superseded schedules dropped (neither requested nor paid).
    superseded_instalments: int = 0
    skipped_contracts: list[Skipped] = []
