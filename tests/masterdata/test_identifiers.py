"""Identifier validators on worked examples: the real public samples cited in the references
(ote-market.md §1, czech-finance-formats.md §2-§6) and one invalid value per failure class, with the exact
message a user or a dead-letter record would see."""

from __future__ import annotations

import pytest

from gateway.errors import ProudError, is_retryable
from gateway.masterdata.identifiers import (
    KIND_VALIDATORS,
    InvalidIdentifier,
    czech_account_from_iban,
    czech_bank_name,
    czech_iban,
    ean_check_digit,
    eic_check_char,
    sipo_check_digit,
    validate,
)

VALID = [
    # ote-market.md §1.1: real participant EANs (ČEZ, PRE, E.ON distribution, OTE, OTE samples).
    ("ean_participant", "8591824071502", "8591824071502"),
    ("ean_participant", "8591824003008", "8591824003008"),
    ("ean_participant", "8591824048108", "8591824048108"),
    ("ean_participant", "8591824000007", "8591824000007"),
    ("ean_participant", "8591824000304", "8591824000304"),
    ("ean_participant", " 859 1824 556207\t", "8591824556207"),
    ("ean_participant", "4012345000009", "4012345000009"),
    # ote-market.md §1.1: OPM EANs from public fixtures (PRE, ČEZ) and the constructed example.
    ("ean_opm", "859182400306885078", "859182400306885078"),
    ("ean_opm", "859182400609846929", "859182400609846929"),
    ("ean_opm", "859 182 400 123 456 789", "859182400123456789"),
    # ote-market.md §1.2: the four verified EICs, the last a real gas OPM.
    ("eic", "21Z000000000163R", "21Z000000000163R"),
    ("eic", "10YTR-TEIAS----W", "10YTR-TEIAS----W"),
    ("eic", "10YCZ-CEPS-----N", "10YCZ-CEPS-----N"),
    ("eic", "27zg300z0227838s", "27ZG300Z0227838S"),
    # czech-finance-formats.md §6: verified IČOs; short ones are zero-padded (ARES needs 8 digits).
    ("ico", "25097563", "25097563"),
    ("ico", "00006947", "00006947"),
    ("ico", "6947", "00006947"),
    ("ico", "47 11 49 83", "47114983"),
    ("ico", "61858374", "61858374"),
    ("ico", "45317054", "45317054"),
    # DIČ: Česká pošta's (CZ + IČO), QR-Faktura's, stdnum's person and special-case examples.
    ("dic", "CZ47 11 49 83", "CZ47114983"),
    ("dic", "cz60194383", "CZ60194383"),
    ("dic", "CZ 7103192745", "CZ7103192745"),
    ("dic", "CZ640903926", "CZ640903926"),
    ("dic", "CZ491231123", "CZ491231123"),
    ("birth_number", "710319/2745", "7103192745"),
    ("birth_number", "7103192745", "7103192745"),
    ("birth_number", "991231123", "991231123"),
    ("birth_number", "530101/123", "530101123"),
    ("birth_number", "715319/2750", "7153192750"),  # +50: a woman
    ("birth_number", "0422290011", "0422290011"),  # +20 (serials ran out, since 2004): 29 Feb 2004
    ("birth_number", "0472290016", "0472290016"),  # +70: a woman, 29 Feb 2004
    ("birth_number", "6001010060", "6001010060"),  # first nine ≡ 10 (mod 11): check digit 0
    # czech-finance-formats.md §2: verified accounts; canonical form drops zero padding and a zero prefix.
    ("bank_account", "19-2000145399/0800", "19-2000145399/0800"),
    ("bank_account", "27-16060243/0300", "27-16060243/0300"),
    ("bank_account", "000027-0016060243 / 0300", "27-16060243/0300"),
    ("bank_account", "000000-0000000123/0100", "123/0100"),
    ("bank_account", "2000145399/0800", "2000145399/0800"),
    ("iban", "CZ65 0800 0000 1920 0014 5399", "CZ6508000000192000145399"),
    ("iban", "cz3103000000270016060243", "CZ3103000000270016060243"),
    ("iban", "CZ7801000000000000000123", "CZ7801000000000000000123"),  # KB's QR example
    ("iban", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("iban", "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ("variable_symbol", "9562231077", "9562231077"),
    ("variable_symbol", "0987654321", "987654321"),
    ("variable_symbol", "0000000011", "11"),
    ("constant_symbol", "0308", "0308"),
    ("constant_symbol", "308", "0308"),
    ("constant_symbol", "0000000308", "0308"),
    ("constant_symbol", "3558", "3558"),
    ("specific_symbol", "1234567890", "1234567890"),
    ("specific_symbol", " 0000000013 ", "13"),
    ("sipo_number", "1234567897", "1234567897"),
    ("postal_code", "123 45", "12345"),
    ("postal_code", "22599", "22599"),
]


@pytest.mark.parametrize(("kind", "value", "canonical"), VALID)
def test_valid_values_come_back_canonical(kind: str, value: str, canonical: str) -> None:
    assert validate(kind, value) == canonical
    # The canonical form is a fixed point: validating it again changes nothing.
    assert validate(kind, canonical) == canonical


INVALID = [
    # Every kind: empty, whitespace only.
    ("ean_opm", "", "is empty"),
    ("iban", " \u00a0 ", "is empty"),
    # EAN: characters (incl. non-ASCII digits), length, prefix, check digit.
    ("ean_opm", "859182400000000000", "fails the check digit (expected 5, got 0)"),
    ("ean_opm", "85918240030688507", "has 17 digits, expected 18"),
    ("ean_opm", "8591824003068850780", "has 19 digits, expected 18"),
    ("ean_opm", "85918240030688507X", "contains 'X', only digits 0-9 are allowed"),
    ("ean_opm", "85918240030688507\u0668", "contains '\u0668', only digits 0-9 are allowed"),
    ("ean_opm", "401234500000000007", "does not start with 859 (GS1 Czech Republic)"),
    ("ean_participant", "8591824071503", "fails the check digit (expected 2, got 3)"),
    ("ean_participant", "859182400306885078", "has 18 digits, expected 13"),
    # EIC: alphabet, length, check character, a body whose check would be '-'.
    ("eic", "27ZG300Z0227838T", "fails the check character (expected S, got T)"),
    ("eic", "27ZG300Z0227838", "has 15 characters, expected 16"),
    ("eic", "27ZG300Z0227838_", "contains '_', only 0-9, A-Z and '-' are allowed"),
    ("eic", "27ZG00000000017-", "has a body whose check character would be '-', which ENTSO-E never issues"),
    # IČO.
    ("ico", "25097564", "fails the check digit (expected 3, got 4)"),
    ("ico", "250975634", "has 9 digits, expected 1 to 8"),
    ("ico", "2509756a", "contains 'a', only digits 0-9 are allowed"),
    # DIČ: prefix, digits, length, legal-entity check, special check, birth-number rules, stdnum's 9 rule.
    ("dic", "25123891", "does not start with CZ"),
    ("dic", "SK2020123456", "does not start with CZ"),
    ("dic", "CZ", "has an empty number after CZ"),
    ("dic", "CZ2512389X", "contains 'X' in the number after CZ, only digits 0-9 are allowed"),
    ("dic", "CZ1234567", "the number after CZ has 7 digits, expected 8 to 10"),
    ("dic", "CZ25123890", "fails the check digit (expected 1, got 0)"),
    ("dic", "CZ640903927", "fails the check digit (expected 6, got 7)"),
    ("dic", "CZ7103192746", "fails the check digit (expected 5, got 6)"),
    (
        "dic",
        "CZ90000005",
        "is rejected by python-stdnum (One of the parts of the number are invalid or unknown.)",
    ),
    # Rodné číslo: characters, length, month field, impossible date, 9 digits after 1953, check digit.
    ("birth_number", "7103192746", "fails the check digit (expected 5, got 6)"),
    ("birth_number", "71031927456", "has 11 digits, expected 9 to 10"),
    ("birth_number", "710319-2745", "contains '-', only digits 0-9 are allowed"),
    ("birth_number", "7113192745", "has month field 13, not 01-12 plus 0, 20, 50 or 70"),
    ("birth_number", "7141192745", "has month field 41, not 01-12 plus 0, 20, 50 or 70"),
    ("birth_number", "7100192745", "has month field 00, not 01-12 plus 0, 20, 50 or 70"),
    ("birth_number", "1103492745", "encodes an impossible birth date (day 49, month 03, year 2011)"),
    ("birth_number", "7152302745", "encodes an impossible birth date (day 30, month 02, year 1971)"),
    ("birth_number", "000229123", "encodes an impossible birth date (day 29, month 02, year 1900)"),
    ("birth_number", "590312/123", "has 9 digits but encodes 1959; 9-digit numbers ended in 1953"),
    # Bank account: layout, each part's characters and length, non-zero digits, mod-11 on each part, bank.
    ("bank_account", "19-2000145399", "is not of the form [prefix-]number/bank code"),
    ("bank_account", "19-2000145399/0800/1", "is not of the form [prefix-]number/bank code"),
    ("bank_account", "1-19-2000145399/0800", "has more than one '-'"),
    ("bank_account", "-2000145399/0800", "has an empty prefix"),
    ("bank_account", "1234567-2000145399/0800", "the prefix has 7 digits, expected 1 to 6"),
    ("bank_account", "19-20001453990/0800", "the account number has 11 digits, expected 2 to 10"),
    ("bank_account", "19-2000145399/800", "the bank code has 3 digits, expected 4"),
    ("bank_account", "19-2000I45399/0800", "contains 'I' in the account number, only digits 0-9 are allowed"),
    ("bank_account", "0000000000/0800", "has fewer than two non-zero digits in the account number"),
    ("bank_account", "18-2000145399/0800", "fails the mod-11 check on the prefix (remainder 10)"),
    ("bank_account", "2000145398/0800", "fails the mod-11 check on the account number (remainder 10)"),
    ("bank_account", "19-2000145399/0000", "has bank code 0000, which is not in the ČNB register"),
    # IBAN: country, length, structure, ISO 13616 check digits, the Czech cross-check.
    ("iban", "XX6508000000192000145399", "has unknown country code 'XX'"),
    ("iban", "CZ650800000019200014539", "has 23 characters, expected 24 for CZ"),
    ("iban", "CZ65080000001920001453AA", "does not have the structure of a 'CZ' IBAN"),
    ("iban", "CZ6608000000192000145399", "fails the check digits (expected 65, got 66)"),
    ("iban", "DE88370400440532013000", "fails the check digits (expected 89, got 88)"),
    (
        "iban",
        "CZ8300000000192000145399",
        "holds a Czech account that has bank code 0000, which is not in the ČNB register",
    ),
    (
        "iban",
        "CZ9208000000192000145398",
        "holds a Czech account that fails the mod-11 check on the account number (remainder 10)",
    ),
    # Symbols: characters, raw length, zero, significant length.
    ("variable_symbol", "VS1234", "contains 'V', only digits 0-9 are allowed"),
    ("variable_symbol", "12345678901", "has 11 digits, expected 1 to 10"),
    ("variable_symbol", "0000000000", "is zero, which means no symbol"),
    ("specific_symbol", "0", "is zero, which means no symbol"),
    ("specific_symbol", "-13", "contains '-', only digits 0-9 are allowed"),
    ("constant_symbol", "030810", "has 5 significant digits, at most 4"),
    ("constant_symbol", "0000", "is zero, which means no symbol"),
    # SIPO: characters, length, check digit.
    ("sipo_number", "1234567890", "fails the check digit (expected 7, got 0)"),
    ("sipo_number", "123456789", "has 9 digits, expected 10"),
    ("sipo_number", "12345678a7", "contains 'a', only digits 0-9 are allowed"),
    # PSČ.
    ("postal_code", "123 456", "has 6 digits, expected 5"),
    ("postal_code", "CZ-12345", "contains 'C', only digits 0-9 are allowed"),
]


@pytest.mark.parametrize(("kind", "value", "reason"), INVALID)
def test_invalid_values_are_rejected_with_kind_value_and_reason(kind: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate(kind, value)
    error = caught.value
    assert (error.kind, error.value, error.reason) == (kind, value, reason)
    assert str(error) == f"{kind}: {value!r} {reason}"


def test_every_kind_rejects_the_empty_string_and_a_non_string() -> None:
    for kind in KIND_VALIDATORS:
        with pytest.raises(InvalidIdentifier, match=rf"^{kind}: '' is empty$"):
            validate(kind, "")
        with pytest.raises(InvalidIdentifier, match=rf"^{kind}: None is a NoneType, not a string$"):
            validate(kind, None)  # type: ignore[arg-type]


def test_the_error_is_a_non_retryable_proud_error() -> None:
    error = InvalidIdentifier("ico", "1", "fails the check digit (expected 9, got 1)")
    assert isinstance(error, ProudError)
    assert not is_retryable(error)
    assert error.message == "ico: '1' fails the check digit (expected 9, got 1)"


def test_a_long_value_is_shortened_in_the_message_but_kept_whole() -> None:
    value = "8" * 1000
    with pytest.raises(InvalidIdentifier) as caught:
        validate("ean_opm", value)
    assert caught.value.value == value
    assert str(caught.value) == f"ean_opm: {'8' * 64!r}… (1000 characters) has 1000 digits, expected 18"


def test_the_kind_table_lists_every_kind_of_the_system_of_record() -> None:
    assert set(KIND_VALIDATORS) == {
        "ean_opm", "ean_participant", "eic", "ico", "dic", "birth_number", "bank_account", "iban",
        "variable_symbol", "constant_symbol", "specific_symbol", "sipo_number", "postal_code",
    }  # fmt: skip
    with pytest.raises(TypeError):
        KIND_VALIDATORS["x"] = str  # type: ignore[index]


def test_check_helpers_complete_the_reference_samples() -> None:
    assert ean_check_digit("85918240030688507") == "8"
    assert ean_check_digit("859182407150") == "2"
    assert eic_check_char("27ZG300Z0227838") == "S"
    assert eic_check_char("10YCZ-CEPS-----") == "N"
    assert sipo_check_digit("123456789") == "7"


@pytest.mark.parametrize(
    ("helper", "body"),
    [
        (ean_check_digit, ""),
        (ean_check_digit, "85918240030688507X"),
        (eic_check_char, "27ZG300Z022783"),
        (eic_check_char, "27zg300z0227838"),
        (eic_check_char, "27ZG00000000017"),  # its check character would be '-'
        (sipo_check_digit, "12345678"),
        (sipo_check_digit, "12345678\u0669"),
    ],
)
def test_check_helpers_refuse_bodies_that_cannot_be_completed(helper: object, body: str) -> None:
    assert callable(helper)
    with pytest.raises(ValueError):
        helper(body)


def test_czech_account_and_iban_convert_both_ways() -> None:
    # czech-finance-formats.md §2, verified pairs; the second is also in the QR-Faktura example.
    assert czech_iban("19-2000145399/0800") == "CZ6508000000192000145399"
    assert czech_iban("27-16060243/0300") == "CZ3103000000270016060243"
    assert czech_account_from_iban("CZ65 0800 0000 1920 0014 5399") == "19-2000145399/0800"
    assert czech_account_from_iban("CZ7801000000000000000123") == "123/0100"


def test_building_an_iban_requires_a_valid_account_at_a_known_bank() -> None:
    with pytest.raises(InvalidIdentifier, match=r"^bank_account: '19-2000145399/0000' has bank code 0000"):
        czech_iban("19-2000145399/0000")
    with pytest.raises(InvalidIdentifier, match=r"^iban: 'DE89370400440532013000' is not a Czech \(CZ\)"):
        czech_account_from_iban("DE89370400440532013000")


def test_bank_register_names_the_banks() -> None:
    assert czech_bank_name("0800") == "Česká spořitelna, a.s."
    assert czech_bank_name("2010") == "Fio banka, a.s."
    assert czech_bank_name("0000") is None
