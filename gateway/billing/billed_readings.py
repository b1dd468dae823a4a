"""The meter readings a bill used, from its inputs: what the invoice's "odečty" block prints
(``schemas.billing.billed_readings``). Pure; run once per bill, so it only copies what the consumption
computation found (each register's spans) and adds the gas conversion the quote request was given."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from gateway.billing.bill_inputs import GAS_CONVERSION_FACTOR_DEFAULT, BillInputs
from schemas.billing.billed_readings import BilledReadings, GasVolume, MeterReadingUsed
from schemas.billing.readings import RegisterConsumption
from schemas.billing.settlement import QuoteRequest

_ZERO: Final = Decimal(0)
#: The order an invoice lists registers in: the high tariff first, as the price lines do.
REGISTER_ORDER: Final = {"vt": 0, "nt": 1, "single": 2}


def billed_readings(inputs: BillInputs, request: QuoteRequest) -> BilledReadings:
    """Each register's meter spans (``REGISTER_ORDER``, each register's meters in time order), the
    count of summed readings, and for gas the m³ and the kWh the request bills them as."""
    meters: list[MeterReadingUsed] = []
    summed = 0
    for register in sorted(inputs.consumption.registers, key=_printed_order):
        summed += len(register.summed_readings)
        for span in register.spans:
            start, end = span.start, span.end
            meters.append(MeterReadingUsed(
                meter=span.meter, register=register.register, date_from=start.date, state_from=start.state,
                kind_from=start.kind, date_to=end.date, state_to=end.state, kind_to=end.kind,
                consumption=span.consumption, unit=register.unit, rolled_over=span.rolled_over,
            ))
    gas = None
    if request.commodity == "gas":
        assert request.consumption is not None and request.consumption.kwh is not None
        m3 = sum((register.consumption for register in inputs.consumption.registers), _ZERO)
        factors: list[Decimal] = []
        for version in inputs.technical or ((inputs.opm.technical,) if inputs.opm.technical else ()):
            factor = version.gas_conversion_factor or GAS_CONVERSION_FACTOR_DEFAULT
            if not factors or factors[-1] != factor:
                factors.append(factor)
        gas = GasVolume(m3=m3, kwh=request.consumption.kwh,
                        conversion_factors=tuple(factors or (GAS_CONVERSION_FACTOR_DEFAULT,)))
    return BilledReadings(meters=tuple(meters), gas=gas, summed=summed)


def _printed_order(register: RegisterConsumption) -> int:
    return REGISTER_ORDER[register.register]
