"""numeric's binary COPY field against the format written out from PostgreSQL's documentation (digit count,
weight, sign, display scale, base-10000 digits without trailing zero groups), for any finite decimal.

The fields read back through a real PostgreSQL in ``tests/masterdata/test_import_copy.py``; here the encoding
is compared with a reference made another way (from the decimal's digit tuple), over many more values.
"""

from __future__ import annotations

import struct
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.store import copy_fields


def _reference(value: Decimal) -> bytes:
    """numeric's send format, from the digit tuple: pad the digits to whole groups of four on both sides of
    the point, drop the leading and trailing zero groups, count the weight from the point."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(-exponent, 0)
    text = ("".join(map(str, digits)) + "0" * max(exponent, 0)).rjust(scale + 1, "0")
    whole, fraction = (text[:len(text) - scale], text[len(text) - scale:]) if scale else (text, "")
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(whole[at:at + 4]) for at in range(0, len(whole), 4)]
    groups += [int(fraction[at:at + 4]) for at in range(0, len(fraction), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    negative = bool(sign) and bool(groups)
    body = struct.pack(f">hhHH{len(groups)}H", len(groups), weight, 0x4000 if negative else 0, scale, *groups)
    return struct.pack(">i", len(body)) + body


_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"),
                        max_value=Decimal("1e30"), places=None)


@given(_DECIMALS)
def test_numeric_field_follows_the_format(value: Decimal) -> None:
    assert copy_fields.numeric(value) == _reference(value), value


@given(st.integers(min_value=-(10**40), max_value=10**40), st.integers(min_value=-20, max_value=20))
def test_numeric_field_of_any_exponent(units: int, exponent: int) -> None:
    """Exponent forms (``1E+5``, ``1E-7``) and long values too."""
    value = Decimal(units).scaleb(exponent)
    assert copy_fields.numeric(value) == _reference(value), value


def test_numeric_field_of_money() -> None:
    """What an invoice's amounts look like, spelled out: 26263.00 is the groups 2, 6263, 0 → 2, 6263."""
    assert copy_fields.numeric(Decimal("26263.00")) == bytes.fromhex("0000000c" "0002" "0001" "0000" "0002"
                                                                      "0002" "1877")
    assert copy_fields.numeric(Decimal("-0.46")) == bytes.fromhex("0000000a" "0001" "ffff" "4000" "0002"
                                                                   "11f8")
    assert copy_fields.numeric(Decimal("0.00")) == bytes.fromhex("00000008" "0000" "0000" "0000" "0002")
    assert copy_fields.numeric(None) == b"\xff\xff\xff\xff"
