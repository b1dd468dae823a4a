"""The structs the golden files in ``golden/`` decode to, written out by hand (not by the codec)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from schemas.ote import (
    Commodity,
    ElectricityReading,
    Envelope,
    GasDayValue,
    GasMeter,
    GasSegment,
    MasterData,
    MasterDataItem,
    MeteredElectricity,
    MeteredGas,
    NegotiationType,
    OpmRecord,
    OpmRegistration,
    OteMessage,
    Party,
    Reason,
    Register,
    RegisterReading,
    Response,
    SwitchAnswer,
    SwitchRequest,
)

GOLDEN_DIRECTORY = Path(__file__).resolve().parent / "golden"

# Participants: OTE and PRE Distribuce are real (ote-market.md §1.1); the others carry valid check digits.
OTE = Party(ean="8591824000007")
SUPPLIER = Party(ean="8591824556207")
PRE_DISTRIBUCE = Party(ean="8591824003008")
GAS_DSO = Party(ean="8591824008706")
BALANCE_RESPONSIBLE = "8591824006122"
PREVIOUS_SUPPLIER = "8591824012345"
OPM_PRE = "859182400306885078"
OPM_CEZ = "859182400609846929"
OPM_NEW = "859182400123456796"
EIC_REAL = "27ZG300Z0227838S"
EIC_SWITCH = "27ZG600Z0123456X"
EIC_NEW = "27ZG100Z0004501H"
CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))


def envelope(
    message_id: str, code: str, at: dt.datetime, sender: Party = OTE, receiver: Party = SUPPLIER, **extra: str
) -> Envelope:
    return Envelope(
        id=message_id, message_code=code, date_time=at, sender=sender, receiver=receiver,
        dtd_release=extra.get("release", "1"), answer_required=True if extra.get("answer") else None,
    )


RESPONSE_ELECTRICITY = Response(
    envelope=envelope("20250403103741", "812", dt.datetime(2025, 4, 3, 10, 37, 41)),
    commodity=Commodity.electricity,
    reference_id="PRD-2025-000187",
    reasons=(Reason(code="0", type="A01", text="Zpráva úspěšně přijata"),),
)
RESPONSE_GAS = Response(
    envelope=envelope("GR250612000431", "GO8", dt.datetime(2025, 6, 12, 8, 15, 2, tzinfo=CEST), release="3"),
    commodity=Commodity.gas,
    reference_id="PRG-2025-004410",
    reasons=(
        Reason(code="E21", type="A02", text="Neznámé OPM 27ZG600Z0123456X"),
        Reason(code="E07", text="Období dotazu přesahuje 12 měsíců"),
    ),
)
MASTERDATA_ELECTRICITY = MasterData(
    envelope=envelope("MD250501000012", "158", dt.datetime(2025, 5, 1, 6, 0, 12)),
    commodity=Commodity.electricity,
    items=(
        MasterDataItem(
            opm=OPM_PRE, valid_from=dt.date(2025, 5, 1), supplier_ean=SUPPLIER.ean,
            balance_responsible_ean=BALANCE_RESPONSIBLE, contract_negotiation_type=NegotiationType.D,
        ),
        MasterDataItem(
            opm=OPM_CEZ, valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2025, 4, 30),
            supplier_ean=PREVIOUS_SUPPLIER, balance_responsible_ean=PREVIOUS_SUPPLIER,
        ),
    ),
)
MASTERDATA_GAS = MasterData(
    envelope=envelope("GMD25060300077", "G21", dt.datetime(2025, 6, 3, 14, 2, 55, tzinfo=CEST), release="2"),
    commodity=Commodity.gas,
    items=(
        MasterDataItem(
            opm=EIC_REAL, valid_from=dt.date(2025, 7, 1), supplier_ean=SUPPLIER.ean,
            balance_responsible_ean=BALANCE_RESPONSIBLE, contract_negotiation_type=NegotiationType.M,
            rejection_reason="ARE",
        ),
    ),
)
SWITCH_REQUEST_ELECTRICITY = SwitchRequest(
    envelope=envelope(
        "PRD-2025-000187", "150", dt.datetime(2025, 4, 3, 9, 58, 20), SUPPLIER, OTE, answer="y"
    ),
    commodity=Commodity.electricity,
    opm=OPM_PRE, supplier_ean=SUPPLIER.ean, balance_responsible_ean=BALANCE_RESPONSIBLE,
    date_from=dt.date(2025, 5, 1), contract_type="DOD", switch_type="R1",
    contract_negotiation_type=NegotiationType.D,
)
SWITCH_REQUEST_GAS = SwitchRequest(
    envelope=envelope(
        "PRG-2025-004410", "G11", dt.datetime(2025, 6, 2, 9, 41, 7, tzinfo=CEST), SUPPLIER, OTE,
        release="2", answer="y",
    ),
    commodity=Commodity.gas,
    opm=EIC_SWITCH, supplier_ean=SUPPLIER.ean, balance_responsible_ean=BALANCE_RESPONSIBLE,
    date_from=dt.date(2025, 7, 1), date_to=dt.date(2027, 6, 30), contract_type="SS",
    contract_negotiation_type=NegotiationType.P,
)
SWITCH_ANSWER_ELECTRICITY = SwitchAnswer(
    envelope=envelope("MD250404000391", "151", dt.datetime(2025, 4, 4, 10, 15)),
    commodity=Commodity.electricity,
    reference_id="PRD-2025-000187", opm=OPM_PRE, accepted=True, date_from=dt.date(2025, 5, 1),
    previous_supplier_ean=PREVIOUS_SUPPLIER,
)
SWITCH_ANSWER_GAS = SwitchAnswer(
    envelope=envelope("GMD25061600102", "G12", dt.datetime(2025, 6, 16, 10, 0, 3, tzinfo=CEST), release="2"),
    commodity=Commodity.gas,
    reference_id="PRG-2025-004410", opm=EIC_SWITCH, accepted=False, rejection_reason="ARE",
    previous_supplier_ean=PREVIOUS_SUPPLIER,
)
REGISTRATION_ELECTRICITY = OpmRegistration(
    envelope=envelope("RG250402000118", "111", dt.datetime(2025, 4, 2, 16, 20, 44), PRE_DISTRIBUCE, OTE),
    commodity=Commodity.electricity,
    items=(
        OpmRecord(
            opm=OPM_PRE, valid_from=dt.date(2025, 4, 15), dso_ean=PRE_DISTRIBUCE.ean, metering_type="C3",
            consumption_category="D", distribution_rate="D02d",
        ),
        OpmRecord(
            opm=OPM_NEW, valid_from=dt.date(2025, 4, 15), dso_ean=PRE_DISTRIBUCE.ean, metering_type="C1",
            distribution_rate="C25d",
        ),
    ),
)
REGISTRATION_GAS = OpmRegistration(
    envelope=envelope(
        "RGG2505200031", "G01", dt.datetime(2025, 5, 20, 11, 4, 19, tzinfo=CEST), GAS_DSO, OTE, release="2"
    ),
    commodity=Commodity.gas,
    items=(
        OpmRecord(
            opm=EIC_NEW, valid_from=dt.date(2025, 6, 1), dso_ean=GAS_DSO.ean, metering_type="C", grp="DOM"
        ),
    ),
)
METERED_ELECTRICITY = MeteredElectricity(
    envelope=envelope("DT250502000914", "521", dt.datetime(2025, 5, 2, 3, 12, 9)),
    readings=(
        ElectricityReading(
            opm=OPM_PRE, meter_id="20104587", date_from=dt.date(2024, 5, 1), date_to=dt.date(2025, 4, 30),
            reading_type="1", reading_reason="SW",
            registers=(
                RegisterReading(
                    register=Register.VT, start_state_kwh=Decimal("18234.512"),
                    end_state_kwh=Decimal("19805.007"), consumption_kwh=Decimal("1570.495"),
                ),
                RegisterReading(
                    register=Register.NT, start_state_kwh=Decimal("40117.300"),
                    end_state_kwh=Decimal("43968.420"), consumption_kwh=Decimal("3851.120"),
                ),
            ),
        ),
        ElectricityReading(
            opm=OPM_CEZ, meter_id="CZ-7731206", date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 4, 30),
            reading_type="2",
            registers=(
                RegisterReading(
                    register=Register.VT, start_state_kwh=Decimal("5021"), end_state_kwh=Decimal("5923"),
                    consumption_kwh=Decimal("902"),
                ),
            ),
        ),
    ),
)


def _gas_day(day: int, volume_m3: str, calorific: str, energy_kwh: str) -> GasDayValue:
    return GasDayValue(
        gas_day=dt.datetime(2025, 1, day, 6, tzinfo=CET), volume_m3=Decimal(volume_m3),
        calorific_value_kwh_per_m3=Decimal(calorific), energy_kwh=Decimal(energy_kwh),
    )


METERED_GAS = MeteredGas(
    envelope=envelope("GP6250104000212", "GP6", dt.datetime(2025, 1, 4, 5, 40, 31, tzinfo=CET), release="4"),
    pof_id="2025000187331", version=1, period_from=dt.date(2025, 1, 1), period_to=dt.date(2025, 1, 3),
    segment=GasSegment.INV, number="7100043318", opm=EIC_REAL,
    meters=(
        GasMeter(
            meter_id="GM-0042817", date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 1, 3),
            days=(
                # The values of the real GP6 sample in ote-market.md §7 (276 m³, 10.6649 kWh/m³, 2943.48 kWh).
                _gas_day(1, "276", "10.6649", "2943.48"),
                _gas_day(2, "301.25", "10.6712", "3214.699"),
                _gas_day(3, "0.000", "10.6590", "0.000"),
            ),
        ),
    ),
)

#: Golden file → the struct it decodes to.
GOLDEN: dict[str, OteMessage] = {
    "response-electricity.xml": RESPONSE_ELECTRICITY,
    "response-gas-sap.xml": RESPONSE_GAS,
    "masterdata-electricity.xml": MASTERDATA_ELECTRICITY,
    "masterdata-gas.xml": MASTERDATA_GAS,
    "switch-request-electricity.xml": SWITCH_REQUEST_ELECTRICITY,
    "switch-request-gas.xml": SWITCH_REQUEST_GAS,
    "switch-answer-electricity.xml": SWITCH_ANSWER_ELECTRICITY,
    "switch-answer-gas.xml": SWITCH_ANSWER_GAS,
    "opm-registration-electricity.xml": REGISTRATION_ELECTRICITY,
    "opm-registration-gas.xml": REGISTRATION_GAS,
    "metered-electricity.xml": METERED_ELECTRICITY,
    "metered-gas.xml": METERED_GAS,
}


def golden_bytes(name: str) -> bytes:
    return (GOLDEN_DIRECTORY / name).read_bytes()
