"""The optional ``factor`` attribute of a GP6 meter [I]: read, written back and checked by the XSD."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from connectors.ote.codec import OteMalformed, decode_as, encode
from schemas.ote import MeteredGas
from tests.connectors.ote.expected import METERED_GAS, golden_bytes

_METER = b'<meter meterId="GM-0042817" from="2025-01-01" to="2025-01-03"'


def test_a_sent_factor_is_read_and_written_back_digit_for_digit() -> None:
    data = golden_bytes("metered-gas.xml").replace(_METER, _METER + b' factor="0.97360"')
    message = decode_as(data, MeteredGas)
    assert str(message.meters[0].conversion_factor) == "0.97360"
    assert b'factor="0.97360"' in encode(message)
    assert decode_as(encode(message), MeteredGas) == message


def test_without_a_factor_the_meter_has_none() -> None:
    assert METERED_GAS.meters[0].conversion_factor is None
    assert b"factor=" not in encode(METERED_GAS)
    with_factor = msgspec.structs.replace(METERED_GAS.meters[0], conversion_factor=Decimal("1.0012"))
    encoded = encode(msgspec.structs.replace(METERED_GAS, meters=(with_factor,)))
    assert b'factor="1.0012"' in encoded


def test_a_factor_that_is_not_a_decimal_is_refused_naming_its_path() -> None:
    data = golden_bytes("metered-gas.xml").replace(_METER, _METER + b' factor="0,97"')
    with pytest.raises(OteMalformed, match=r"meters/meter\[1\]/@factor: '0,97' is not a decimal"):
        decode_as(data, MeteredGas)
