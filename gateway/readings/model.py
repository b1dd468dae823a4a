"""Readings as they arrive, before the store decides new, duplicate or correction: ``Incoming``.

Built from the codec's structs (``from_electricity``, ``from_gas``) on the consumer path, or directly from
XML by ``gateway.readings.bulk_decode`` on the batch path; both give equal values for equal XML.

Electricity [I]: a reading with one register coded VT is a single-rate meter's (its register holds the
whole consumption), stored as ``single``; VT and NT are a two-rate meter's. Gas: one reading per meter and
gas day (the day's values are one register ``single`` with volume, factor, calorific value and our kWh).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Final, Literal

import msgspec

from gateway.errors import MalformedMessage
from gateway.readings import codes, gas
from gateway.readings.tables import FINGERPRINT_BYTES, METER_UNKNOWN
from schemas.ote.metered import ElectricityReading, GasMeter, GasSegment, MeteredElectricity, MeteredGas
from schemas.readings import ReadingKind, ReadingReason, Register, RegisterValue

Commodity = Literal["electricity", "gas"]

#: Registers a reading may carry at most (VT and NT; a single-rate meter has one).
REGISTERS_PER_READING_MAX: Final = 2
# What ``_canonical`` makes of a register's four gas values when it has none (electricity), ahead.
_NO_GAS_VALUES: Final = "|-|-|-|-;"
#: OTE register code → ours, for a two-rate meter.
_TWO_RATE: Final[dict[str, Register]] = {"VT": "vt", "NT": "nt"}
#: [I] The one register of a single-rate meter comes coded VT (the golden message's second reading).
_SINGLE_RATE_CODE: Final = "VT"


class GasDocument(msgspec.Struct, frozen=True):
    """The GP6 document a gas reading came in: corrections are decided by it (ote-market.md §4)."""

    pof_id: str
    version: int
    segment: str
    correction_reason: str | None = None

    @property
    def corrective(self) -> bool:
        """Segment COR or a ``corReason``: the document corrects an earlier one [C, §4]."""
        return self.segment == GasSegment.COR.value or self.correction_reason is not None


class Incoming(msgspec.Struct, frozen=True, kw_only=True):
    """One meter's reading for a period, with its values, its source and what the store needs to file it.

    A msgspec struct, not a frozen dataclass: it is built once per reading at bulk rates, and a frozen
    dataclass of this size takes ten times as long to construct."""

    opm: str
    commodity: Commodity
    meter_id: str  # METER_UNKNOWN when the message names none
    date_from: dt.date
    date_to: dt.date
    reason: ReadingReason
    kind: ReadingKind
    registers: tuple[RegisterValue, ...]
    #: Per register: the DSO's energy (gas ``sumGas``) and a plausibility note, or None.
    dso_energy_kwh: tuple[Decimal | None, ...]
    notes: tuple[str | None, ...]
    fingerprint: bytes
    ote_message_id: str | None = None
    archive_id: int | None = None
    document: GasDocument | None = None

    @property
    def key(self) -> tuple[str, str, dt.date, dt.date]:
        """Meter and period: the readings with one key replace each other."""
        return (self.opm, self.meter_id, self.date_from, self.date_to)


def _canonical(value: Decimal | None) -> str:
    # Equal quantities give equal text whatever their scale (902 and 902.000 both give 902): normalize()
    # strips trailing zeros, and its text is the same for equal values.
    return "-" if value is None else str(value.normalize())


def fingerprint(registers: tuple[RegisterValue, ...], dso_energy_kwh: tuple[Decimal | None, ...]) -> bytes:
    """A digest of the register values (and the DSO's energy, which ours is derived from): equal for "the
    same values again", whatever the order of the registers or the scale of the numbers."""
    pairs = list(zip(registers, dso_energy_kwh, strict=True))
    if len(pairs) > 1 and pairs[0][0].register > pairs[1][0].register:
        pairs.reverse()  # one order for both, whichever the message had (at most two registers)
    assert len(pairs) <= REGISTERS_PER_READING_MAX
    c = _canonical
    text = "".join(
        f"{value.register}|{c(value.start_state)}|{c(value.end_state)}|{c(value.consumption_kwh)}"
        + (
            _NO_GAS_VALUES if value.volume_m3 is None and value.conversion_factor is None
            and value.calorific_value_kwh_per_m3 is None and dso_kwh is None
            else f"|{c(value.volume_m3)}|{c(value.conversion_factor)}|{c(value.calorific_value_kwh_per_m3)}"
            f"|{c(dso_kwh)};"
        )
        for value, dso_kwh in pairs
    )
    return hashlib.blake2b(text.encode(), digest_size=FINGERPRINT_BYTES).digest()


def consumption_note(start: Decimal, end: Decimal, consumption: Decimal) -> str | None:
    """A note when the consumption is not end − start (a meter constant, a roll-over, a DSO error)."""
    if end - start == consumption:
        return None
    return f"consumption {consumption} kWh is not end − start = {end - start} kWh"


def electricity_registers(codes_and_values: list[tuple[str, Decimal, Decimal, Decimal]], where: str) -> tuple[
    tuple[RegisterValue, ...], tuple[str | None, ...]
]:
    """(OTE code VT or NT, start, end, consumption) per register → our registers and their notes."""
    count = len(codes_and_values)
    if count == 1:
        code, start, end, used = codes_and_values[0]
        register = "single" if code == _SINGLE_RATE_CODE else _TWO_RATE[code]
        value = RegisterValue(register=register, start_state=start, end_state=end, consumption_kwh=used)
        return (value,), (consumption_note(start, end, used),)
    if count != REGISTERS_PER_READING_MAX or codes_and_values[0][0] == codes_and_values[1][0]:
        shown = ", ".join(code for code, *_ in codes_and_values)
        raise MalformedMessage(f"{where}: registers {shown} are not VT, VT and NT, or NT and VT")
    registers = tuple(
        RegisterValue(register=_TWO_RATE[code], start_state=start, end_state=end, consumption_kwh=used)
        for code, start, end, used in codes_and_values
    )
    notes = tuple(consumption_note(start, end, used) for _, start, end, used in codes_and_values)
    return registers, notes


def from_electricity(message: MeteredElectricity, *, archive_id: int | None = None) -> list[Incoming]:
    return [
        _electricity(reading, f"/CDSDATA/Reading[{index}]", message.envelope.id, archive_id)
        for index, reading in enumerate(message.readings, 1)
    ]


def _electricity(
    reading: ElectricityReading, where: str, message_id: str, archive_id: int | None
) -> Incoming:
    sent = [
        (
            value.register.value, gas.checked(value.start_state_kwh, where),
            gas.checked(value.end_state_kwh, where), gas.checked(value.consumption_kwh, where),
        )
        for value in reading.registers
    ]
    return electricity_reading(
        reading.opm, reading.meter_id, (reading.date_from, reading.date_to),
        (reading.reading_type, reading.reading_reason), sent, where, message_id, archive_id,
    )


def electricity_reading(
    opm: str, meter_id: str, period: tuple[dt.date, dt.date], codes_sent: tuple[str, str | None],
    registers_sent: list[tuple[str, Decimal, Decimal, Decimal]], where: str, message_id: str,
    archive_id: int | None,
) -> Incoming:
    """One CDSDATA reading as read (by the codec or ``bulk_decode``, which have bounded the quantities with
    ``gas.checked``): codes mapped, registers checked."""
    registers, notes = electricity_registers(registers_sent, where)
    reading_type, reading_reason = codes_sent
    return Incoming(
        opm=opm, commodity="electricity", meter_id=meter_id, date_from=period[0], date_to=period[1],
        reason=codes.reason_of(reading_reason, where), kind=codes.kind_of(reading_type, where),
        registers=registers, dso_energy_kwh=(None,) * len(registers), notes=notes,
        fingerprint=fingerprint(registers, (None,) * len(registers)), ote_message_id=message_id,
        archive_id=archive_id,
    )


def from_gas(message: MeteredGas, *, archive_id: int | None = None) -> list[Incoming]:
    """One reading per meter and gas day; the segment's reason goes to the day that ends the document."""
    where = "/CDSGASPOF/invoice/head/attributes"
    segment_reason = codes.gas_reason_of(message.segment, where)
    document = GasDocument(message.pof_id, message.version, message.segment.value, message.correction_reason)
    found: list[Incoming] = []
    for index, meter in enumerate(message.meters, 1):
        path = f"/CDSGASPOF/invoice/body/meters/meter[{index}]"
        found.extend(_gas_meter(message, meter, path, document, segment_reason, archive_id))
    return found


def _gas_meter(
    message: MeteredGas, meter: GasMeter, where: str, document: GasDocument, segment_reason: ReadingReason,
    archive_id: int | None,
) -> list[Incoming]:
    days = [
        (gas.checked(day.volume_m3, where), gas.checked(day.calorific_value_kwh_per_m3, where),
         gas.checked(day.energy_kwh, where))
        for day in meter.days
    ]
    factor = meter.conversion_factor
    factor = gas.derived_factor(days) if factor is None else gas.checked(factor, where)
    found = []
    for day, (volume, calorific, dso_kwh) in zip(meter.days, days, strict=True):
        ours = Decimal(0) if factor is None else gas.energy_kwh(volume, factor, calorific)
        register = RegisterValue(
            register="single", consumption_kwh=ours, volume_m3=volume, conversion_factor=factor,
            calorific_value_kwh_per_m3=calorific,
        )
        date = day.gas_day.date()
        found.append(Incoming(
            opm=message.opm, commodity="gas", meter_id=meter.meter_id or METER_UNKNOWN,
            date_from=date, date_to=date,
            reason=segment_reason if date == message.period_to else "periodic", kind=codes.GAS_DAY_KIND,
            registers=(register,), dso_energy_kwh=(dso_kwh,), notes=(gas.energy_note(ours, dso_kwh),),
            fingerprint=fingerprint((register,), (dso_kwh,)), ote_message_id=message.envelope.id,
            archive_id=archive_id,
            document=document,
        ))
    return found
