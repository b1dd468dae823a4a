"""Invoice documents for tests: a supplier, a household and a business customer, settlements computed by the
issue's rounding rules (line = quantity x price half-up to 0.01, VAT per rate on the rate's sum)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from schemas.billing.billed_readings import BilledReadings, MeterReadingUsed
from schemas.billing.invoice import (
    BankAccount,
    Customer,
    Deposit,
    InvoiceDocument,
    NonTaxedDeposit,
    OriginalDocument,
    Supplier,
    TaxedDeposit,
)
from schemas.billing.settlement import Settlement, SettlementLine, VatRecap
from schemas.masterdata.common import Address

CENT = Decimal("0.01")
YEAR_FROM = dt.date(2026, 1, 1)
YEAR_TO = dt.date(2026, 12, 31)
ISSUED = dt.date(2027, 1, 14)
DUE = dt.date(2027, 1, 28)

SUPPLIER = Supplier(
    name="Proud Energie s.r.o.",
    address=Address(street="Údolní", house_number="567/12", city="Brno", postal_code="60200"),
    ico="25097563",
    dic="CZ25097563",
    bank_account=BankAccount(
        iban="CZ6508000000192000145399", bic="GIBACZPX", bank_name="Česká spořitelna, a.s."
    ),
    register_entry="C 12345 vedená u Krajského soudu v Brně",
)
HOUSEHOLD = Customer(
    name="Jiří Šťastný",
    address=Address(street="Žižkova", house_number="1234/5a", city="Třebíč", postal_code="67401"),
    customer_number="Z0012345",
)
BUSINESS = Customer(
    name="Pekárna U Řeky s.r.o.",
    address=Address(street="Náměstí Míru", house_number="8", city="Kůty", postal_code="78901"),
    customer_number="Z0099999",
    ico="61858374",
    dic="CZ61858374",
)


def line(code: str, text: str, quantity: str, unit: str, price: str, rate: str = "21") -> SettlementLine:
    amount = (Decimal(quantity) * Decimal(price)).quantize(CENT, rounding=ROUND_HALF_UP)
    return SettlementLine(
        code=code, text=text, period_from=YEAR_FROM, period_to=YEAR_TO, quantity=Decimal(quantity), unit=unit,
        unit_price=Decimal(price), amount=amount, vat_rate=Decimal(rate),
    )


def settle(lines: list[SettlementLine], advances_paid: Decimal = Decimal("0")) -> Settlement:
    rates = sorted({item.vat_rate for item in lines}, reverse=True)
    recap = []
    for rate in rates:
        base = sum((item.amount for item in lines if item.vat_rate == rate), Decimal("0"))
        recap.append(VatRecap(rate=rate, base=base, vat=(base * rate / 100).quantize(CENT, ROUND_HALF_UP)))
    total_base = sum((item.base for item in recap), Decimal("0"))
    total_vat = sum((item.vat for item in recap), Decimal("0"))
    return Settlement(
        lines=lines, vat=recap, total_base=total_base, total_vat=total_vat, total=total_base + total_vat,
        advances_paid=advances_paid, balance=total_base + total_vat - advances_paid,
    )


def electricity_lines(mwh: str) -> list[SettlementLine]:
    """A D02d household with a 3x25 A breaker (sample prices, not a real price list)."""
    return [
        line("commodity_vt", "Silová elektřina VT", mwh, "MWh", "2890.00"),
        line("fixed_fee", "Stálý měsíční plat za dodávku", "12", "month", "149.00"),
        line("distribution_vt", "Distribuce elektřiny VT", mwh, "MWh", "2198.52"),
        line("breaker", "Měsíční plat za příkon podle jističe 3×25 A", "12", "month", "412.00"),
        line("system_services", "Systémové služby", mwh, "MWh", "164.58"),
        line("poze", "Podpora výroby elektřiny z obnovitelných zdrojů (POZE)", mwh, "MWh", "495.00"),
        line("ote", "Činnost operátora trhu", "12", "month", "4.39"),
        line("electricity_tax", "Daň z elektřiny", mwh, "MWh", "28.30"),
    ]


def deposits() -> list[Deposit]:
    taxed_base = Decimal("2479.34")
    return [
        TaxedDeposit(
            document_number="DZ202601000001", variable_symbol="1234567890", paid_on=dt.date(2026, 3, 15),
            vat_rate=Decimal("21"), base=taxed_base, vat=Decimal("520.66"), amount=Decimal("3000.00"),
        ),
        TaxedDeposit(
            document_number="DZ202601000002", variable_symbol="1234567890", paid_on=dt.date(2026, 6, 15),
            vat_rate=Decimal("21"), base=taxed_base, vat=Decimal("520.66"), amount=Decimal("3000.00"),
        ),
        NonTaxedDeposit(
            document_number="ZF202601000003", variable_symbol="1234567890", paid_on=dt.date(2026, 9, 15),
            amount=Decimal("3000.00"),
        ),
    ]


def settlement_invoice(customer: Customer = HOUSEHOLD) -> InvoiceDocument:
    return InvoiceDocument(
        number="FV202701000001",
        uuid=uuid.UUID("0192f0c4-7a1e-7c3d-9b2a-5e6f7a8b9c0d"),
        kind="settlement",
        issue_date=ISSUED,
        due_date=DUE,
        supplier=SUPPLIER,
        customer=customer,
        commodity="electricity",
        opm_code="859182400100000017",
        supply_address=Address(street="Žižkova", house_number="1234/5a", city="Třebíč", postal_code="67401"),
        period_from=YEAR_FROM,
        period_to=YEAR_TO,
        variable_symbol="1234567890",
        settlement=settle(electricity_lines("2.100"), Decimal("9000.00")),
        deposits=deposits(),
        readings=year_readings(),
    )


def year_readings() -> BilledReadings:
    """The year's 2,100 kWh: the DSO's reading at the start, an estimate at the end (its reading late)."""
    return BilledReadings(meters=(MeterReadingUsed(
        meter="EM-0047112", register="vt", date_from=dt.date(2025, 12, 31), state_from=Decimal("10385.4"),
        kind_from="actual", date_to=YEAR_TO, state_to=Decimal("12485.4"), kind_to="estimated",
        consumption=Decimal("2100.0"), unit="kWh",
    ),))


def credit_note() -> InvoiceDocument:
    """Reading corrected after billing: 0.200 MWh less, the energy-dependent lines reversed for it."""
    original = settlement_invoice()
    lines = [item for item in electricity_lines("-0.200") if item.unit == "MWh"]
    return InvoiceDocument(
        number="DB202701000001",
        uuid=uuid.UUID("0192f0c4-7a1e-7c3d-9b2a-5e6f7a8b9c0e"),
        kind="credit_note",
        issue_date=dt.date(2027, 2, 3),
        due_date=dt.date(2027, 2, 17),
        supplier=SUPPLIER,
        customer=HOUSEHOLD,
        commodity="electricity",
        opm_code=original.opm_code,
        supply_address=original.supply_address,
        period_from=YEAR_FROM,
        period_to=YEAR_TO,
        variable_symbol="1234567890",
        settlement=settle(lines),
        original=OriginalDocument(
            number=original.number, uuid=original.uuid, issue_date=original.issue_date,
            reason="Oprava odečtu: konečný stav elektroměru 12 345 kWh místo 12 545 kWh",
        ),
    )


def advance_request() -> InvoiceDocument:
    lines = [line("advance", "Záloha na dodávku elektřiny – 1. čtvrtletí 2027", "1", "CZK", "3200.00", "0")]
    return InvoiceDocument(
        number="ZF202701000007",
        uuid=uuid.UUID("0192f0c4-7a1e-7c3d-9b2a-5e6f7a8b9c0f"),
        kind="advance_request",
        issue_date=ISSUED,
        due_date=dt.date(2027, 2, 15),
        supplier=SUPPLIER,
        customer=BUSINESS,
        commodity="electricity",
        opm_code="859182400100000017",
        supply_address=BUSINESS.address,
        period_from=dt.date(2027, 1, 1),
        period_to=dt.date(2027, 3, 31),
        variable_symbol="1234567890",
        settlement=settle(lines),
    )


def advance_tax_document() -> InvoiceDocument:
    """The tax document for a received advance of 3,000 CZK incl. 21 % VAT (computed from the top)."""
    paid = Decimal("3000.00")
    base = Decimal("2479.34")
    item = SettlementLine(
        code="advance", text="Přijatá záloha na dodávku elektřiny", period_from=dt.date(2027, 1, 1),
        period_to=dt.date(2027, 3, 31), quantity=Decimal("1"), unit="CZK", unit_price=base, amount=base,
        vat_rate=Decimal("21"),
    )
    settlement = Settlement(
        lines=[item], vat=[VatRecap(rate=Decimal("21"), base=base, vat=paid - base)], total_base=base,
        total_vat=paid - base, total=paid, advances_paid=paid, balance=Decimal("0.00"),
    )
    return msgspec.structs.replace(
        advance_request(), number="DZ202701000002", kind="advance_tax_document",
        tax_point=dt.date(2027, 2, 10), settlement=settlement,
    )
