"""The meter readings a bill used, kept with the invoice and printed as its "Odečty" block: the states with
how each was obtained (an estimate marked), the consumption, gas's m³ converted to kWh; on SQLite and
PostgreSQL. The ISDOC has no element for them (docs/invoices.md) and is validated unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.invoices.isdoc_schema import validate_invoice
from gateway.billing.ledger import get_invoice
from gateway.billing.readings.estimate import estimate_reading
from gateway.masterdata.documents import read_content
from gateway.masterdata.filestore import FileStore
from schemas.billing.bill import Billed, Invoice
from schemas.billing.billed_readings import BilledReadings, GasVolume, MeterReadingUsed
from schemas.billing.readings import EstimateIn
from tests.billing.batch.support import bill_batch, read_two_rate, request, supplied_two_rate
from tests.billing.bill.support import NOW, bill, day, read, rebill, supplied, supplied_gas
from tests.billing.invoices.test_pdf import pdf_text

ESTIMATE_NOTE = "Stav označený „odhad“ je odhadnutý"


async def _issued(engine: AsyncEngine, files: FileStore, contract: str, **options: object) -> Invoice:
    outcome = await bill(engine, files, contract, **options)
    assert isinstance(outcome, Billed) and outcome.invoice.number is not None
    return outcome.invoice


async def _pdf_text(engine: AsyncEngine, files: FileStore, invoice: Invoice) -> str:
    async with engine.connect() as conn:
        _, pdf = await read_content(conn, files, invoice.documents[0])
        _, isdoc = await read_content(conn, files, invoice.documents[1])
    validate_invoice(isdoc)
    return pdf_text(pdf)


async def test_the_states_billed_are_kept_with_the_invoice_and_printed(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500.5")

    invoice = await _issued(engine, files, parties.contract)

    assert invoice.readings == BilledReadings(meters=(MeterReadingUsed(
        meter="M1", register="single", date_from=day("2025-12-31"), state_from=Decimal("1000"),
        kind_from="customer", date_to=day("2026-06-30"), state_to=Decimal("2500.5"), kind_to="customer",
        consumption=Decimal("1500.5"), unit="kWh",
    ),))
    async with engine.connect() as conn:
        assert (await get_invoice(conn, str(invoice.number))).readings == invoice.readings
    text = await _pdf_text(engine, files, invoice)
    assert "Odečty" in text and "Elektroměr" in text
    assert "M1 – 31. 12. 2025 1 000 samoodečet 30. 6. 2026 2 500,5 samoodečet 1 500,5 kWh" in text
    assert ESTIMATE_NOTE not in text and "Přepočet" not in text


async def test_an_estimated_state_is_printed_as_an_estimate(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-06-30", "400")
    await read(engine, parties.opm, "2025-12-31", "1000")
    async with engine.begin() as conn:
        estimate = await estimate_reading(conn, NOW, parties.opm, EstimateIn(date=day("2026-06-30")))
    [register] = estimate.registers

    invoice = await _issued(engine, files, parties.contract)

    assert invoice.readings is not None
    [used] = invoice.readings.meters
    assert (used.kind_from, used.kind_to, used.state_to) == ("customer", "estimated", register.state)
    assert used.consumption == register.state - Decimal("1000") > 0
    text = await _pdf_text(engine, files, invoice)
    assert "30. 6. 2026" in text and " odhad " in text and ESTIMATE_NOTE in text


async def test_gas_prints_its_cubic_metres_converted(engine: AsyncEngine, files: FileStore) -> None:
    parties = await supplied_gas(engine, gas_conversion_factor=Decimal("0.9655"), gas_area="SEVER")
    await read(engine, parties.opm, "2025-12-31", "100")
    await read(engine, parties.opm, "2026-03-31", "400")

    invoice = await _issued(engine, files, parties.contract, period_to=dt.date(2026, 3, 31))

    # 300 m³ × 0.9655 × 10.7 (SEVER's January-March by days, test_gas_conversion) = 3,099.255 → 3,099 kWh.
    assert invoice.readings is not None
    assert invoice.readings.gas == GasVolume(m3=Decimal("300"), kwh=Decimal("3099"),
                                             conversion_factors=(Decimal("0.9655"),))
    assert [(used.unit, used.consumption) for used in invoice.readings.meters] == [("m3", Decimal("300"))]
    text = await _pdf_text(engine, files, invoice)
    assert "Plynoměr" in text and "300 m³" in text
    assert ("Přepočet objemu na energii: 300 m³ × přepočtový koeficient 0,9655 × spalné teplo měsíců období "
            "= 3 099 kWh (průměrně 10,3300 kWh/m³).") in " ".join(text.split())


async def test_a_credit_note_prints_no_readings_and_the_new_bill_the_corrected_ones(
    engine: AsyncEngine, files: FileStore,
) -> None:
    parties = await supplied(engine)
    await read(engine, parties.opm, "2025-12-31", "1000")
    await read(engine, parties.opm, "2026-06-30", "2500")
    first = await _issued(engine, files, parties.contract)
    await read(engine, parties.opm, "2026-06-30", "2300")  # a correction

    rebilled = await rebill(engine, files, str(first.number))

    assert rebilled.credit_note is not None and rebilled.credit_note.readings is None
    new = rebilled.outcome
    assert isinstance(new, Billed) and new.invoice.readings is not None
    assert [used.state_to for used in new.invoice.readings.meters] == [Decimal("2300")]
    async with engine.connect() as conn:
        kept = await get_invoice(conn, str(first.number))
    assert kept.readings == first.readings and kept.status == "cancelled"
    assert "Odečty" not in await _pdf_text(engine, files, rebilled.credit_note)


async def test_two_registers_list_the_high_tariff_first_in_a_batch_as_alone(
    engine: AsyncEngine, files: FileStore,
) -> None:
    alone, batched = await supplied_two_rate(engine), await supplied_two_rate(engine)
    for parties in (alone, batched):
        await read_two_rate(engine, parties.opm, "2025-12-31", "10004", "5000.500")
        await read_two_rate(engine, parties.opm, "2026-06-30", "10908.000", "5700.5")

    single = await _issued(engine, files, alone.contract)
    [outcome] = await bill_batch(engine, [request(batched.contract)])

    assert isinstance(outcome, Billed) and outcome.invoice.readings is not None
    assert outcome.invoice.readings == single.readings
    assert single.readings is not None
    assert [(used.register, used.consumption) for used in single.readings.meters] == [
        ("vt", Decimal("904")), ("nt", Decimal("700"))
    ]
    text = await _pdf_text(engine, files, single)
    # States as stored with and without decimals print alike, a fraction only where there is one.
    assert "M2 VT 31. 12. 2025 10 004 samoodečet 30. 6. 2026 10 908 samoodečet 904 kWh" in text
    assert "M2 NT 31. 12. 2025 5 000,5 samoodečet 30. 6. 2026 5 700,5 samoodečet 700 kWh" in text
