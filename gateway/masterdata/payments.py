"""Payment identifiers: Czech bank accounts, IBANs, payment symbols and the SIPO connection number.

Rules from ``/work/shared/reference/czech-finance-formats.md`` §2 (accounts, IBAN, symbols) and §5.1 (SIPO).
The bank-code list is python-stdnum's copy of the ČNB register; IBANs are parsed by schwifty.
"""

from __future__ import annotations

import functools

from schwifty import IBAN
from schwifty import exceptions as schwifty_exceptions
from stdnum import numdb

from gateway.masterdata.base import (
    InvalidIdentifier,
    check_digit_reason,
    compact,
    is_ascii_digits,
    require_digits,
    require_length,
)

# Vyhláška ČNB 169/2011 Sb.: prefix up to 6 digits, number 2-10 digits (at least two non-zero), bank code 4.
ACCOUNT_PREFIX_DIGITS_MAX = 6
ACCOUNT_NUMBER_DIGITS_MAX = 10
BANK_CODE_DIGITS = 4
# Same decree: Σ digit × weight ≡ 0 (mod 11), weights left to right over the number zero-padded to 10 digits;
# the prefix, zero-padded to 6, uses the last six.
_ACCOUNT_WEIGHTS = (6, 3, 7, 9, 10, 5, 8, 4, 2, 1)
# czech-finance-formats §2: VS and SS up to 10 digits, KS 4. Bank formats carry symbols in zero-padded fields
# of up to 10 digits (ABO, MT940 "KS 0000000308"), so leading zeros are insignificant.
SYMBOL_FIELD_DIGITS_MAX = 10
VARIABLE_SYMBOL_DIGITS_MAX = 10
SPECIFIC_SYMBOL_DIGITS_MAX = 10
CONSTANT_SYMBOL_DIGITS = 4
SIPO_NUMBER_DIGITS = 10
# czech-finance-formats §5.1 [S]: weights 3 7 3 1 7 3 1 7 3 on digits 1-9, check = (10 − Σ mod 10) mod 10.
_SIPO_WEIGHTS = (3, 7, 3, 1, 7, 3, 1, 7, 3)
CZ = "CZ"


@functools.cache
def czech_bank_name(bank_code: str) -> str | None:
    """The name of the bank with this 4-digit ČNB code, or None for a code not in the register."""
    info: dict[str, str] = {}
    for _part, found in numdb.get("cz/banks").info(bank_code):
        info.update(found)
    return info.get("bank")


def _mod11_remainder(digits: str) -> int:
    padded = digits.zfill(ACCOUNT_NUMBER_DIGITS_MAX)
    return sum(w * int(d) for w, d in zip(_ACCOUNT_WEIGHTS, padded, strict=True)) % 11


def _parse_account(kind: str, value: str) -> tuple[str, str, str]:
    """(prefix, number, bank code) of a valid Czech account, prefix and number without leading zeros."""
    text = compact(kind, value)
    account, slash, bank = text.rpartition("/")
    if not slash or "/" in account:
        raise InvalidIdentifier(kind, value, "is not of the form [prefix-]number/bank code")
    prefix, dash, number = account.rpartition("-")
    if "-" in prefix:
        raise InvalidIdentifier(kind, value, "has more than one '-'")
    if dash:
        require_digits(kind, value, prefix, "prefix")
        require_length(kind, value, prefix, 1, ACCOUNT_PREFIX_DIGITS_MAX, "prefix")
    require_digits(kind, value, number, "account number")
    require_length(kind, value, number, 2, ACCOUNT_NUMBER_DIGITS_MAX, "account number")
    require_digits(kind, value, bank, "bank code")
    require_length(kind, value, bank, BANK_CODE_DIGITS, BANK_CODE_DIGITS, "bank code")
    if sum(digit != "0" for digit in number) < 2:
        raise InvalidIdentifier(kind, value, "has fewer than two non-zero digits in the account number")
    for part, digits in (("prefix", prefix), ("account number", number)):
        remainder = _mod11_remainder(digits)
        if remainder:
            reason = f"fails the mod-11 check on the {part} (remainder {remainder})"
            raise InvalidIdentifier(kind, value, reason)
    if czech_bank_name(bank) is None:
        raise InvalidIdentifier(kind, value, f"has bank code {bank}, which is not in the ČNB register")
    return prefix.lstrip("0"), number.lstrip("0"), bank


def validate_bank_account(value: str) -> str:
    """Czech account ``[prefix-]number/bank code``, canonical without leading zeros and without a zero prefix.

    ``000019-2000145399 / 0800`` → ``19-2000145399/0800``, ``0-123/0100`` → ``123/0100``: the spelling banks
    print and ABO counter-accounts decode to. Checks: layout, lengths, the mod-11 rule on prefix and number,
    and the bank code against the ČNB register.
    """
    prefix, number, bank = _parse_account("bank_account", value)
    return f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"


def czech_iban(account: str) -> str:
    """The IBAN (electronic form) of a Czech account: ``19-2000145399/0800`` → ``CZ6508000000192000145399``.

    BBAN = bank code (4) + prefix (6) + number (10), ISO 13616 check digits by schwifty. Raises
    ``InvalidIdentifier`` of kind ``bank_account`` for an invalid account or unknown bank code.
    """
    prefix, number, bank = _parse_account("bank_account", account)
    iban = IBAN.generate(CZ, bank_code=bank, branch_code=prefix.zfill(6), account_code=number.zfill(10))
    return str(iban.compact)


