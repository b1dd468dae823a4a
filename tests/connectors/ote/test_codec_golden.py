"""Golden OTE files decode to the structs written out by hand, and every family round-trips through XML
that passes its XSD, for both commodities. Quantities must come back digit for digit."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec
import pytest
from lxml import etree

from connectors.ote.codec import MESSAGE_TYPES, OteMalformed, decode, decode_as, encode
from connectors.ote.codec.common import schema
from schemas.ote import AnyOteMessage, MeteredElectricity, MeteredGas, OteMessage, SwitchRequest
from tests.connectors.ote.expected import GOLDEN, METERED_ELECTRICITY, METERED_GAS, golden_bytes

#: Which XSD each golden file belongs to (by family), for validating the files as written.
XSD_BY_TYPE = {
    "response": "response.xsd", "masterdata": "masterdata.xsd", "switch-request": "switch.xsd",
    "switch-answer": "switch.xsd", "opm-registration": "registration.xsd",
    "metered-electricity": "metered.xsd", "metered-gas": "metered.xsd",
}


def tag(message: OteMessage) -> str:
    return str(message.__struct_config__.tag)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_decodes_to_expected_struct(name: str) -> None:
    assert decode(golden_bytes(name)) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_re_encodes_to_valid_xml_that_decodes_back(name: str) -> None:
    data = encode(GOLDEN[name])
    document = etree.fromstring(data)
    assert schema(XSD_BY_TYPE[tag(GOLDEN[name])]).validate(document)
    assert decode(data) == GOLDEN[name]
    # Our output uses a default namespace, never a prefix.
    assert b"<n0:" not in data and etree.QName(document).namespace in document.nsmap.values()


@pytest.mark.parametrize("name", sorted(name for name in GOLDEN if not name.endswith("-sap.xml")))
def test_golden_files_as_written_pass_their_xsd(name: str) -> None:
    # The SAP-style file has unqualified children, which real OTE output has and our XSDs do not allow.
    schema_ = schema(XSD_BY_TYPE[tag(GOLDEN[name])])
    assert schema_.validate(etree.fromstring(golden_bytes(name))), schema_.error_log


def test_every_family_and_both_commodities_have_a_golden_file() -> None:
    seen = {(tag(message), getattr(message, "commodity", None)) for message in GOLDEN.values()}
    assert {family for family, _ in seen} == set(MESSAGE_TYPES)
    for family in ("response", "masterdata", "switch-request", "switch-answer", "opm-registration"):
        assert {commodity for name, commodity in seen if name == family} == {"electricity", "gas"}, family


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_json_round_trip_is_lossless(name: str) -> None:
    # The CLI's path: struct → JSON → struct, with Decimals as strings.
    message = GOLDEN[name]
    data = msgspec.json.encode(message)
    assert msgspec.json.decode(data, type=AnyOteMessage) == message
    assert msgspec.json.decode(data, type=MESSAGE_TYPES[tag(message)]) == message


def test_quantities_keep_every_digit() -> None:
    data = encode(METERED_ELECTRICITY)
    # Trailing zeros are kept: 40117.300 stays 40117.300, not 40117.3.
    assert b'start-state="40117.300"' in data and b'consumption="3851.120"' in data
    decoded = decode_as(data, MeteredElectricity)
    register = decoded.readings[0].registers[1]
    assert str(register.start_state_kwh) == "40117.300"
    assert register.end_state_kwh - register.start_state_kwh == register.consumption_kwh
    gas = decode_as(golden_bytes("metered-gas.xml"), MeteredGas)
    first = gas.meters[0].days[0]
    assert (first.volume_m3, first.calorific_value_kwh_per_m3, first.energy_kwh) == (
        Decimal("276"), Decimal("10.6649"), Decimal("2943.48"),
    )
    assert str(gas.meters[0].days[2].energy_kwh) == "0.000"


def test_large_and_exponent_decimals_are_written_in_fixed_point() -> None:
    day = METERED_GAS.meters[0].days[0]
    huge = msgspec.structs.replace(day, energy_kwh=Decimal("1E+6"), volume_m3=Decimal("123456789012.000001"))
    meter = msgspec.structs.replace(METERED_GAS.meters[0], days=(huge,))
    data = encode(msgspec.structs.replace(METERED_GAS, meters=(meter,)))
    assert b'sumGas="1000000"' in data and b'reductionConsumption="123456789012.000001"' in data
    assert not re.search(rb'="[^"]*E[+-]?\d', data)
    assert decode_as(data, MeteredGas).meters[0].days[0].volume_m3 == Decimal("123456789012.000001")


def test_decode_as_refuses_another_family() -> None:
    with pytest.raises(OteMalformed, match="switch-request"):
        decode_as(golden_bytes("masterdata-gas.xml"), SwitchRequest)
