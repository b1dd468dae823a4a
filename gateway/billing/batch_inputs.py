"""What a batch of bills reads from master data and the reading store: for every request the same
``BillInputs`` as ``bill_inputs.read_inputs`` gives, but read for the whole batch in a constant number of
queries (contracts with their customers' segments, their terms with the accounts' variable symbols, OPMs
with address, technical data, meters and supply, the readings of every OPM over the batch's window) and
assembled per request with ``bill_inputs``'s pure helpers.

Each request gets its own view of the rows: the contract and the OPM as of its ``period_to``, and only the
readings touching its own window (the period, the year before it and the nearest-state slack), so that a
request sees exactly what ``read_inputs`` would have loaded for it alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.bill_inputs import (
    BillInputs,
    check_register_layout,
    price_problems,
    supply_over,
    technical_in_period,
)
from gateway.billing.bill_terms import products_over, terms_over
from gateway.billing.dso_codes import price_list_dso
from gateway.billing.prices import PriceList
from gateway.billing.quote import QUOTE_DAYS_MAX
from gateway.billing.readings import timeline as tl
from gateway.billing.readings.service import consumption_and_history, near, reading_window
from gateway.errors import InvalidField, NotFound
from gateway.masterdata import tables as md
from gateway.masterdata.contract_read import _contracts_query, contract_from, versions_of
from gateway.masterdata.opm_rows import address_from_row, meter_from, technical_from
from gateway.masterdata.service_base import as_utc
from gateway.readings import tables as rd
from gateway.store.db import KEYS_SEPARATOR, driver_of, keys_text
from gateway.store.fixed import FixedQuery
from schemas.masterdata.common import Segment
from schemas.masterdata.contracts import Terms
from schemas.masterdata.opm import Opm, SupplyPeriod, Technical

_SUPPLY_ADDRESS_KIND: Final = "supply"
#: Positions in a reading row (``timeline.ReadingRow``'s fields).
_OPM: Final = 0
_DAY_FROM: Final = 3
_DAY_TO: Final = 4
assert [tl.ReadingRow._fields[at] for at in (_OPM, _DAY_FROM, _DAY_TO)] == ["opm", "day_from", "day_to"]


_opm = md.opm.c
_address, _tech, _meter, _supply = md.address.c, md.opm_technical.c, md.meter.c, md.supply.c
# The batch's reads of master data (``store.fixed``: on PostgreSQL past SQLAlchemy's rows).
# The customer's segment from the join that names the customer: a query of its own per batch cost
# PostgreSQL 5 µs a settlement. (The terms name their account by a join too, so both exist: ``read_inputs``'s
# "does not exist" for them cannot happen here.)
_CONTRACTS: Final = FixedQuery(lambda keys: _contracts_query().add_columns(
    md.customer.c.segment.label("customer_segment")
).where(keys(md.contract.c.number, "numbers")), ["numbers"])
_OPMS: Final = FixedQuery(lambda keys: sa.select(md.opm).where(keys(_opm.code, "codes")), ["codes"])
# The columns the structs are built of (``opm_rows``): a timestamp decoded for nothing costs more than the
# struct's other fields.
_ADDRESSES: Final = FixedQuery(lambda keys: sa.select(
    _address.opm_id, _address.street, _address.house_number, _address.city, _address.city_part,
    _address.postal_code, _address.country,
).where(
    keys(_address.opm_id, "ids"), _address.kind == _SUPPLY_ADDRESS_KIND
), ["ids"])
_TECHNICAL: Final = FixedQuery(lambda keys: sa.select(
    *(column for column in md.opm_technical.c if column.name != "recorded_at")
).where(
    keys(_tech.opm_id, "ids")
).order_by(_tech.opm_id, _tech.effective_from), ["ids"])
_METERS: Final = FixedQuery(lambda keys: sa.select(md.meter).where(
    keys(_meter.opm_id, "ids")
).order_by(_meter.installed_on, _meter.id), ["ids"])
_SUPPLY: Final = FixedQuery(lambda keys: sa.select(
    _supply.opm_id, md.contract.c.number, _supply.start, _supply.end
).join(md.contract, md.contract.c.id == _supply.contract_id).where(keys(_supply.opm_id, "ids")).order_by(
    _supply.start
), ["ids"])


class OpmRows:
    """One OPM's rows, whatever the day: each request picks the technical data of its own last day.
    ``readings``: laid out as ``timeline.ReadingRow`` (the driver's records as they came)."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why. The reads fill the lists.
    def __init__(self, row: Any, readings: list[Any] | None = None) -> None:
        self.row: Final = row
        self.address: Any = None
        self.technical: Final[list[Technical]] = []
        self.meters: Final[list[Any]] = []
        self.supply: Final[list[SupplyPeriod]] = []
        self.readings: Final[list[Any]] = [] if readings is None else readings


@dataclass(slots=True)
class BatchReads:
    """The master data and readings of a batch's contracts, by contract number (each row with its
    customer's segment: what billing needs of the customer) and OPM code."""

    contracts: dict[str, tuple[Any, list[Terms]]]
    opms: dict[str, OpmRows]
    price_list: PriceList
    #: The days the readings were read for (the union of the requests' windows).
    window: tuple[dt.date, dt.date]


def accounts_of(reads: BatchReads) -> set[str]:
    """The accounts (variable symbols) the batch's contracts name in any terms version."""
    return {terms.account for _row, versions in reads.contracts.values() for terms in versions}


async def read_batch(
    conn: AsyncConnection, contracts: Collection[str], window: tuple[dt.date, dt.date], price_list: PriceList
) -> BatchReads:
    """The rows of ``contracts`` (unknown numbers are left out) and the readings of their OPMs touching
    ``window`` (the union of the requests' windows)."""
    rows = await _CONTRACTS.rows(conn, numbers=contracts)
    versions = await versions_of(conn, [row.id for row in rows])
    found = {row.number: (row, versions[row.id]) for row in rows}
    opms = await _opms(conn, {row.opm_code for row in rows}, window)
    return BatchReads(found, opms, price_list, window)


def inputs_for(
    reads: BatchReads, contract_number: str, period_from: dt.date, period_to: dt.date
) -> BillInputs:
    """The request's inputs from the batch's rows, with the errors ``read_inputs`` raises, in its order."""
    if period_to < period_from:
        raise InvalidField("period_to", period_to.isoformat(), f"is before period_from {period_from}")
    if (period_to - period_from).days >= QUOTE_DAYS_MAX:
        raise InvalidField("period_to", period_to.isoformat(), f"the period is over {QUOTE_DAYS_MAX} days")
    known = reads.contracts.get(contract_number)
    if known is None:
        raise NotFound(f"contract {contract_number!r} does not exist")
    contract = contract_from(known[0], known[1], period_to)
    versions = terms_over(contract, period_from, period_to)
    terms = versions[0]
    opm_rows = reads.opms[contract.opm]
    opm = _opm_on(opm_rows, period_to)
    technical = technical_in_period(opm_rows.technical, period_from, period_to)
    price_list = reads.price_list
    product, product_changes, product_problems = products_over(
        price_list, contract, versions, (period_from, period_to))
    dso = price_list_dso(contract.commodity, opm.dso)
    check_register_layout(opm.code, technical, price_list, dso, (period_from, period_to))
    supplied, supply_text = supply_over(contract.number, opm, period_from, period_to)
    timeline = _timeline(opm_rows, reading_window(period_from, period_to), reads.window,
                         near(period_from, period_to))
    consumption, history = consumption_and_history(timeline, period_from, period_to)
    period = (period_from, period_to)
    problems = price_problems(price_list, opm, terms, product, dso, period, technical=technical)
    segment: Segment = known[0].customer_segment
    return BillInputs(
        contract=contract, terms=terms, customer=contract.customer, segment=segment, account=terms.account,
        opm=opm,
        period_from=period_from, period_to=period_to, price_list=price_list, product=product, dso=dso,
        price_problems=(*problems, *product_problems), supplied=supplied, supply_text=supply_text,
        consumption=consumption, history=history, technical=technical, product_changes=product_changes,
    )


def _opm_on(rows: OpmRows, as_of: dt.date) -> Opm:
    """The OPM as ``get_opm(code, as_of)`` reads it."""
    row = rows.row
    in_force = [version for version in rows.technical if version.effective_from <= as_of]
    return Opm(
        id=row.id, code=row.code, commodity=row.commodity, dso=row.dso,
        supply_address=address_from_row(rows.address), technical=in_force[-1] if in_force else None,
        technical_history=rows.technical, meters=[meter_from(meter) for meter in rows.meters],
        supply=rows.supply, version=row.version, created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _timeline(
    rows: OpmRows, window: tuple[dt.date, dt.date], read: tuple[dt.date, dt.date],
    days: tl.Near | None = None,
) -> tl.Timeline:
    """The OPM's timeline as ``timeline.load(code, *window)`` builds it, from the batch's rows (read for
    the days ``read``: all of them are the request's when it asks for those days); with ``days``, of the
    states that can matter to them (the same consumption: tests/billing/readings/test_timeline_near.py)."""
    since, until = (tl.number_of(day) for day in window)
    readings = rows.readings if window == read else [
        row for row in rows.readings if row[_DAY_TO] >= since and row[_DAY_FROM] <= until
    ]
    return tl.from_rows(rows.row.code, rows.row.commodity, rows.meters, readings, days)


async def _opms(
    conn: AsyncConnection, codes: Collection[str], window: tuple[dt.date, dt.date]
) -> dict[str, OpmRows]:
    """Each OPM's row, supply address, technical history, meters, supply periods and readings."""
    found = {row.code: OpmRows(row) for row in await _OPMS.rows(conn, codes=codes)}
    by_id: dict[uuid.UUID, OpmRows] = {rows.row.id: rows for rows in found.values()}
    ids = list(by_id)
    for row in await _ADDRESSES.rows(conn, ids=ids):
        by_id[row.opm_id].address = row
    for row in await _TECHNICAL.rows(conn, ids=ids):
        by_id[row.opm_id].technical.append(technical_from(row))
    for row in await _METERS.rows(conn, ids=ids):
        by_id[row.opm_id].meters.append(row)
    for row in await _SUPPLY.rows(conn, ids=ids):
        by_id[row.opm_id].supply.append(SupplyPeriod(contract=row.number, start=row.start, end=row.end))
    for reading in await _readings(conn, codes, window):
        found[reading[_OPM]].readings.append(reading)
    return found


#: ``_readings``'s query for PostgreSQL's driver directly: the readings are most of what a batch reads (a row
#: per month), and asyncpg's records, used as they come, cost a third of SQLAlchemy rows. The OPMs as a set
#: the planner joins by the readings' index. Days as numbers and each reading's registers in one text, as
#: ``timeline.ReadingRow`` takes them (joining ``rd_register`` instead cost the backend three times as much).
_READINGS_SQL: Final = (
    "SELECT r.opm, r.id, r.meter_id, r.date_from - DATE '2000-01-01', r.date_to - DATE '2000-01-01', r.kind, "
    "r.register_values FROM rd_reading r "
    "WHERE r.opm IN (SELECT unnest({codes})) AND r.superseded_by IS NULL AND r.status <> 'duplicate' "
    "AND r.date_to >= $2 AND r.date_from <= $3"
)
assert f"DATE '{tl.DAY_EPOCH.isoformat()}'" in _READINGS_SQL, "day numbers from timeline's epoch"
#: The OPM codes as one text (``store.db.keys_text``), else as an array.
_READINGS_BY_TEXT: Final = _READINGS_SQL.format(codes="string_to_array($1, $4)")
_READINGS_BY_ARRAY: Final = _READINGS_SQL.format(codes="$1::varchar[]")


async def _readings(
    conn: AsyncConnection, codes: Collection[str], window: tuple[dt.date, dt.date]
) -> list[Any]:
    """The readings in force of ``codes`` touching ``window``, laid out as ``timeline.ReadingRow`` (as
    ``timeline.load`` reads them)."""
    if conn.dialect.name == "postgresql":
        driver = await driver_of(conn)  # the same session and transaction
        text = keys_text(codes)
        records: list[Any] = await (
            driver.fetch(_READINGS_BY_ARRAY, list(codes), *window) if text is None
            else driver.fetch(_READINGS_BY_TEXT, text, *window, KEYS_SEPARATOR)
        )
        return records
    rows: Any = await conn.execute(tl.readings_query(conn.dialect, rd.reading.c.opm.in_(codes), *window))
    return list(rows)
