"""QR Platba: the SPAYD string against the KB examples (czech-finance-formats §3), escaping, CRC32, image."""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal

import pytest
import segno

from gateway.billing.invoices.spayd import (
    SpaydPayment,
    alphanumeric_text,
    escape_value,
    parse_spayd,
    qr_image,
    spayd_crc32,
    spayd_string,
)
from gateway.errors import InvalidField

KB_EXAMPLE_1 = "SPD*1.0*ACC:CZ7801000000000000000123*AM:799.50*CC:CZK*DT:20221001*X-VS:9562231077"
KB_EXAMPLE_2 = (
    "SPD*1.0*ACC:CZ2508000000000300300232*AM:5000.00*CC:CZK*PT:IP*MSG:MIMOŘÁDNÝ VKLAD"
    "*X-VS:0987654321*X-KS:3558*X-SS:1234567890*"
)


def test_kb_example_1_exactly() -> None:
    payment = SpaydPayment(
        iban="CZ78 0100 0000 0000 0000 0123", amount=Decimal("799.50"), due_date=dt.date(2022, 10, 1),
        variable_symbol="9562231077",
    )
    assert spayd_string(payment) == KB_EXAMPLE_1


def test_kb_example_2_in_the_alphanumeric_alphabet() -> None:
    payment = SpaydPayment(
        iban="CZ2508000000000300300232", amount=Decimal("5000"), instant=True, message="Mimořádný vklad",
        variable_symbol="0987654321", constant_symbol="3558", specific_symbol="1234567890",
    )
    text = spayd_string(payment)
    # Same keys, order and values as KB's string; the message without diacritics, no trailing '*'.
    assert text == KB_EXAMPLE_2.replace("MIMOŘÁDNÝ", "MIMORADNY").removesuffix("*")
    expected = parse_spayd(KB_EXAMPLE_2)
    expected["MSG"] = "MIMORADNY VKLAD"
    assert parse_spayd(text) == expected


def test_star_is_escaped_and_message_is_alphanumeric() -> None:
    assert escape_value("A*B") == "A%2AB"
    assert alphanumeric_text("Vyúčtování elektřiny 2026 * žluťoučký kůň; ok?") == (
        "VYUCTOVANI ELEKTRINY 2026 * ZLUTOUCKY KUN OK"
    )
    text = spayd_string(SpaydPayment(iban="CZ6508000000192000145399", amount=Decimal("1"), message="a*b"))
    assert "MSG:A%2AB" in text
    assert parse_spayd(text)["MSG"] == "A*B"
    assert segno.make(text, error="m", boost_error=False).mode == "alphanumeric"


def test_crc32_over_the_key_sorted_string() -> None:
    payment = SpaydPayment(
        iban="CZ7801000000000000000123", amount=Decimal("799.50"), due_date=dt.date(2022, 10, 1),
        variable_symbol="9562231077",
    )
    text = spayd_string(payment, with_crc32=True)
    body, crc = text.rsplit("*CRC32:", 1)
    canonical = "SPD*1.0*ACC:CZ7801000000000000000123*AM:799.50*CC:CZK*DT:20221001*X-VS:9562231077"
    assert body == KB_EXAMPLE_1 and crc == f"{zlib.crc32(canonical.encode()):08X}"
    assert spayd_crc32(text) == crc
    # Any key order gives the same checksum.
    shuffled = "SPD*1.0*X-VS:9562231077*CC:CZK*AM:799.50*DT:20221001*ACC:CZ7801000000000000000123"
    assert spayd_crc32(shuffled) == crc


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"iban": "CZ65 0800"}, "iban"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"amount": Decimal("1.005")}, "amount"),
        ({"amount": Decimal("10000000.00")}, "amount"),
        ({"variable_symbol": "12345678901"}, "variable_symbol"),
        ({"variable_symbol": "12A"}, "variable_symbol"),
        ({"currency": "czk"}, "currency"),
    ],
)
def test_refused_values_name_field_and_value(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"iban": "CZ6508000000192000145399", "amount": Decimal("10.00")}
    values.update(changes)
    with pytest.raises(InvalidField) as caught:
        spayd_string(SpaydPayment(**values))  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.value == changes[field]


def test_message_is_cut_at_60_characters() -> None:
    text = spayd_string(SpaydPayment(iban="CZ6508000000192000145399", amount=Decimal("1"), message="X" * 80))
    assert parse_spayd(text)["MSG"] == "X" * 60


def test_png_and_svg_images() -> None:
    png = qr_image(KB_EXAMPLE_1, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = qr_image(KB_EXAMPLE_1, "svg")
    assert b"<svg" in svg
    code = segno.make_qr(KB_EXAMPLE_1, error="m", boost_error=False)
    assert code.error == "M"


def test_parse_refuses_other_headers() -> None:
    with pytest.raises(InvalidField):
        parse_spayd("SID*1.0*ID:1")
