"""Identifiers of customers and their addresses: IČO, DIČ, rodné číslo, PSČ.

The check rules are python-stdnum's (``stdnum.cz.dic``, ``stdnum.cz.rc``); this module adds the canonical
form proud stores and a reason precise enough to show to the person who typed the value.
"""

from __future__ import annotations

from stdnum import exceptions as stdnum_exceptions
from stdnum.cz import dic as stdnum_dic
from stdnum.cz import rc as stdnum_rc

from gateway.masterdata.base import (
    InvalidIdentifier,
    check_digit_reason,
    compact,
    require_digits,
    require_length,
)

ICO_LENGTH = 8
DIC_PREFIX = "CZ"
POSTAL_CODE_LENGTH = 5
# Zákon č. 133/2000 Sb., § 13: women have 50 added to the month; 20 is added when a day's serial numbers run
# out (numbers issued since 2004), hence 70 for women. Any other month field is impossible. python-stdnum
# reduces the month with ``% 50 % 20`` and so would accept e.g. 41-49; we do not.
_BIRTH_MONTH_OFFSETS = (0, 20, 50, 70)
# 9-digit numbers (no check digit) were issued until 31 December 1953 (stdnum.cz.rc, same law).
_NINE_DIGIT_LAST_YEAR = 1953


def validate_ico(value: str) -> str:
    """IČO (identifikační číslo osoby), zero-padded to 8 digits as ARES requires (czech-finance-formats §6).

    Check digit: weights 8…2 over the first seven digits, r = Σ mod 11, check = (11 − r) mod 10, which is
    ``stdnum.cz.dic.calc_check_digit_legal`` (a legal entity's DIČ is CZ + IČO).
    """
    kind = "ico"
    text = compact(kind, value)
    require_digits(kind, value, text)
    require_length(kind, value, text, 1, ICO_LENGTH)
    text = text.zfill(ICO_LENGTH)
    expected = stdnum_dic.calc_check_digit_legal(text[:-1])
    if text[-1] != expected:
        raise InvalidIdentifier(kind, value, check_digit_reason(expected, text[-1]))
    return text


def validate_dic(value: str) -> str:
    """DIČ (VAT number) in the form ``CZ`` + 8, 9 or 10 digits, upper-cased and without spaces.

    8 digits: a legal entity, CZ + IČO (check as ``validate_ico``). 9 digits starting with 6: a person without
    a birth number (stdnum's special check digit). Other 9 or 10 digits: a person's rodné číslo (rules of
    ``validate_birth_number``). The ``CZ`` prefix is required: without it the value cannot be told from an
    IČO or a birth number.
    """
    kind = "dic"
    text = compact(kind, value).upper()
    if not text.startswith(DIC_PREFIX):
        raise InvalidIdentifier(kind, value, f"does not start with {DIC_PREFIX}")
    digits = text[len(DIC_PREFIX) :]
    require_digits(kind, value, digits, "number after CZ")
    require_length(kind, value, digits, 8, 10, "number after CZ")
    if len(digits) == ICO_LENGTH:
        expected = stdnum_dic.calc_check_digit_legal(digits[:-1])
    elif len(digits) == 9 and digits.startswith("6"):
        expected = stdnum_dic.calc_check_digit_special(digits[1:-1])
    else:
        return DIC_PREFIX + _check_birth_number(kind, value, digits)
    if digits[-1] != expected:
        raise InvalidIdentifier(kind, value, check_digit_reason(expected, digits[-1]))
    try:
        stdnum_dic.validate(digits)
    except stdnum_exceptions.ValidationError as exc:
        # Only stdnum's own extra rule is left here: no legal-entity DIČ starts with 9.
        raise InvalidIdentifier(kind, value, f"is rejected by python-stdnum ({exc})") from exc
    return DIC_PREFIX + digits


def validate_birth_number(value: str) -> str:
    """Rodné číslo as 9 or 10 digits without the slash (``710319/2745`` → ``7103192745``).

    YYMMDD + serial (3 digits) [+ check digit]: the date must exist after removing the month offset
    (+20, +50, +70); 9-digit numbers only before 1954; a 10-digit number is divisible by 11, except that a
    remainder of 10 on the first nine digits gives check digit 0 (stdnum.cz.rc). A date in the future is
    not rejected: that would need a clock, and the check is the caller's.
    """
    kind = "birth_number"
    text = compact(kind, value)
    if len(text) in (10, 11) and text[6] == "/":
        text = text[:6] + text[7:]
    require_digits(kind, value, text)
    return _check_birth_number(kind, value, text)


def _check_birth_number(kind: str, value: str, digits: str) -> str:
    require_length(kind, value, digits, 9, 10)
    month_field = int(digits[2:4])
    if not 1 <= month_field - _birth_month_offset(month_field) <= 12:
        raise InvalidIdentifier(kind, value, f"has month field {digits[2:4]}, not 01-12 plus 0, 20, 50 or 70")
    try:
        stdnum_rc.get_birth_date(digits)
    except stdnum_exceptions.InvalidLength as exc:
        year = _birth_year(digits)
        reason = f"has 9 digits but encodes {year}; 9-digit numbers ended in {_NINE_DIGIT_LAST_YEAR}"
        raise InvalidIdentifier(kind, value, reason) from exc
    except stdnum_exceptions.ValidationError as exc:
        reason = f"encodes an impossible birth date ({_date_fields(digits)})"
        raise InvalidIdentifier(kind, value, reason) from exc
    if len(digits) == 10:
        expected = str(int(digits[:9]) % 11 % 10)
        if digits[-1] != expected:
            raise InvalidIdentifier(kind, value, check_digit_reason(expected, digits[-1]))
    return digits


def _birth_month_offset(month_field: int) -> int:
    return max((offset for offset in _BIRTH_MONTH_OFFSETS if offset < month_field), default=0)


def _birth_year(digits: str) -> int:
    # For messages only, mirroring stdnum.cz.rc.get_birth_date: 10 digits cover 1954-2053; 9 digits cover
    # 1880-1979, of which only up to 1953 is valid.
    year = 1900 + int(digits[0:2])
    if len(digits) == 9:
        return year - 100 if year >= 1980 else year
    return year + 100 if year < 1954 else year


def _date_fields(digits: str) -> str:
    month = int(digits[2:4])
    return f"day {digits[4:6]}, month {month - _birth_month_offset(month):02d}, year {_birth_year(digits)}"


def validate_postal_code(value: str) -> str:
    """PSČ as 5 digits: ``123 45`` → ``12345``. Format only: Česká pošta publishes no check digit."""
    kind = "postal_code"
    text = compact(kind, value)
    require_digits(kind, value, text)
    require_length(kind, value, text, POSTAL_CODE_LENGTH, POSTAL_CODE_LENGTH)
    return text
