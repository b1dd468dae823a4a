"""Metered data: electricity register readings (CDSDATA) and gas daily values (CDSGASPOF, GP6).

Electricity: root ``CDSDATA`` [C, §4]; the reading layout is our working model [I, §7: the likely content of
a C3 reading record; the authoritative field list is 408/2015 Sb. Příloha 20]. Gas: ``CDSGASPOF`` message
``GP6`` [C], with the head and the daily ``gasDay`` values as a real parser reads them [C, §4]; the names of
the meter and day elements are not known and are ours [I]. Quantities are exact decimals as sent; turning m³
into kWh is not the codec's business.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from schemas.ote.common import OpmId, OteMessage, OteStruct, ShortCode

MeterId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9/._-]{1,32}$")]
#: [I] A DSO document id (``pofId``, ``number``); bounded like a message id.
DocumentId = Annotated[str, msgspec.Meta(pattern=r"^\S{1,35}$")]
#: [C] ``corReason``: ``01`` error found by the DSO, ``02`` complaint.
CorrectionReason = Annotated[str, msgspec.Meta(pattern=r"^0[12]$")]


class Register(enum.StrEnum):
    """Tariff register of a two-rate meter: VT high tariff, NT low tariff."""

    VT = "VT"
    NT = "NT"


class GasSegment(enum.StrEnum):
    """[C] ``attributes/@segment`` of CDSGASPOF (§4)."""

    INV = "INV"  # regular
    COR = "COR"  # corrective (replaced by corReason from 1.7.2011)
    EXI = "EXI"  # extraordinary
    CAN = "CAN"  # storno
    EOC = "EOC"  # end of contract
    HST = "HST"  # historical


class RegisterReading(OteStruct, frozen=True, kw_only=True):
    """[I] One register of a reading: meter states at both ends and the consumption between, in kWh."""

    register: Register
    start_state_kwh: Decimal
    end_state_kwh: Decimal
    consumption_kwh: Decimal


class ElectricityReading(OteStruct, frozen=True, kw_only=True):
    """[I] One meter's reading for a period: one entry per register."""

    opm: OpmId
    meter_id: MeterId
    date_from: dt.date
    date_to: dt.date
    #: [I] real / estimated / self-reading; the code list is not public.
    reading_type: ShortCode
    #: [I] periodic, switch, final, meter change, tariff change; the code list is not public.
    reading_reason: ShortCode | None = None
    registers: tuple[RegisterReading, ...]


class MeteredElectricity(OteMessage, frozen=True, kw_only=True, tag="metered-electricity"):
    """[C] CDSDATA with [I] ``Reading`` elements."""

    readings: tuple[ElectricityReading, ...]


class GasDayValue(OteStruct, frozen=True, kw_only=True):
    """[C] One gas day: volume, calorific value and energy as the DSO sends them."""

    #: [C] ``gasDay``, e.g. ``2018-01-01T06:00:00+01:00`` (a gas day starts at 06:00).
    gas_day: dt.datetime
    #: [C] ``reductionConsumption``: the volume in m³.
    volume_m3: Decimal
    #: [C] ``flueGasHeat``: the gross calorific value (spalné teplo) in kWh/m³.
    calorific_value_kwh_per_m3: Decimal
    #: [C] ``sumGas``: the energy in kWh.
    energy_kwh: Decimal


class GasMeter(OteStruct, frozen=True, kw_only=True):
    """[C] A meter of the GP6 body with its daily values; [I] the element name ``meter``."""

    meter_id: MeterId | None = None
    date_from: dt.date
    date_to: dt.date
    #: [I] ``factor``: the volume conversion factor (objemový přepočítací koeficient: pressure and
    #: temperature at the meter's location) when the DSO sends it; GP6's C-metering part has a ``factor`` [C].
    #: When absent, the readings service derives it from the days' energy (ote-market.md §7).
    conversion_factor: Decimal | None = None
    days: tuple[GasDayValue, ...]


class MeteredGas(OteMessage, frozen=True, kw_only=True, tag="metered-gas"):
    """[C] CDSGASPOF: the DSO's distribution invoice basis for one OPM."""

    #: [C] ``head/@pofId``.
    pof_id: DocumentId
    #: [C] ``head/@version``.
    version: Annotated[int, msgspec.Meta(ge=0)]
    period_from: dt.date
    period_to: dt.date
    segment: GasSegment
    #: [C] ``attributes/@number``: the DSO's document number.
    number: DocumentId
    correction_reason: CorrectionReason | None = None
    #: [C] ``subjects/@opm``: the gas OPM's EIC.
    opm: OpmId
    meters: tuple[GasMeter, ...]
