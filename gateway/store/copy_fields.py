"""PostgreSQL's binary COPY format: the file's header and trailer, a row's field count, and each field of
the column types proud writes by COPY (the bulk import's tables, the readings, a mass run's invoices).

asyncpg encodes COPY records field by field through its codecs, which at bulk rates cost more than all the
other preparation of a row (a numeric some 8,000 instructions, a text given as ``str`` encoded again).
Here a row is encoded once, where it is made, into the bytes COPY expects; writing a batch is then one
``join`` per table. Compiled with mypyc (``gateway.compiled``).

Format (PostgreSQL documentation, "COPY — Binary Format"): a header, then per row a 16-bit field count and
per field a 32-bit length (-1 for NULL) and the type's binary ("send") representation, then a trailer.
A value of the wrong width for its column is refused by PostgreSQL ("incorrect binary data format"), never
stored wrongly.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from decimal import Decimal
from typing import Final

HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(4) + bytes(4)  # signature, flags, header extension length
TRAILER: Final = b"\xff\xff"
NULL: Final = b"\xff\xff\xff\xff"
#: PostgreSQL counts dates and timestamps from 2000-01-01.
_EPOCH_DAY: Final = dt.date(2000, 1, 1).toordinal()
_EPOCH: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)
_UUID_LENGTH: Final = b"\x00\x00\x00\x10"
_INT2: Final = b"\x00\x00\x00\x02"
_INT4: Final = b"\x00\x00\x00\x04"
_INT8: Final = b"\x00\x00\x00\x08"
#: numeric's sign word for positive and negative values (NaN and infinities never reach a quantity column).
_NUMERIC_POSITIVE: Final = 0x0000
_NUMERIC_NEGATIVE: Final = 0x4000
#: numeric stores base-10000 digits: four decimal digits each.
_NUMERIC_DIGIT_WIDTH: Final = 4
_NUMERIC_BASE: Final = 10_000
#: Scaling by a power of ten in this context never rounds.
_EXACT: Final = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
#: Digits ``int`` reads from a text at most (Python's own limit is 4,300); longer numerics go by their tuple.
_INT_TEXT_DIGITS_MAX: Final = 4_000
#: Field lengths encoded ahead (most fields are shorter); longer ones are encoded when met.
_LENGTHS_KNOWN: Final = 4096
_LENGTHS: Final = [size.to_bytes(4, "big") for size in range(_LENGTHS_KNOWN)]
#: Every base-10000 digit as numeric's 16-bit word (counts and scales below 10000 too).
_WORDS: Final = [word.to_bytes(2, "big") for word in range(_NUMERIC_BASE)]
_POSITIVE_WORD: Final = _NUMERIC_POSITIVE.to_bytes(2, "big")
_NEGATIVE_WORD: Final = _NUMERIC_NEGATIVE.to_bytes(2, "big")


def _length(size: int) -> bytes:
    """A field's 32-bit length."""
    return _LENGTHS[size] if size < _LENGTHS_KNOWN else size.to_bytes(4, "big")


def field_count(count: int) -> bytes:
    """The start of a row of ``count`` fields."""
    return count.to_bytes(2, "big")


def text(value: str | None) -> bytes:
    """text, varchar and json (whose binary form is its text)."""
    if value is None:
        return NULL
    data = value.encode()
    return _length(len(data)) + data


def raw(data: bytes | None) -> bytes:
    """bytea, or json already encoded as UTF-8."""
    if data is None:
        return NULL
    return _length(len(data)) + data


def uuid_field(value: uuid.UUID) -> bytes:
    return _UUID_LENGTH + value.int.to_bytes(16, "big")


def int2(value: int | None) -> bytes:
    return NULL if value is None else _INT2 + value.to_bytes(2, "big", signed=True)


def int4(value: int | None) -> bytes:
    return NULL if value is None else _INT4 + value.to_bytes(4, "big", signed=True)


def int8(value: int) -> bytes:
    return _INT8 + value.to_bytes(8, "big", signed=True)


def date(value: dt.date) -> bytes:
    return _INT4 + (value.toordinal() - _EPOCH_DAY).to_bytes(4, "big", signed=True)


def timestamptz(value: dt.datetime) -> bytes:
    """A time-zone-aware instant as microseconds since 2000-01-01 UTC."""
    assert value.tzinfo is not None, "timestamptz columns hold instants"
    return _INT8 + ((value - _EPOCH) // _MICROSECOND).to_bytes(8, "big", signed=True)


def numeric(value: Decimal | None) -> bytes:
    """A finite decimal in numeric's binary form: digit count, weight (the first digit is worth
    10000 ** weight), sign, display scale (decimal places), then the base-10000 digits.

    Read from the decimal's text (``-1234.50``): one C call, where its digit tuple and a scaled copy took
    five times as long; a text in exponent form (``1E+5``), or of thousands of digits, goes by the tuple."""
    if value is None:
        return NULL
    text = str(value)
    if "E" in text or len(text) > _INT_TEXT_DIGITS_MAX:
        return _numeric_exponent(value)
    negative = text.startswith("-")
    whole, _point, fraction = text[1:].partition(".") if negative else text.partition(".")
    scale = len(fraction)
    fraction_groups = (scale + _NUMERIC_DIGIT_WIDTH - 1) // _NUMERIC_DIGIT_WIDTH
    # The value in units of 10000 ** -fraction_groups: its digits, the fraction padded to whole groups.
    padding = "0" * (_NUMERIC_DIGIT_WIDTH * fraction_groups - scale)
    return _numeric_field(int(whole + fraction + padding), fraction_groups, scale, negative)


def _numeric_exponent(value: Decimal) -> bytes:
    sign, _digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), f"not a finite number: {value}"
    scale = -exponent if exponent < 0 else 0
    fraction_groups = (scale + _NUMERIC_DIGIT_WIDTH - 1) // _NUMERIC_DIGIT_WIDTH
    units = abs(int(value.scaleb(_NUMERIC_DIGIT_WIDTH * fraction_groups, _EXACT)))
    return _numeric_field(units, fraction_groups, scale, bool(sign))


def _numeric_field(units: int, fraction_groups: int, scale: int, negative: bool) -> bytes:
    """``units`` (of 10000 ** -fraction_groups, not negative) as numeric's field."""
    groups: list[int] = []  # least significant first
    while units:
        groups.append(units % _NUMERIC_BASE)
        units //= _NUMERIC_BASE
    weight = len(groups) - 1 - fraction_groups if groups else 0
    while groups and groups[0] == 0:  # trailing zeros: PostgreSQL drops them too
        groups.pop(0)
    # The words, big-endian 16 bits each (the weight in two's complement), joined from their encodings made
    # ahead: building one number of them took a long integer's arithmetic per word.
    parts = [
        _length(8 + 2 * len(groups)), _word(len(groups)), _word(weight & 0xFFFF),
        _NEGATIVE_WORD if negative and groups else _POSITIVE_WORD, _word(scale),
    ]
    for group in reversed(groups):
        parts.append(_WORDS[group])
    return b"".join(parts)


def _word(value: int) -> bytes:
    """An unsigned 16-bit word."""
    return _WORDS[value] if value < _NUMERIC_BASE else value.to_bytes(2, "big")
