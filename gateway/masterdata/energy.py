"""Energy-market identifiers: electricity EANs (GS1 mod-10) and gas EICs (ENTSO-E mod-37).

Rules from ``/work/shared/reference/ote-market.md`` §1.1 and §1.2, verified there on real samples.
"""

from __future__ import annotations

import operator
from typing import Final

from gateway.masterdata.base import (
    InvalidIdentifier,
    check_digit_reason,
    compact,
    require_digits,
    require_length,
)

EAN_OPM_LENGTH = 18
EAN_PARTICIPANT_LENGTH = 13
# GS1 prefix 859 = Czech Republic; every OPM EAN is issued under it (OTE's 8591824…, ote-market.md §1.1).
EAN_OPM_PREFIX = "859"
EIC_LENGTH = 16
# ENTSO-E EIC alphabet in value order: 0-9 → 0-9, A-Z → 10-35, '-' → 36 (ote-market.md §1.2).
EIC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
_EIC_CHARS: Final = frozenset(EIC_ALPHABET)
# The check sums below run at bulk-import rates (one per OPM row), so they avoid per-character Python
# loops: str.translate maps every EIC character to the code point of its value, and the sums run in C
# (sum over bytes, map with operator.mul) rather than in generator expressions.
_EIC_VALUE_CHARS: Final = str.maketrans({char: chr(index) for index, char in enumerate(EIC_ALPHABET)})
#: ote-market.md §1.2: weights 16, 15, …, 2 over the first 15 characters.
_EIC_WEIGHTS: Final = tuple(range(EIC_LENGTH, 1, -1))
_ZERO: Final = ord("0")


def _ascii_digits(text: str) -> bool:
    # For ASCII text, isdigit() accepts exactly 0-9 (the same as base.is_ascii_digits, without its loop).
    return text.isascii() and text.isdigit()


def ean_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit for ``digits`` (every digit of the EAN except the last).

    GS1 General Specifications §7.9.1: from the rightmost digit leftwards weights 3, 1, 3, 1, …;
    check = (10 − sum mod 10) mod 10. The same rule serves GTIN-13 and the 18-digit GSRN-style OPM EAN.
    """
    if not _ascii_digits(digits):
        raise ValueError(f"EAN body must be ASCII digits, got {digits!r}")
    # Digits at weight 3 are the rightmost and every second one leftwards; a digit's value is its byte - '0'.
    tripled, single = digits[::-2].encode(), digits[-2::-2].encode()
    total = 3 * (sum(tripled) - _ZERO * len(tripled)) + sum(single) - _ZERO * len(single)
    return str((10 - total % 10) % 10)


def _validate_ean(kind: str, value: str, length: int, prefix: str) -> str:
    text = compact(kind, value)
    if not _ascii_digits(text):
        require_digits(kind, value, text)  # raises, naming the first character that is not 0-9
    require_length(kind, value, text, length, length)
    if not text.startswith(prefix):
        raise InvalidIdentifier(kind, value, f"does not start with {prefix} (GS1 Czech Republic)")
    expected = ean_check_digit(text[:-1])
    if text[-1] != expected:
        raise InvalidIdentifier(kind, value, check_digit_reason(expected, text[-1]))
    return text


def validate_ean_opm(value: str) -> str:
    """18-digit EAN of an electricity OPM (odběrné/předávací místo): digits only, ``859…``, GS1 check."""
    return _validate_ean("ean_opm", value, EAN_OPM_LENGTH, EAN_OPM_PREFIX)


def validate_ean_participant(value: str) -> str:
    """13-digit EAN of a market participant (supplier, DSO, OTE), GS1 check.

    No prefix rule: Czech participants have ``8591824…``, but foreign traders registered with OTE carry their
    own country's GS1 prefix.
    """
    return _validate_ean("ean_participant", value, EAN_PARTICIPANT_LENGTH, "")


def _eic_check_index(first15: str) -> int:
    # ote-market.md §1.2: S = Σ value × weight; check = 36 − ((S − 1) mod 37), an index into EIC_ALPHABET.
    # ``first15`` holds only alphabet characters (callers check), so each maps to one code point below 37.
    values = first15.translate(_EIC_VALUE_CHARS).encode("latin-1")
    total: int = sum(map(operator.mul, values, _EIC_WEIGHTS))
    return 36 - (total - 1) % 37


def eic_check_char(first15: str) -> str:
    """The check character that completes ``first15`` (15 characters of ``0-9 A-Z -``) into an EIC.

    Raises ``ValueError`` when the rule yields '-': ENTSO-E never issues such a code, so a generator must
    pick another body.
    """
    if len(first15) != EIC_LENGTH - 1 or not _EIC_CHARS.issuperset(first15):
        raise ValueError(f"EIC body must be 15 characters of 0-9, A-Z and '-', got {first15!r}")
    check = EIC_ALPHABET[_eic_check_index(first15)]
    if check == "-":
        raise ValueError(f"EIC body {first15!r} gives the check character '-', which is never issued")
    return check


def validate_eic(value: str) -> str:
    """16-character Energy Identification Code (gas OPM ``27ZG…`` or a participant), upper-cased.

    Only the length, the alphabet and the check character are checked, as ote-market.md §1.2 describes; the
    issuing-office and object-type positions are not interpreted.
    """
    kind = "eic"
    text = compact(kind, value).upper()
    if not _EIC_CHARS.issuperset(text):
        char = next(char for char in text if char not in _EIC_CHARS)
        raise InvalidIdentifier(kind, value, f"contains {char!r}, only 0-9, A-Z and '-' are allowed")
    if len(text) != EIC_LENGTH:
        raise InvalidIdentifier(kind, value, f"has {len(text)} characters, expected {EIC_LENGTH}")
    expected = EIC_ALPHABET[_eic_check_index(text[:-1])]
    if expected == "-":
        reason = "has a body whose check character would be '-', which ENTSO-E never issues"
        raise InvalidIdentifier(kind, value, reason)
    if text[-1] != expected:
        reason = f"fails the check character (expected {expected}, got {text[-1]})"
        raise InvalidIdentifier(kind, value, reason)
    return text
