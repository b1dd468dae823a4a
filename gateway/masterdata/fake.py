"""Realistic Czech master data, deterministic by seed, for ``proud demo-data``, the demo daemon and benches.

Every identifier is built with the rule the validators check (EAN and EIC check characters, IČO mod 11,
rodné číslo matching the birth date, bank accounts mod 11 with a real bank code, SIPO check digit), so the
generated records pass the real import validation. Record ``i`` of a seed depends only on the seed and
``i`` (one ``random.Random`` per record): the first 100 customers of a seed are the same whether 100 or
10,000 are asked for, and a re-run imports nothing new.

Natural keys are laid out so that runs with different key blocks never collide: block ``b`` (0-99) and
index ``i`` (< 1,000,000) give customer ``9bbiiiiii``, VS ``8bbiiiiii0``, contract ``3bbiiiiii0/1``, EAN
``859182400bbiiiiii`` + check, EIC ``27ZG7bbZiiiiiii`` + check.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cz import dic as stdnum_dic

from gateway.clock import Clock
from gateway.masterdata import fake_tables as w
from gateway.masterdata.identifiers import czech_iban, ean_check_digit, eic_check_char, sipo_check_digit
from gateway.masterdata.importer import ImportSummary, import_rows
from gateway.masterdata.importer_rows import decode_lines, encode_record
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.common import Address, Contact, TypedAddress
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import MeterIn, OpmIn, Register, Technical

#: Key blocks and records per block: see the module docstring.
KEY_BLOCKS: Final = 100
BLOCK_RECORDS_MAX: Final = 1_000_000
EAN_PREFIX: Final = "859182400"
EIC_PREFIX: Final = "27ZG7"
#: The first digit of every generated account's variable symbol (``8`` + key block + index + ``0``).
VARIABLE_SYMBOL_FIRST: Final = "8"
#: Dates are spread around this day, not today, so that a re-run on another day generates the same data.
ANCHOR_DATE: Final = dt.date(2026, 1, 1)
#: Share of customers that are companies, of customers with gas, of OPMs in ``fake_opms`` that are gas.
COMPANY_SHARE: Final = 0.15
GAS_SHARE: Final = 0.35
_VT_NT: Final = ("VT", "NT")

# (rate, TDD class, registers, breaker phases, amps choices, yearly kWh range). TDD follows OTE's profile
# classes: 1-3 businesses (none, storage, direct heating), 4-7 households (none, storage, direct heating /
# heat pump, weekend), 8 public lighting.
_HOUSEHOLD_RATES: Final = (
    ("D01d", "4", ("SINGLE",), 1, (16, 20, 25), (400, 1500)),
    ("D02d", "4", ("SINGLE",), 3, (20, 25), (1500, 5000)),
    ("D25d", "5", _VT_NT, 3, (25,), (4000, 9000)),
    ("D26d", "5", _VT_NT, 3, (25, 32), (6000, 12000)),
    ("D45d", "6", _VT_NT, 3, (25, 32), (8000, 15000)),
    ("D56d", "6", _VT_NT, 3, (32, 40), (9000, 18000)),
    ("D61d", "7", _VT_NT, 1, (16, 25), (300, 1500)),
)
_BUSINESS_RATES: Final = (
    ("C01d", "1", ("SINGLE",), 3, (16, 25), (1000, 8000)),
    ("C02d", "1", ("SINGLE",), 3, (32, 40, 50), (6000, 25000)),
    ("C03d", "1", ("SINGLE",), 3, (63, 80, 100), (15000, 60000)),
    ("C25d", "2", _VT_NT, 3, (40, 50), (10000, 40000)),
    ("C45d", "3", _VT_NT, 3, (50, 63), (20000, 80000)),
)
# (band in MWh/year, kWh range inside it, household TDD, business TDD).
#: Gas conversion factors in ten-thousandths (about 0.93 at 700 m above sea, 1.02 with an overpressure).
_FACTOR_RANGE: Final = (9300, 10200)
_GAS_BANDS: Final = (
    ("0-1.89", (300, 1889), "DOM1", "MO1"),
    ("1.89-7.56", (1890, 7559), "DOM2", "MO2"),
    ("7.56-15", (7560, 14999), "DOM3", "MO3"),
    ("15-20", (15000, 19999), "DOM3", "MO3"),
    ("20-63", (20000, 62999), "DOM4", "MO4"),
    ("63-630", (63000, 629999), "DOM4", "MO4"),
)
_ACCOUNT_WEIGHTS: Final = (6, 3, 7, 9, 10, 5, 8, 4, 2, 1)


def _rng(seed: int, kind: int, index: int) -> random.Random:
    # One generator per record: record i does not depend on how many came before it.
    return random.Random((seed * 16 + kind) * BLOCK_RECORDS_MAX + index)


def key_block(seed: int) -> int:
    return seed % KEY_BLOCKS


def ean(block: int, index: int) -> str:
    assert 0 <= block < KEY_BLOCKS and 0 <= index < BLOCK_RECORDS_MAX
    body = f"{EAN_PREFIX}{block:02d}{index:06d}"
    return body + ean_check_digit(body)


def eic(block: int, index: int) -> str:
    assert 0 <= block < KEY_BLOCKS and 0 <= index < BLOCK_RECORDS_MAX
    for marker in "ZYX":  # a body whose check would be '-' (never issued) takes the next marker
        body = f"{EIC_PREFIX}{block:02d}{marker}{index:07d}"
        try:
            return body + eic_check_char(body)
        except ValueError:
            continue
    raise AssertionError(f"no EIC body for block {block} index {index}")


def ico(rng: random.Random) -> str:
    # No leading 9: python-stdnum refuses legal-entity DIČ starting with 9, and DIČ is CZ + IČO here.
    body = str(rng.randint(1, 8)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return body + stdnum_dic.calc_check_digit_legal(body)


def birth_number(birth_date: dt.date, female: bool, rng: random.Random) -> str:
    """YYMMDD (+50 on the month for women) + serial [+ check]: 9 digits before 1954, 10 from then on."""
    month = birth_date.month + (50 if female else 0)
    head = f"{birth_date.year % 100:02d}{month:02d}{birth_date.day:02d}{rng.randint(0, 999):03d}"
    if birth_date.year < 1954:
        return head
    return head + str(int(head) % 11 % 10)


def bank_account(rng: random.Random) -> str:
    """A Czech account ``number/bank`` passing the ČNB mod-11 rule (weights 6,3,7,9,10,5,8,4,2,1)."""
    while True:
        body = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        total = sum(w_ * d for w_, d in zip(_ACCOUNT_WEIGHTS, body, strict=False))
        last = (-total) % 11
        if last < 10:
            return "".join(map(str, body)) + str(last) + "/" + rng.choice(w.BANK_CODES)


def sipo_number(rng: random.Random) -> str:
    body = "".join(str(rng.randint(0, 9)) for _ in range(9))
    return body + sipo_check_digit(body)


def address(rng: random.Random, city_index: int | None = None) -> Address:
    city, postal_code, _, _ = w.CITIES[rng.randrange(len(w.CITIES)) if city_index is None else city_index]
    number = str(rng.randint(1, 3999))
    if rng.random() < 0.5:
        number += f"/{rng.randint(1, 60)}"
    return Address(street=rng.choice(w.STREETS), house_number=number, city=city, postal_code=postal_code)


def _phone(rng: random.Random) -> str:
    first = f"{rng.choice('67')}{rng.randint(0, 99):02d}"
    return f"+420 {first} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _ascii(text: str) -> str:
    table = str.maketrans("áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ", "acdeeinorstuuyzACDEEINORSTUUYZ")
    return text.translate(table).lower().replace(" ", "")


def _person(rng: random.Random, number: str) -> CustomerIn:
    female = rng.random() < 0.5
    first = rng.choice(w.FEMALE_FIRST_NAMES if female else w.MALE_FIRST_NAMES)
    last = rng.choice(w.SURNAMES)[1 if female else 0]
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 65))
    email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{rng.choice(w.EMAIL_DOMAINS)}"
    return CustomerIn(
        kind="person", number=number, segment="vulnerable" if rng.random() < 0.02 else "household",
        first_name=first, last_name=last, birth_date=born, birth_number=birth_number(born, female, rng),
        consent_einvoice=rng.random() < 0.6, consent_marketing=rng.random() < 0.3,
        contacts=[Contact(kind="email", value=email, primary=True), Contact(kind="phone", value=_phone(rng))],
        addresses=[TypedAddress(kind="permanent", address=address(rng))],
    )


def _company(rng: random.Random, number: str) -> CustomerIn:
    legal_form, suffix = rng.choice(w.LEGAL_FORMS)
    name = f"{rng.choice(w.COMPANY_TRADES)} {rng.choice(w.SURNAMES)[0]} {suffix}"
    company_ico = ico(rng)
    email = f"info@{_ascii(name.split()[1])}{rng.randint(1, 99)}.cz"
    return CustomerIn(
        kind="company", number=number, segment="business" if rng.random() < 0.3 else "small_business",
        company_name=name, ico=company_ico, dic=f"CZ{company_ico}", legal_form=legal_form,
        consent_einvoice=True, consent_marketing=rng.random() < 0.2,
        contacts=[Contact(kind="email", value=email, primary=True), Contact(kind="phone", value=_phone(rng))],
        addresses=[TypedAddress(kind="registered", address=address(rng))],
    )


def _technical(rng: random.Random, gas: bool, business: bool, since: dt.date) -> Technical:
    if gas:
        # Households stay below 63 MWh a year; only businesses reach the top band.
        bands = _GAS_BANDS if business else _GAS_BANDS[:5]
        band, (low, high), household_tdd, business_tdd = rng.choice(bands)
        return Technical(
            effective_from=since, gas_band=band, tdd_class=business_tdd if business else household_tdd,
            annual_consumption_kwh=Decimal(rng.randint(low, high)),
            # Four places, as the DSOs publish them: lowland meters with a regulator to the mountains'.
            gas_conversion_factor=Decimal(rng.randint(*_FACTOR_RANGE)).scaleb(-4),
        )
    rate, tdd, _, phases, amps, (low, high) = rng.choice(_BUSINESS_RATES if business else _HOUSEHOLD_RATES)
    return Technical(
        effective_from=since, distribution_rate=rate, breaker_phases=3 if phases == 3 else 1,
        breaker_amps=rng.choice(amps),
        tdd_class=tdd, annual_consumption_kwh=Decimal(rng.randint(low, high)),
    )


def _registers(rate: str | None) -> tuple[str, ...]:
    for rates in (_HOUSEHOLD_RATES, _BUSINESS_RATES):
        for entry in rates:
            if entry[0] == rate:
                return entry[2]
    return ("SINGLE",)


def fake_opm(block: int, index: int, *, gas: bool, business: bool = False, seed: int = 0,
             supply_address: Address | None = None) -> OpmIn:
    """OPM ``index`` of key block ``block``: an EAN (electricity) or an EIC (gas) with consistent technical
    data (rate, breaker and TDD; gas band, TDD and consumption inside the band) and one meter."""
    rng = _rng(seed, 2 if gas else 1, index)
    city_index = rng.randrange(len(w.CITIES))
    if supply_address is not None:
        # The DSO is the one of the supply address's region.
        found = (n for n, city in enumerate(w.CITIES) if city[0] == supply_address.city)
        city_index = next(found, city_index)
    # Metered from before any contract of ``fake_customer`` starts (those start at most 36 months back).
    since = ANCHOR_DATE - dt.timedelta(days=365 * 3 + 31 + rng.randrange(365 * 5))
    technical = _technical(rng, gas, business, since)
    unit = "m3" if gas else "kWh"
    registers = [Register(code=code, unit=unit, digits=5 if gas else 6)  # type: ignore[arg-type]
                 for code in (("SINGLE",) if gas else _registers(technical.distribution_rate))]
    meter = MeterIn(serial=f"{'G' if gas else 'E'}{rng.randint(10_000_000, 99_999_999)}", installed_on=since,
                    registers=registers)
    return OpmIn(
        code=eic(block, index) if gas else ean(block, index), dso=w.CITIES[city_index][3 if gas else 2],
        supply_address=supply_address or address(rng, city_index), technical=technical, meters=[meter],
    )


def fake_opms(seed: int, count: int, *, gas_share: float = 0.2) -> Iterator[OpmIn]:
    """``count`` OPMs without customers (benchmarks): key block ``key_block(seed)``, indices 0.. count-1."""
    assert 0 < count <= BLOCK_RECORDS_MAX, count
    block = key_block(seed)
    step = round(1 / gas_share) if gas_share > 0 else 0
    for index in range(count):
        yield fake_opm(block, index, gas=bool(step) and index % step == step - 1, seed=seed)


def _contract(rng: random.Random, number: str, customer: CustomerIn, account: str, opm: OpmIn,
              gas: bool) -> ContractIn:
    months = rng.randint(-36, 3)
    year, month = divmod(ANCHOR_DATE.month - 1 + months + ANCHOR_DATE.year * 12, 12)
    valid_from = dt.date(year, month + 1, 1)
    term_years = rng.choice((0, 1, 2, 3))
    valid_to = None
    if term_years:
        valid_to = valid_from.replace(year=valid_from.year + term_years) - dt.timedelta(days=1)
    assert customer.number is not None
    return ContractIn(
        customer=customer.number, account=account, opm=opm.code, number=number,
        product=rng.choice(w.PRODUCTS_GAS if gas else w.PRODUCTS_ELECTRICITY),
        signed_on=valid_from - dt.timedelta(days=rng.randint(15, 45)), valid_from=valid_from,
        valid_to=valid_to, notice_period_days=rng.choice((0, 30, 90)),
        negotiation=rng.choice(("distance", "distance", "on_premises", "off_premises")),
        billed_until=_billed_until(valid_from, valid_to),
    )


def _billed_until(valid_from: dt.date, valid_to: dt.date | None) -> dt.date | None:
    """A generated book is one taken over: its previous system billed every contract up to the day before
    ``ANCHOR_DATE`` (or to the contract's end); a contract starting later is proud's from its start."""
    last_billed = ANCHOR_DATE - dt.timedelta(days=1)
    if valid_from > last_billed:
        return None
    return last_billed if valid_to is None else min(valid_to, last_billed)


def _account(rng: random.Random, customer: CustomerIn, vs: str) -> AccountIn:
    assert customer.number is not None
    method = rng.choice(("bank_transfer", "direct_debit", "direct_debit", "sipo"))
    if customer.kind == "company" and method == "sipo":
        method = "bank_transfer"  # SIPO is Česká pošta's payment service for households
    email = next((contact.value for contact in customer.contacts if contact.kind == "email"), None)
    return AccountIn(
        customer=customer.number, variable_symbol=vs, payment_method=method,  # type: ignore[arg-type]
        iban=czech_iban(bank_account(rng)) if method == "direct_debit" else None,
        sipo_number=sipo_number(rng) if method == "sipo" else None,
        billing_cycle="monthly" if customer.kind == "company" else "annual",
        advance_frequency="none" if customer.kind == "company" else "monthly",
        delivery_channel="email_pdf" if email else "paper", delivery_email=email,
    )


def fake_customer(seed: int, index: int) -> list[CustomerIn | AccountIn | OpmIn | ContractIn]:
    """Customer ``index`` of ``seed`` with its account, OPMs (electricity, sometimes gas) and contracts, in
    the order an import needs them (each record only references earlier ones)."""
    block = key_block(seed)
    assert 0 <= index < BLOCK_RECORDS_MAX
    rng = _rng(seed, 0, index)
    number = f"9{block:02d}{index:06d}"
    company = rng.random() < COMPANY_SHARE
    customer = (_company if company else _person)(rng, number)
    vs = f"{VARIABLE_SYMBOL_FIRST}{block:02d}{index:06d}0"
    records: list[CustomerIn | AccountIn | OpmIn | ContractIn] = [customer, _account(rng, customer, vs)]
    home = customer.addresses[0].address
    opms = [(fake_opm(block, index, gas=False, business=company, seed=seed, supply_address=home), False)]
    if rng.random() < GAS_SHARE:
        gas = fake_opm(block, index, gas=True, business=company, seed=seed, supply_address=home)
        opms.append((gas, True))
    records += [opm for opm, _ in opms]
    records += [
        _contract(rng, f"3{block:02d}{index:06d}{n}", customer, vs, opm, is_gas)
        for n, (opm, is_gas) in enumerate(opms)
    ]
    return records


def fake_records(seed: int, customers: int) -> Iterator[CustomerIn | AccountIn | OpmIn | ContractIn]:
    """``customers`` customers of ``seed`` with everything they own, streamed."""
    assert 0 < customers <= BLOCK_RECORDS_MAX, customers
    for index in range(customers):
        yield from fake_customer(seed, index)


#: The seed of ``proud demo-data`` and of the demo daemon's master data when none is given.
DEMO_SEED: Final = 1
DEMO_ACTOR: Final = "import:demo-data"


async def seed_masterdata(
    engine: AsyncEngine, clock: Clock, customers: int, *, seed: int = DEMO_SEED,
    on_batch: Callable[[int], None] | None = None,
) -> ImportSummary:
    """``customers`` fake customers with their accounts, OPMs and contracts, through the import path (the same
    decoding and service checks as a file). Idempotent: the same seed again changes nothing."""
    lines = (encode_record(record) for record in fake_records(seed, customers))
    return await import_rows(engine, clock, decode_lines(lines), actor=DEMO_ACTOR, on_batch=on_batch)
