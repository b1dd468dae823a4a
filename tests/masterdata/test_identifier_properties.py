"""Identifier validators on thousands of generated values (seeded ``random``, so a failure reproduces).

Valid values built with the check helpers must come back canonical whatever spacing and case they arrive
in; single-character errors must be caught; and where python-stdnum or schwifty decide the same question,
our verdict must agree with theirs on random input."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from schwifty import IBAN
from stdnum.cz import bankaccount as stdnum_bankaccount
from stdnum.cz import dic as stdnum_dic
from stdnum.cz import rc as stdnum_rc

from gateway.masterdata.identifiers import (
    InvalidIdentifier,
    czech_account_from_iban,
    czech_iban,
    ean_check_digit,
    eic_check_char,
    sipo_check_digit,
    validate,
    validate_bank_account,
    validate_iban,
)

ROUNDS = 3000
EIC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _spaced(rng: random.Random, text: str) -> str:
    """``text`` with spaces put in at random places, as people and office tools write numbers."""
    return "".join(char + (" " if rng.random() < 0.2 else "") for char in text)


def _is_valid(kind: str, value: str) -> bool:
    try:
        validate(kind, value)
    except InvalidIdentifier:
        return False
    return True


def _substitutions(rng: random.Random, text: str, alphabet: str) -> Iterator[str]:
    """A few copies of ``text`` with one character replaced by another of ``alphabet``."""
    for _ in range(3):
        at = rng.randrange(len(text))
        other = rng.choice(alphabet.replace(text[at], ""))
        yield text[:at] + other + text[at + 1 :]


@pytest.mark.parametrize(("kind", "prefix", "length"), [("ean_opm", "859", 18), ("ean_participant", "", 13)])
def test_generated_eans_round_trip_and_digit_errors_are_caught(kind: str, prefix: str, length: int) -> None:
    rng = random.Random(f"{kind}-1")
    for _ in range(ROUNDS):
        body = prefix + _digits(rng, length - 1 - len(prefix))
        ean = body + ean_check_digit(body)
        assert validate(kind, _spaced(rng, ean)) == ean
        # GS1 mod-10 with weights 3 and 1 detects every single-digit substitution.
        for wrong in _substitutions(rng, ean, "0123456789"):
            assert not _is_valid(kind, wrong), wrong


def test_generated_eics_round_trip_and_single_character_errors_are_caught() -> None:
    rng = random.Random("eic-1")
    made = 0
    while made < ROUNDS:
        body = "27ZG" + "".join(rng.choice(EIC_ALPHABET) for _ in range(11))
        try:
            eic = body + eic_check_char(body)
        except ValueError:
            continue  # 1 in 37 bodies would need '-', which is never issued
        made += 1
        assert validate("eic", _spaced(rng, eic.lower())) == eic
        # Mod 37 is prime and every weight is below it, so each substitution changes the check.
        for wrong in _substitutions(rng, eic, EIC_ALPHABET):
            assert not _is_valid("eic", wrong), wrong


def test_generated_icos_and_dics_round_trip_and_agree_with_stdnum() -> None:
    rng = random.Random("ico-1")
    for _ in range(ROUNDS):
        ico = rng.choice(["", "00", "0000"]) + _digits(rng, rng.randint(4, 8))
        ico = ico[-8:]
        ours = _is_valid("ico", ico)
        padded = ico.zfill(8)
        # czech-finance-formats §6, written out independently: r = Σ dᵢ·(9−i) mod 11, check = (11 − r) mod 10.
        remainder = sum(int(d) * (8 - i) for i, d in enumerate(padded[:7])) % 11
        assert ours == ((11 - remainder) % 10 == int(padded[7]))
        # stdnum has no IČO module: a legal-entity DIČ is CZ + IČO, except that stdnum refuses a leading 9.
        if not padded.startswith("9"):
            assert ours == stdnum_dic.is_valid(padded)
        if ours:
            assert validate("ico", ico) == padded
            assert validate("ico", padded.lstrip("0") or "0") == padded
            if not padded.startswith("9"):
                assert validate("dic", f"cz {padded}") == f"CZ{padded}"


def _birth_number(rng: random.Random) -> str:
    born = dt.date(1954, 1, 1) + dt.timedelta(days=rng.randrange(100 * 366 - 50))
    month = born.month + rng.choice([0, 20, 50, 70])
    body = f"{born:%y}{month:02d}{born:%d}{_digits(rng, 3)}"
    return body + str(int(body) % 11 % 10)


def test_generated_birth_numbers_round_trip() -> None:
    rng = random.Random("rc-1")
    for _ in range(ROUNDS):
        number = _birth_number(rng)
        assert validate("birth_number", f"{number[:6]}/{number[6:]}") == number
        assert validate("dic", f"CZ{number}") == f"CZ{number}"
        assert stdnum_rc.is_valid(number)


def test_random_birth_numbers_get_stdnums_verdict_except_impossible_month_fields() -> None:
    rng = random.Random("rc-2")
    for _ in range(ROUNDS * 3):
        number = _digits(rng, rng.choice([9, 10]))
        month = int(number[2:4])
        possible_month = any(1 <= month - offset <= 12 for offset in (0, 20, 50, 70))
        # stdnum reduces the month with % 50 % 20, so accepts 41-49 and 91-99; the law has no such offset.
        assert _is_valid("birth_number", number) == (stdnum_rc.is_valid(number) and possible_month), number


def _account(rng: random.Random) -> str:
    prefix = _digits(rng, rng.randint(0, 6))
    number = _digits(rng, rng.randint(2, 10))
    bank = rng.choice(["0100", "0300", "0600", "0800", "2010", "3030", "5500", "6210", _digits(rng, 4)])
    return f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"


def test_random_accounts_get_stdnums_verdict() -> None:
    rng = random.Random("account-1")
    valid = 0
    for _ in range(ROUNDS * 10):
        account = _account(rng)
        number = account.split("/")[0].split("-")[-1]
        enough_digits = sum(d != "0" for d in number) >= 2
        # stdnum does not apply the decree's "at least two non-zero digits" (0000000000 passes mod 11).
        assert _is_valid("bank_account", account) == (stdnum_bankaccount.is_valid(account) and enough_digits)
        valid += _is_valid("bank_account", account)
    assert valid > ROUNDS // 10  # the generator reaches the valid space (about 1 in 121 before the bank)


def _valid_account(rng: random.Random) -> str:
    while True:
        account = _account(rng)
        try:
            return validate_bank_account(account)
        except InvalidIdentifier:
            continue


def test_valid_accounts_convert_to_iban_and_back() -> None:
    rng = random.Random("account-2")
    for _ in range(ROUNDS):
        account = _valid_account(rng)
        padded = stdnum_bankaccount.compact(account)
        assert validate_bank_account(padded) == account
        iban = czech_iban(account)
        assert validate_iban(IBAN(iban).formatted.lower()) == iban
        assert IBAN(iban).bank is not None  # schwifty's register agrees the bank exists
        assert czech_account_from_iban(iban) == account


@pytest.mark.parametrize("country", ["CZ", "SK", "DE", "AT", "PL", "FR", "GB", "NL", "IT", "ES"])
def test_schwifty_generated_ibans_round_trip(country: str) -> None:
    rng = random.Random(f"iban-{country}")
    for _ in range(ROUNDS // 10):
        iban = IBAN.random(country, random=rng)
        if country == "CZ" and not _is_valid("bank_account", czech_account_text(iban.compact)):
            continue  # schwifty's random CZ accounts may fail mod 11; our cross-check refuses those
        assert validate_iban(iban.formatted) == iban.compact
        wrong = iban.compact[:2] + f"{(int(iban.compact[2:4]) + 1) % 100:02d}" + iban.compact[4:]
        assert not _is_valid("iban", wrong)


def czech_account_text(iban: str) -> str:
    return f"{iban[8:14]}-{iban[14:24]}/{iban[4:8]}"


@pytest.mark.parametrize(
    ("kind", "digits_max", "pad"),
    [("variable_symbol", 10, 0), ("specific_symbol", 10, 0), ("constant_symbol", 4, 4)],
)
def test_symbols_lose_insignificant_zeros(kind: str, digits_max: int, pad: int) -> None:
    rng = random.Random(kind)
    for _ in range(ROUNDS):
        number = rng.randint(1, 10**digits_max - 1)
        written = str(number).zfill(rng.randint(len(str(number)), 10))
        assert validate(kind, _spaced(rng, written)) == str(number).zfill(pad)


def test_generated_sipo_numbers_round_trip_and_single_digit_errors_are_caught() -> None:
    rng = random.Random("sipo-1")
    for _ in range(ROUNDS):
        body = _digits(rng, 9)
        number = body + sipo_check_digit(body)
        assert validate("sipo_number", _spaced(rng, number)) == number
        # Weights 3, 7 and 1 are coprime to 10, so every single-digit substitution changes the sum mod 10.
        for wrong in _substitutions(rng, number, "0123456789"):
            assert not _is_valid("sipo_number", wrong), wrong


def test_postal_codes_lose_their_space() -> None:
    rng = random.Random("psc-1")
    for _ in range(ROUNDS):
        code = _digits(rng, 5)
        assert validate("postal_code", f"{code[:3]} {code[3:]}") == code
