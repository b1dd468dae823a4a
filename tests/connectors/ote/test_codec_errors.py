"""Decoding errors name the element path and the value; outbound messages that break their XSD or a rule
of the model are refused naming the XSD, the line and the first violation."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from connectors.ote.codec import OteInvalidOutbound, OteMalformed, decode, encode
from tests.connectors.ote.expected import (
    MASTERDATA_GAS,
    METERED_GAS,
    REGISTRATION_ELECTRICITY,
    SWITCH_REQUEST_ELECTRICITY,
    golden_bytes,
)


def broken(name: str, old: str, new: str) -> bytes:
    data = golden_bytes(name)
    assert old.encode() in data, old
    return data.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("masterdata-electricity.xml", 'opm="859182400306885078"', 'opm="859182400306885079"',
         "/CDSMASTERDATA/Data[1]/@opm: '859182400306885079' fails the check digit"),
        ("masterdata-gas.xml", 'opm="27ZG300Z0227838S"', 'opm="27ZG300Z0227838T"',
         "/CDSGASMASTERDATA/Data[1]/@opm: '27ZG300Z0227838T'"),
        ("masterdata-gas.xml", 'contract-negotiation-type="M"', 'contract-negotiation-type="X"',
         "/CDSGASMASTERDATA/Data[1]/@contract-negotiation-type: 'X' is invalid"),
        ("metered-electricity.xml", 'consumption="1570.495"', 'consumption="1.5e3"',
         "/CDSDATA/Reading[1]/Register[1]/@consumption: '1.5e3' is not a decimal number"),
        ("metered-gas.xml", 'sumGas="2943.48"', 'sumGas="NaN"',
         "/CDSGASPOF/invoice/body/meters/meter[1]/c[1]/@sumGas: 'NaN' is not a decimal"),
        ("metered-gas.xml", 'gasDay="2025-01-02T06:00:00+01:00"', 'gasDay="2.1.2025"',
         "/CDSGASPOF/invoice/body/meters/meter[1]/c[2]/@gasDay: '2.1.2025' is invalid"),
        ("metered-electricity.xml", 'code="NT"', 'code="XT"', "/CDSDATA/Reading[1]/Register[2]/@code: 'XT'"),
        ("switch-answer-gas.xml", 'accepted="false"', 'accepted="no"',
         "/CDSGASMASTERDATA/SwitchResult/@accepted: 'no' is not an xs:boolean"),
        ("switch-request-gas.xml", ' supplier="8591824556207"', "",
         "/CDSGASMASTERDATA/SwitchRequest/@supplier: is missing"),
        ("response-electricity.xml", 'coding-scheme="14" id="8591824000007"',
         'coding-scheme="9" id="8591824000007"',
         "/RESPONSE/SenderIdentification/@coding-scheme: '9' is not 14"),
        ("response-electricity.xml", 'id="8591824556207"', 'id="8591824556208"',
         "/RESPONSE/ReceiverIdentification/@id: '8591824556208' fails the check digit"),
        ("response-electricity.xml", 'date-time="2025-04-03T10:37:41"', 'date-time="yesterday"',
         "/RESPONSE/@date-time: 'yesterday' is invalid"),
        ("opm-registration-electricity.xml", 'message-code="111"', 'message-code="112"',
         "/CDSMASTERDATA/@message-code: '112' is not 111"),
        ("opm-registration-electricity.xml", ' distribution-rate="C25d"', "",
         "/CDSMASTERDATA/OPM[2]: has neither consumption-category nor distribution-rate"),
        ("metered-gas.xml", "<subjects opm=\"27ZG300Z0227838S\"/>", "",
         "/CDSGASPOF/invoice/head/subjects: is missing"),
        ("response-electricity.xml", '<Reference id="PRD-2025-000187"/>',
         '<Reference id="A"/><Reference id="B"/>', "/RESPONSE/Reference: occurs 2 times; expected once"),
        ("masterdata-gas.xml", "<CDSGASMASTERDATA ", "<CDSGASMASTERDATA2 ",
         "is not well-formed XML"),
    ],
)
def test_decoding_error_names_path_and_value(name: str, old: str, new: str, expected: str) -> None:
    with pytest.raises(OteMalformed) as caught:
        decode(broken(name, old, new))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_root_is_named() -> None:
    with pytest.raises(OteMalformed, match=r"/CDSINVOICE: is not an OTE root we read"):
        decode(b'<CDSINVOICE xmlns="http://www.ote-cr.cz/schema/cds/data"/>')


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(OteMalformed) as caught:
        decode(broken("response-electricity.xml", 'message-code="812"', f'message-code="{"9" * 500}"'))
    assert "(500 characters)" in str(caught.value) and "9" * 100 not in str(caught.value)


def test_outbound_xsd_violation_names_the_xsd_line_and_violation() -> None:
    # Struct constructors do not check Meta constraints: a bad value reaches the XSD, which must stop it.
    item = msgspec.structs.replace(MASTERDATA_GAS.items[0], rejection_reason="TOO-LONG")
    message = msgspec.structs.replace(MASTERDATA_GAS, items=(item,))
    with pytest.raises(OteInvalidOutbound) as caught:
        encode(message)
    text = str(caught.value)
    assert "schemas/ote/masterdata.xsd at line 5" in text
    assert "rejection-reason" in text and "TOO-LONG" in text


def test_outbound_gas_attribute_on_electricity_registration_breaks_the_xsd() -> None:
    item = msgspec.structs.replace(REGISTRATION_ELECTRICITY.items[0], grp="DOM")
    with pytest.raises(OteInvalidOutbound, match=r"registration.xsd at line 5: .*'grp' is not allowed"):
        encode(msgspec.structs.replace(REGISTRATION_ELECTRICITY, items=(item,)))


def test_outbound_check_digit_is_checked_although_the_xsd_cannot() -> None:
    message = msgspec.structs.replace(SWITCH_REQUEST_ELECTRICITY, opm="859182400306885079")
    expected = r"outbound /CDSMASTERDATA/SwitchRequest/@opm: fails the check"
    with pytest.raises(OteInvalidOutbound, match=expected):
        encode(message)


def test_outbound_registration_without_category_or_rate_is_refused() -> None:
    item = msgspec.structs.replace(
        REGISTRATION_ELECTRICITY.items[0], consumption_category=None, distribution_rate=None
    )
    with pytest.raises(OteInvalidOutbound, match="neither consumption-category nor distribution-rate"):
        encode(msgspec.structs.replace(REGISTRATION_ELECTRICITY, items=(item,)))


def test_outbound_nan_is_refused() -> None:
    day = msgspec.structs.replace(METERED_GAS.meters[0].days[0], energy_kwh=Decimal("NaN"))
    meter = msgspec.structs.replace(METERED_GAS.meters[0], days=(day,))
    with pytest.raises(OteInvalidOutbound, match=r"metered.xsd at line \d+: .*sumGas"):
        encode(msgspec.structs.replace(METERED_GAS, meters=(meter,)))