def czech_account_from_iban(value: str) -> str:
    """The canonical Czech account inside a CZ IBAN (validated as ``validate_iban`` does)."""
    iban = validate_iban(value)
    if not iban.startswith(CZ):
        raise InvalidIdentifier("iban", value, "is not a Czech (CZ) IBAN")
    return validate_bank_account(_czech_account_text(iban))


def _czech_account_text(iban: str) -> str:
    bban = iban[4:]
    return f"{bban[4:10]}-{bban[10:20]}/{bban[0:4]}"


def _iban_check_digits(country: str, bban: str) -> str:
    # ISO 13616 / ISO 7064 mod 97-10: BBAN + country + "00", letters as 10-35, check = 98 − (n mod 97).
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def validate_iban(value: str) -> str:
    """Any country's IBAN in electronic form (no spaces, upper case), parsed by schwifty.

    schwifty checks the country, length, BBAN structure and the ISO 13616 check digits. National BBAN
    checksums are not asked of schwifty for other countries; a Czech IBAN is cross-checked as a Czech account
    (mod-11 on prefix and number, bank code in the ČNB register).
    """
    kind = "iban"
    text = compact(kind, value).upper()
    try:
        iban = IBAN(text)
    except schwifty_exceptions.InvalidCountryCode as exc:
        raise InvalidIdentifier(kind, value, f"has unknown country code {text[:2]!r}") from exc
    except schwifty_exceptions.InvalidLength as exc:
        length = IBAN(text, allow_invalid=True).spec.iban_length
        reason = f"has {len(text)} characters, expected {length} for {text[:2]}"
        raise InvalidIdentifier(kind, value, reason) from exc
    except schwifty_exceptions.InvalidChecksumDigits as exc:
        check = _iban_check_digits(text[:2], text[4:])
        reason = f"fails the check digits (expected {check}, got {text[2:4]})"
        raise InvalidIdentifier(kind, value, reason) from exc
    except schwifty_exceptions.SchwiftyException as exc:
        raise InvalidIdentifier(kind, value, f"does not have the structure of a {text[:2]!r} IBAN") from exc
    canonical = str(iban.compact)
    if iban.country_code == CZ:
        try:
            _parse_account(kind, _czech_account_text(canonical))
        except InvalidIdentifier as exc:
            raise InvalidIdentifier(kind, value, f"holds a Czech account that {exc.reason}") from exc
    return canonical


def _validate_symbol(kind: str, value: str, digits_max: int, zero_pad: int) -> str:
    text = compact(kind, value)
    require_digits(kind, value, text)
    require_length(kind, value, text, 1, SYMBOL_FIELD_DIGITS_MAX)
    significant = text.lstrip("0")
    if not significant:
        # Bank formats write an absent symbol as zeros, and banks require a positive number (ČSOB rules cited
        # in czech-finance-formats §2): zero is "no symbol", never a value.
        raise InvalidIdentifier(kind, value, "is zero, which means no symbol")
    if len(significant) > digits_max:
        reason = f"has {len(significant)} significant digits, at most {digits_max}"
        raise InvalidIdentifier(kind, value, reason)
    return significant.zfill(zero_pad)


def validate_variable_symbol(value: str) -> str:
    """Variabilní symbol, up to 10 digits, canonical without leading zeros (``0000001234`` → ``1234``)."""
    return _validate_symbol("variable_symbol", value, VARIABLE_SYMBOL_DIGITS_MAX, 0)


def validate_specific_symbol(value: str) -> str:
    """Specifický symbol, up to 10 digits, canonical without leading zeros."""
    return _validate_symbol("specific_symbol", value, SPECIFIC_SYMBOL_DIGITS_MAX, 0)


def validate_constant_symbol(value: str) -> str:
    """Konstantní symbol, up to 4 significant digits, canonical zero-padded to 4 (``308`` → ``0308``).

    Codes some banks refuse (ČSOB: 5, 6, 51, 1178, …) are accepted: they do occur on incoming statements.
    """
    return _validate_symbol("constant_symbol", value, CONSTANT_SYMBOL_DIGITS, CONSTANT_SYMBOL_DIGITS)


def sipo_check_digit(first9: str) -> str:
    """The 10th digit of a SIPO connection number (spojovací číslo) whose first nine digits are ``first9``."""
    if len(first9) != len(_SIPO_WEIGHTS) or not is_ascii_digits(first9):
        raise ValueError(f"SIPO body must be 9 ASCII digits, got {first9!r}")
    total = sum(w * int(d) for w, d in zip(_SIPO_WEIGHTS, first9, strict=True))
    return str((10 - total % 10) % 10)


def validate_sipo_number(value: str) -> str:
    """SIPO spojovací číslo: exactly 10 digits, the last a check digit.

    Česká pošta says the number is "chráněné kontrolní číslicí" but its algorithm is taken from third-party
    code (czech-finance-formats §5.1, mark [S]): verify against ČP's "Technické podmínky … SIPO" §4 before
    rejecting customers' numbers in production.
    """
    kind = "sipo_number"
    text = compact(kind, value)
    require_digits(kind, value, text)
    require_length(kind, value, text, SIPO_NUMBER_DIGITS, SIPO_NUMBER_DIGITS)
    expected = sipo_check_digit(text[:-1])
    if text[-1] != expected:
        raise InvalidIdentifier(kind, value, check_digit_reason(expected, text[-1]))
    return text
