"""Fake master data: every identifier it makes passes the validators, and a seed always makes the same data.

Method: generate a few thousand customers (with their accounts, OPMs and contracts) and OPMs, run each
identifier through its validator and each OPM through the OPM service's own checks, and compare two runs.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from stdnum.cz import rc as stdnum_rc

from gateway.masterdata import fake
from gateway.masterdata.fake_tables import CITIES, SURNAMES
from gateway.masterdata.identifiers import (
    validate_birth_number,
    validate_dic,
    validate_ean_opm,
    validate_eic,
    validate_iban,
    validate_ico,
    validate_postal_code,
    validate_sipo_number,
    validate_variable_symbol,
)
from gateway.masterdata.opm import validate_opm_in
from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn

CUSTOMERS = 3000


def _records(seed: int, customers: int) -> list[CustomerIn | AccountIn | OpmIn | ContractIn]:
    return list(fake.fake_records(seed, customers))


@pytest.fixture(scope="module")
def records() -> list[CustomerIn | AccountIn | OpmIn | ContractIn]:
    return _records(11, CUSTOMERS)


def test_customers_have_valid_identifiers_and_consistent_birth_data(
    records: list[CustomerIn | AccountIn | OpmIn | ContractIn],
) -> None:
    customers = [record for record in records if isinstance(record, CustomerIn)]
    assert len(customers) == CUSTOMERS
    assert {customer.kind for customer in customers} == {"person", "company"}
    female_surnames = {female for _, female in SURNAMES}
    for customer in customers:
        for typed in customer.addresses:
            assert validate_postal_code(typed.address.postal_code) == typed.address.postal_code
            assert (typed.address.city, typed.address.postal_code) in {(c[0], c[1]) for c in CITIES}
        if customer.kind == "company":
            assert customer.ico is not None and validate_ico(customer.ico) == customer.ico
            assert customer.dic == validate_dic(f"CZ{customer.ico}")
            continue
        assert customer.birth_number is not None and customer.birth_date is not None
        assert validate_birth_number(customer.birth_number) == customer.birth_number
        assert stdnum_rc.get_birth_date(customer.birth_number) == customer.birth_date
        female = int(customer.birth_number[2:4]) > 50
        assert (customer.last_name in female_surnames) == female, customer.last_name


def test_accounts_opms_and_contracts_are_valid_and_refer_to_each_other(
    records: list[CustomerIn | AccountIn | OpmIn | ContractIn],
) -> None:
    seen: dict[type, set[str]] = {CustomerIn: set(), AccountIn: set(), OpmIn: set(), ContractIn: set()}
    for record in records:
        if isinstance(record, AccountIn):
            assert record.customer in seen[CustomerIn]
            assert record.variable_symbol is not None
            assert validate_variable_symbol(record.variable_symbol) == record.variable_symbol
            if record.iban is not None:
                assert validate_iban(record.iban) == record.iban
            if record.sipo_number is not None:
                assert validate_sipo_number(record.sipo_number) == record.sipo_number
            seen[AccountIn].add(record.variable_symbol)
        elif isinstance(record, OpmIn):
            validator = validate_ean_opm if record.code.isdigit() else validate_eic
            assert validator(record.code) == record.code
            assert validate_opm_in(record) == record  # the OPM service's own rules, all of them
            seen[OpmIn].add(record.code)
        elif isinstance(record, ContractIn):
            assert record.customer in seen[CustomerIn] and record.account in seen[AccountIn]
            assert record.opm in seen[OpmIn]
            assert record.signed_on < record.valid_from
            assert record.valid_to is None or record.valid_to > record.valid_from
            assert record.number is not None
            seen[ContractIn].add(record.number)
        else:
            assert record.number is not None
            seen[CustomerIn].add(record.number)
    assert len(seen[OpmIn]) > CUSTOMERS  # some customers have gas as well
    assert len(seen[ContractIn]) == len(seen[OpmIn])


def test_bench_opms_pass_the_opm_rules_and_have_unique_codes() -> None:
    opms = list(fake.fake_opms(42, 5000))
    assert len({opm.code for opm in opms}) == 5000
    for opm in opms:
        assert validate_opm_in(opm) == opm
    assert sum(1 for opm in opms if not opm.code.isdigit()) == 1000  # every fifth is gas


def test_same_seed_same_data_other_seed_other_keys() -> None:
    first = msgspec.json.encode(_records(3, 200))
    assert msgspec.json.encode(_records(3, 200)) == first
    # Record i does not depend on how many were asked for.
    assert msgspec.json.encode(_records(3, 50)) == msgspec.json.encode(
        [record for record in _records(3, 200) if _index(record) < 50]
    )
    other = _records(4, 200)
    keys_3 = {_key(record) for record in _records(3, 200)}
    assert not keys_3 & {_key(record) for record in other}


def _key(record: CustomerIn | AccountIn | OpmIn | ContractIn) -> str:
    if isinstance(record, OpmIn):
        return record.code
    if isinstance(record, AccountIn):
        return str(record.variable_symbol)
    return str(record.number)


def _index(record: CustomerIn | AccountIn | OpmIn | ContractIn) -> int:
    if isinstance(record, AccountIn | ContractIn):
        return int(record.customer[3:])
    if isinstance(record, OpmIn):
        return int(record.code[11:17]) if record.code.isdigit() else int(record.code[8:15])
    assert record.number is not None
    return int(record.number[3:])


def test_codes_stay_inside_their_key_block() -> None:
    assert fake.ean(7, 123).startswith("85918240007000123")
    assert fake.eic(7, 123).startswith("27ZG707")
    assert validate_eic(fake.eic(99, 999_999)) == fake.eic(99, 999_999)
    with pytest.raises(AssertionError):
        fake.ean(100, 0)


def test_contract_dates_do_not_depend_on_today() -> None:
    contracts = [record for record in _records(5, 300) if isinstance(record, ContractIn)]
    assert min(c.valid_from for c in contracts) >= fake.ANCHOR_DATE - dt.timedelta(days=3 * 366)
    assert max(c.valid_from for c in contracts) <= fake.ANCHOR_DATE + dt.timedelta(days=4 * 31)
    # A taken-over book: billed by the previous system up to the day before the anchor (or the end).
    last_billed = fake.ANCHOR_DATE - dt.timedelta(days=1)
    for c in contracts:
        if c.valid_from > last_billed:
            assert c.billed_until is None, c
        elif c.valid_to is None or c.valid_to >= last_billed:
            assert c.billed_until == last_billed, c
        else:  # ended before: billed to its end, which the service accepts (not before valid_from)
            assert c.billed_until == c.valid_to and c.valid_from <= c.billed_until, c
    assert {c.billed_until is None for c in contracts} == {True, False}
