"""The invoice PDF's meter-readings block ("Odečty"): per meter and register the states billed, each with
how it was obtained (an estimate says so), the consumption between them, and gas's m³ converted to kWh."""

from __future__ import annotations

from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from gateway.billing.invoices.pdf_tables import FONT_FAMILY, LINE_MM, TABLE_PT, heading, row
from gateway.billing.invoices.texts import czech_date, grouped, plain, price, unit_text
from schemas.billing.billed_readings import BilledReadings, GasVolume
from schemas.billing.invoice import InvoiceDocument

#: Meter, register, from (date, state, kind), to (date, state, kind), consumption: 180 mm.
READING_COLUMNS_MM: Final = (22.0, 10.0, 19.0, 22.0, 20.0, 19.0, 22.0, 20.0, 26.0)
READING_ALIGNS: Final = "CRRLRRLR"
KINDS: Final[dict[str, str]] = {
    "actual": "skutečný", "estimated": "odhad", "customer": "samoodečet", "installation": "montáž",
    "removal": "demontáž",
}
REGISTERS: Final[dict[str, str]] = {"vt": "VT", "nt": "NT", "single": "–"}
#: kWh per m³ on average printed to this many places (a calorific value has 4 in the price files).
AVERAGE_PLACES: Final = 4

assert sum(READING_COLUMNS_MM) == 180.0


def render_readings(pdf: FPDF, document: InvoiceDocument) -> None:
    readings = document.readings
    if readings is None or not (readings.meters or readings.gas or readings.summed):
        return
    heading(pdf, "Odečty")
    meter = "Elektroměr" if document.commodity == "electricity" else "Plynoměr"
    header = [meter, "Tarif", "Stav ke dni", "Stav", "Druh", "Stav ke dni", "Stav", "Druh", "Spotřeba"]
    if readings.meters:
        row(pdf, READING_COLUMNS_MM, READING_ALIGNS, header, bold=True)
    for used in readings.meters:
        consumed = f"{plain(used.consumption)} {unit_text(used.unit)}"
        row(pdf, READING_COLUMNS_MM, READING_ALIGNS, [
            used.meter, REGISTERS[used.register], czech_date(used.date_from), plain(used.state_from),
            KINDS[used.kind_from], czech_date(used.date_to), plain(used.state_to), KINDS[used.kind_to],
            consumed,
        ])
    pdf.set_font(FONT_FAMILY, "", TABLE_PT)
    for sentence in _notes(readings):
        pdf.multi_cell(0, LINE_MM, sentence, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _notes(readings: BilledReadings) -> list[str]:
    notes = []
    if any("estimated" in (used.kind_from, used.kind_to) for used in readings.meters):
        notes.append("Stav označený „odhad“ je odhadnutý; jakmile obdržíme skutečný odečet, spotřebu podle "
                     "něj vyúčtujeme znovu.")
    if any(used.rolled_over for used in readings.meters):
        notes.append("Počítadlo měřidla v období přešlo přes nejvyšší hodnotu; spotřeba to zohledňuje.")
    if readings.summed:
        notes.append(f"Spotřeba sečtena z {readings.summed} odečtů spotřeby bez stavu měřidla.")
    if readings.gas is not None:
        notes.append(gas_sentence(readings.gas))
    return notes


def gas_sentence(gas: GasVolume) -> str:
    """m³ × the conversion factor(s) × the months' calorific values = the kWh billed, and the average."""
    factors = " / ".join(price(factor.normalize()) for factor in gas.conversion_factors)
    word = "přepočtový koeficient" if len(gas.conversion_factors) == 1 else "přepočtové koeficienty"
    text = (f"Přepočet objemu na energii: {plain(gas.m3)} m³ × {word} {factors} × spalné teplo měsíců "
            f"období = {grouped(gas.kwh, 0)} kWh")
    if gas.m3 > 0:
        average = gas.kwh / gas.m3
        text += f" (průměrně {grouped(average, AVERAGE_PLACES)} kWh/m³)"
    return text + "."

