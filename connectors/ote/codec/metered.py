"""CDSDATA ↔ ``MeteredElectricity`` (register readings) and CDSGASPOF ↔ ``MeteredGas`` (GP6 gas days).

Quantities stay exactly as sent (``Decimal`` from the attribute's text, written back in fixed-point), so a
reading round-trips digit for digit; converting m³ to kWh belongs to the readings service
(``gateway.readings``), not to the codec.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from lxml import etree

from connectors.ote.codec.common import Node, add, read_envelope, start
from schemas.ote.common import Commodity, ShortCode
from schemas.ote.metered import (
    CorrectionReason,
    DocumentId,
    ElectricityReading,
    GasDayValue,
    GasMeter,
    GasSegment,
    MeteredElectricity,
    MeteredGas,
    MeterId,
    Register,
    RegisterReading,
)

XSD_METERED: Final = "metered.xsd"
ROOT_ELECTRICITY: Final = "CDSDATA"
ROOT_GAS: Final = "CDSGASPOF"


def read_metered_electricity(root: Node) -> MeteredElectricity:
    readings = tuple(_read_reading(node) for node in root.some("Reading"))
    return MeteredElectricity(envelope=read_envelope(root), readings=readings)


def _read_reading(node: Node) -> ElectricityReading:
    return ElectricityReading(
        opm=node.opm("opm", Commodity.electricity),
        meter_id=node.get("meter-id", MeterId),
        date_from=node.get("date-from", dt.date),
        date_to=node.get("date-to", dt.date),
        reading_type=node.get("reading-type", ShortCode),
        reading_reason=node.optional("reading-reason", ShortCode),
        registers=tuple(_read_register(register) for register in node.some("Register")),
    )


def _read_register(node: Node) -> RegisterReading:
    return RegisterReading(
        register=node.get("code", Register),
        start_state_kwh=node.decimal("start-state"),
        end_state_kwh=node.decimal("end-state"),
        consumption_kwh=node.decimal("consumption"),
    )


def build_metered_electricity(message: MeteredElectricity) -> etree._Element:
    root = start(ROOT_ELECTRICITY, message.envelope)
    for reading in message.readings:
        element = add(root, "Reading", {
            "opm": reading.opm,
            "meter-id": reading.meter_id,
            "date-from": reading.date_from,
            "date-to": reading.date_to,
            "reading-type": reading.reading_type,
            "reading-reason": reading.reading_reason,
        })
        for register in reading.registers:
            add(element, "Register", {
                "code": register.register,
                "start-state": register.start_state_kwh,
                "end-state": register.end_state_kwh,
                "consumption": register.consumption_kwh,
            })
    return root


def read_metered_gas(root: Node) -> MeteredGas:
    invoice = root.only("invoice")
    head = invoice.only("head")
    attributes = head.only("attributes")
    meters = invoice.only("body").only("meters").some("meter")
    return MeteredGas(
        envelope=read_envelope(root),
        pof_id=head.get("pofId", DocumentId),
        version=head.get("version", int),
        period_from=head.get("periodFrom", dt.date),
        period_to=head.get("periodTo", dt.date),
        segment=attributes.get("segment", GasSegment),
        number=attributes.get("number", DocumentId),
        correction_reason=attributes.optional("corReason", CorrectionReason),
        opm=head.only("subjects").opm("opm", Commodity.gas),
        meters=tuple(_read_gas_meter(meter) for meter in meters),
    )


def _read_gas_meter(node: Node) -> GasMeter:
    return GasMeter(
        meter_id=node.optional("meterId", MeterId),
        date_from=node.get("from", dt.date),
        date_to=node.get("to", dt.date),
        conversion_factor=None if node.raw("factor") in (None, "") else node.decimal("factor"),
        days=tuple(_read_gas_day(day) for day in node.some("c")),
    )


def _read_gas_day(node: Node) -> GasDayValue:
    return GasDayValue(
        gas_day=node.get("gasDay", dt.datetime),
        volume_m3=node.decimal("reductionConsumption"),
        calorific_value_kwh_per_m3=node.decimal("flueGasHeat"),
        energy_kwh=node.decimal("sumGas"),
    )


def build_metered_gas(message: MeteredGas) -> etree._Element:
    root = start(ROOT_GAS, message.envelope)
    invoice = add(root, "invoice", {})
    head = add(invoice, "head", {
        "pofId": message.pof_id,
        "version": message.version,
        "periodFrom": message.period_from,
        "periodTo": message.period_to,
    })
    add(head, "attributes", {
        "segment": message.segment, "number": message.number, "corReason": message.correction_reason,
    })
    add(head, "subjects", {"opm": message.opm})
    meters = add(add(invoice, "body", {}), "meters", {})
    for meter in message.meters:
        element = add(meters, "meter", {
            "meterId": meter.meter_id, "from": meter.date_from, "to": meter.date_to,
            "factor": meter.conversion_factor,
        })
        for day in meter.days:
            add(element, "c", {
                "gasDay": day.gas_day,
                "reductionConsumption": day.volume_m3,
                "flueGasHeat": day.calorific_value_kwh_per_m3,
                "sumGas": day.energy_kwh,
            })
    return root
