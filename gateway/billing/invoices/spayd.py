"""QR Platba: the SPAYD string (ČBA "Short Payment Descriptor" 1.2) and its QR image.

``SPD*1.0*ACC:<IBAN>*AM:<amount>*CC:CZK*DT:<YYYYMMDD>*MSG:<text>*X-VS:<digits>`` (czech-finance-formats §3).
Keys go in a fixed order (the order of the KB examples); a ``*`` inside a value is written ``%2A``.

Every character we write is in the QR code's alphanumeric alphabet (``0-9 A-Z space $ % * + - . / :``): the
message is upper-cased and stripped of diacritics, anything else becomes a space. The code then stays in the
alphanumeric mode (11 bits per two characters instead of 8 per character), the smallest symbol for the data,
and no bank app has to guess the character set. Error correction is level M, as the standard asks.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zlib
from decimal import Decimal
from typing import Final, Literal

import msgspec
import segno

from gateway.errors import InvalidField

HEADER: Final = "SPD*1.0*"
#: Longest values the standard allows (czech-finance-formats §3, key table).
ACCOUNT_CHARS_MAX: Final = 46
AMOUNT_CHARS_MAX: Final = 10
MESSAGE_CHARS_MAX: Final = 60
SYMBOL_DIGITS_MAX: Final = 10
#: The largest amount that fits AM's 10 characters with two decimals.
AMOUNT_MAX: Final = Decimal("9999999.99")
#: Pixels per module of the PNG, and the quiet zone in modules the standard's 4 asks for.
PNG_SCALE: Final = 8
QUIET_ZONE_MODULES: Final = 4
ERROR_CORRECTION: Final = "m"

_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")


class SpaydPayment(msgspec.Struct, frozen=True, kw_only=True):
    """What a QR Platba carries for one invoice."""

    iban: str
    amount: Decimal
    currency: str = "CZK"
    due_date: dt.date | None = None
    message: str | None = None
    variable_symbol: str | None = None
    constant_symbol: str | None = None
    specific_symbol: str | None = None
    #: Instant payment (``PT:IP``) asked for.
    instant: bool = False


def escape_value(value: str) -> str:
    """A value as SPAYD writes it: ``*`` (the field separator) as ``%2A``; ``%`` itself is left alone, as in
    the standard's own examples."""
    return value.replace("*", "%2A")


def alphanumeric_text(text: str) -> str:
    """``text`` in the QR alphanumeric alphabet: diacritics dropped, upper case, others as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
    cleaned = "".join(char if char in _ALPHANUMERIC else " " for char in plain)
    return " ".join(cleaned.split())


def spayd_string(payment: SpaydPayment, *, with_crc32: bool = False) -> str:
    """The SPAYD string of ``payment``; ``with_crc32`` appends the CRC32 of its canonical form."""
    pairs = _pairs(payment)
    text = HEADER + "*".join(f"{key}:{escape_value(value)}" for key, value in pairs)
    if with_crc32:
        text += f"*CRC32:{spayd_crc32(text)}"
    assert all(char in _ALPHANUMERIC for char in text), text
    return text


def spayd_crc32(text: str) -> str:
    """CRC32 (8 upper-case hex digits) of the canonical form: header, then the pairs sorted by key, without
    a CRC32 pair (the standard's definition, so that a reader can check a string whatever its key order)."""
    fields = parse_spayd(text)
    fields.pop("CRC32", None)
    canonical = HEADER + "*".join(f"{key}:{escape_value(fields[key])}" for key in sorted(fields))
    return f"{zlib.crc32(canonical.encode('utf-8')):08X}"


def parse_spayd(text: str) -> dict[str, str]:
    """The key-value pairs of a SPAYD string (values unescaped); refuses a string without the header."""
    if not text.startswith(HEADER):
        raise InvalidField("spayd", text[:20], f"does not start with {HEADER!r}")
    fields: dict[str, str] = {}
    for part in text[len(HEADER) :].split("*"):
        if not part:
            continue  # a trailing '*' is allowed
        key, separator, value = part.partition(":")
        if not separator or not re.fullmatch(r"[A-Z0-9-]+", key):
            raise InvalidField("spayd", part, "is not KEY:value")
        fields[key] = value.replace("%2A", "*")
    return fields


def qr_image(spayd: str, image_format: Literal["png", "svg"] = "png", *, scale: int = PNG_SCALE) -> bytes:
    """The QR code of ``spayd`` as PNG or SVG bytes, error correction M exactly (no boost: the standard's
    level, not whatever else would fit the same symbol)."""
    code = segno.make_qr(spayd, error=ERROR_CORRECTION, boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=image_format, scale=scale, border=QUIET_ZONE_MODULES)
    return buffer.getvalue()


def _pairs(payment: SpaydPayment) -> list[tuple[str, str]]:
    iban = payment.iban.replace(" ", "")
    if not _IBAN.match(iban) or len(iban) > ACCOUNT_CHARS_MAX:
        raise InvalidField("iban", payment.iban, "is not an IBAN (2 letters, 2 check digits, 11-30 chars)")
    if not _CURRENCY.match(payment.currency):
        raise InvalidField("currency", payment.currency, "is not an ISO 4217 code")
    pairs = [("ACC", iban), ("AM", _amount(payment.amount)), ("CC", payment.currency)]
    if payment.due_date is not None:
        pairs.append(("DT", payment.due_date.strftime("%Y%m%d")))
    if payment.instant:
        pairs.append(("PT", "IP"))
    if payment.message:
        # The message is informative; longer text is cut rather than refused.
        message = alphanumeric_text(payment.message)[:MESSAGE_CHARS_MAX].rstrip()
        if message:
            pairs.append(("MSG", message))
    symbols = (
        ("X-VS", "variable_symbol", payment.variable_symbol),
        ("X-KS", "constant_symbol", payment.constant_symbol),
        ("X-SS", "specific_symbol", payment.specific_symbol),
    )
    for key, field, value in symbols:
        if value is None:
            continue
        if not (value.isascii() and value.isdigit() and len(value) <= SYMBOL_DIGITS_MAX):
            raise InvalidField(field, value, f"must be 1 to {SYMBOL_DIGITS_MAX} digits")
        pairs.append((key, value))
    return pairs


def _amount(amount: Decimal) -> str:
    if not amount.is_finite() or amount <= 0:
        raise InvalidField("amount", amount, "must be a positive amount: there is nothing to pay otherwise")
    if amount != amount.quantize(_CENT) or amount > AMOUNT_MAX:
        raise InvalidField("amount", amount, f"must have at most 2 decimals and not exceed {AMOUNT_MAX}")
    text = f"{amount.quantize(_CENT):f}"
    assert len(text) <= AMOUNT_CHARS_MAX
    return text
