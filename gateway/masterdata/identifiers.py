"""Validation and normalisation of every identifier the system of record accepts.

Each ``validate_<kind>(value) -> str`` returns the canonical spelling to store and compare, or raises
``InvalidIdentifier(kind, value, reason)``. ``KIND_VALIDATORS`` maps each kind to its validator, for code
that learns the kind from a schema or a message. The rules live in ``energy`` (EAN, EIC), ``parties``
(IČO, DIČ, rodné číslo, PSČ) and ``payments`` (accounts, IBAN, symbols, SIPO); this module is the one to
import from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from gateway.masterdata.base import InvalidIdentifier
from gateway.masterdata.energy import (
    ean_check_digit,
    eic_check_char,
    validate_ean_opm,
    validate_ean_participant,
    validate_eic,
)
from gateway.masterdata.parties import validate_birth_number, validate_dic, validate_ico, validate_postal_code
from gateway.masterdata.payments import (
    czech_account_from_iban,
    czech_bank_name,
    czech_iban,
    sipo_check_digit,
    validate_bank_account,
    validate_constant_symbol,
    validate_iban,
    validate_sipo_number,
    validate_specific_symbol,
    validate_variable_symbol,
)

__all__ = [
    "KIND_VALIDATORS",
    "InvalidIdentifier",
    "czech_account_from_iban",
    "czech_bank_name",
    "czech_iban",
    "ean_check_digit",
    "eic_check_char",
    "sipo_check_digit",
    "validate",
    "validate_bank_account",
    "validate_birth_number",
    "validate_constant_symbol",
    "validate_dic",
    "validate_ean_opm",
    "validate_ean_participant",
    "validate_eic",
    "validate_iban",
    "validate_ico",
    "validate_postal_code",
    "validate_sipo_number",
    "validate_specific_symbol",
    "validate_variable_symbol",
]

KIND_VALIDATORS: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {
        "ean_opm": validate_ean_opm,
        "ean_participant": validate_ean_participant,
        "eic": validate_eic,
        "ico": validate_ico,
        "dic": validate_dic,
        "birth_number": validate_birth_number,
        "bank_account": validate_bank_account,
        "iban": validate_iban,
        "variable_symbol": validate_variable_symbol,
        "constant_symbol": validate_constant_symbol,
        "specific_symbol": validate_specific_symbol,
        "sipo_number": validate_sipo_number,
        "postal_code": validate_postal_code,
    }
)


def validate(kind: str, value: str) -> str:
    """``KIND_VALIDATORS[kind](value)``; an unknown kind is a programming error (``KeyError``)."""
    return KIND_VALIDATORS[kind](value)
