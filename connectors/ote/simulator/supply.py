"""Supply at an OPM apart from switching: notices from suppliers (END, CUS, and OBJ/CAN passed on to
``switching``), the supplier of last resort, and periodic metered data.

A master-data notice is all or nothing: every item is checked first, and only when all pass are they applied
and confirmed; otherwise the negative RESPONSE names the first item that failed (``codes.NOTICE_*``).

- END (end of supply, move-out or notice): confirmed at once with MasterData END ``valid_to``; at the start
  of the day after ``valid_to`` the supplier gets its final reading and the OPM has no supplier.
- CUS (přepis, change of customer): confirmed at once; at the start of ``valid_from`` the supplier gets a
  reading up to the day before (reason ``MV``). The supplier stays.
- A failing supplier: each of its OPMs goes to the supplier of last resort from the next day, announced now
  with MasterData DPI; on that day the last-resort supplier gets the opening reading.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict

from connectors.ote.simulator import codes, metering
from connectors.ote.simulator.context import Context
from connectors.ote.simulator.registry import Opm
from connectors.ote.simulator.switching import Apply, Refusal, Switching
from gateway.errors import Conflict, InvalidField
from schemas.ote import Commodity, ElectricityReading, GasSegment, MasterData, MasterDataItem
from schemas.ote.common import (
    CHANGE_REASON_CANCEL,
    CHANGE_REASON_CUSTOMER,
    CHANGE_REASON_END,
    CHANGE_REASON_LAST_RESORT,
    CHANGE_REASON_OBJECTION,
)


class Supply:
    def __init__(self, context: Context, switching: Switching) -> None:
        self._context = context
        self._switching = switching

    def notice(self, message: MasterData, sender: str, now: dt.datetime) -> Refusal | None:
        """Checks every item of ``message``, then applies them all; the first refusal otherwise."""
        applies: list[Apply] = []
        for index, item in enumerate(message.items):
            outcome = self._check(item, sender, now)
            if isinstance(outcome, tuple):
                code, text = outcome
                return code, f"Data[{index + 1}] ({item.change_reason}, {item.opm}): {text}"
            applies.append(outcome)
        for apply in applies:
            apply()
        return None

    def _check(self, item: MasterDataItem, sender: str, now: dt.datetime) -> Refusal | Apply:
        reason = item.change_reason
        if reason == CHANGE_REASON_OBJECTION:
            return self._switching.objection(item, sender, now)
        if reason == CHANGE_REASON_CANCEL:
            return self._switching.cancel(item, sender, now)
        if reason not in (CHANGE_REASON_END, CHANGE_REASON_CUSTOMER):
            return codes.NOTICE_CHANGE_REASON, "CS OTE takes END, CUS, OBJ and CAN from a supplier"
        opm = self._context.registry.opms.get(item.opm)
        if opm is None:
            return codes.NOTICE_UNKNOWN_OPM, "is not a known OPM"
        if opm.supplier_ean != sender:
            return codes.NOTICE_NOT_SUPPLIER, f"is not supplied by {sender}"
        today = self._context.today(now)
        if reason == CHANGE_REASON_END:
            if item.valid_to is None or item.valid_to < today:
                return codes.NOTICE_DATE, f"needs valid_to today ({today}) or later, got {item.valid_to}"
            return functools.partial(self._end, opm, sender, item, now)
        if item.valid_from < today:
            return codes.NOTICE_DATE, f"needs valid_from today ({today}) or later, got {item.valid_from}"
        return functools.partial(self._customer_change, opm, sender, item, now)

    # --- end of supply ---------------------------------------------------------------------------------

    def _end(self, opm: Opm, sender: str, item: MasterDataItem, now: dt.datetime) -> None:
        assert item.valid_to is not None
        confirmation = MasterDataItem(
            opm=opm.code, valid_from=item.valid_from, valid_to=item.valid_to, supplier_ean=sender,
            change_reason=CHANGE_REASON_END,
        )
        self._context.masterdata(sender, opm.commodity, [confirmation], now, note="end of supply confirmed")
        day_after = item.valid_to + dt.timedelta(days=1)
        step = functools.partial(self._supply_ends, opm, sender, item.valid_to)
        self._context.scheduler.at(self._context.midnight(day_after), f"supply of {opm.code} ends", step)

    def _supply_ends(self, opm: Opm, supplier: str, last: dt.date, now: dt.datetime) -> None:
        if opm.supplier_ean != supplier:
            return  # a switch took the OPM over on the same day: its closing reading went out already
        self._context.closing_reading(opm, supplier, last, now, reason=codes.READING_REASON_FINAL)
        opm.supplier_ean = opm.balance_responsible_ean = None

    # --- change of customer (přepis) -------------------------------------------------------------------

    def _customer_change(self, opm: Opm, sender: str, item: MasterDataItem, now: dt.datetime) -> None:
        confirmation = MasterDataItem(
            opm=opm.code, valid_from=item.valid_from, supplier_ean=sender,
            change_reason=CHANGE_REASON_CUSTOMER,
        )
        note = "change of customer confirmed"
        self._context.masterdata(sender, opm.commodity, [confirmation], now, note=note)
        step = functools.partial(self._customer_changes, opm, sender, item.valid_from)
        self._context.scheduler.at(
            self._context.midnight(item.valid_from), f"customer of {opm.code} changes", step
        )

    def _customer_changes(self, opm: Opm, supplier: str, day: dt.date, now: dt.datetime) -> None:
        if opm.supplier_ean != supplier:
            return
        last = day - dt.timedelta(days=1)
        if opm.commodity is Commodity.electricity:
            reading = metering.electricity_reading(opm, last, reason=codes.READING_REASON_CUSTOMER)
            self._context.electricity(supplier, [reading], now, note="change-of-customer reading")
        else:
            note = "change-of-customer values"
            self._context.gas(opm, supplier, last, now, segment=GasSegment.INV, note=note)

    # --- supplier of last resort -----------------------------------------------------------------------

    def fail_supplier(self, supplier: str, now: dt.datetime) -> int:
        """Every OPM of ``supplier`` goes to the supplier of last resort from tomorrow; how many OPMs."""
        registry = self._context.registry
        registry.participant(supplier)
        last_resort = registry.last_resort_ean
        if last_resort is None:
            raise Conflict("no supplier of last resort is configured")
        if last_resort == supplier:
            raise Conflict(f"{supplier} is the supplier of last resort itself")
        valid_from = self._context.today(now) + dt.timedelta(days=1)
        items: dict[Commodity, list[MasterDataItem]] = defaultdict(list)
        opms = registry.supplied_by(supplier)
        for opm in opms:
            items[opm.commodity].append(MasterDataItem(
                opm=opm.code, valid_from=valid_from, supplier_ean=last_resort,
                balance_responsible_ean=last_resort, change_reason=CHANGE_REASON_LAST_RESORT,
            ))
            step = functools.partial(self._last_resort_takes_over, opm, supplier, last_resort, valid_from)
            self._context.scheduler.at(
                self._context.midnight(valid_from), f"{opm.code} to the supplier of last resort", step
            )
        for commodity, part in items.items():
            self._context.masterdata(last_resort, commodity, part, now, note=f"last resort for {supplier}")
        return len(opms)

    def _last_resort_takes_over(
        self, opm: Opm, failed: str, last_resort: str, day: dt.date, now: dt.datetime
    ) -> None:
        if opm.supplier_ean != failed:
            return
        # [I] The failed supplier gets no closing reading: it has left the market.
        opm.supplier_ean = opm.balance_responsible_ean = last_resort
        self._context.opening_reading(opm, last_resort, day, now)

    # --- periodic metered data -------------------------------------------------------------------------

    def periodic(
        self, now: dt.datetime, *, date_to: dt.date | None, opms: list[str] | None, supplier: str | None
    ) -> int:
        """Metered data up to ``date_to`` (default yesterday) for supplied OPMs not read that far; how many
        messages. Electricity goes as one CDSDATA per supplier, gas as one GP6 per OPM and quarter."""
        registry = self._context.registry
        yesterday = self._context.today(now) - dt.timedelta(days=1)
        last = date_to or yesterday
        if last > yesterday:
            raise InvalidField("date_to", last, f"is not over yet; the last complete day is {yesterday}")
        chosen = [registry.opm(code) for code in opms] if opms is not None else list(registry.opms.values())
        electricity: dict[str, list[ElectricityReading]] = defaultdict(list)
        sent = 0
        for opm in chosen:
            if opm.supplier_ean is None or opm.read_until >= last:
                continue
            if supplier is not None and opm.supplier_ean != supplier:
                continue
            if opm.commodity is Commodity.electricity:
                reading = metering.electricity_reading(opm, last, reason=codes.READING_REASON_PERIODIC)
                electricity[opm.supplier_ean].append(reading)
            else:
                sent += self._context.gas(
                    opm, opm.supplier_ean, last, now, segment=GasSegment.INV, note="periodic daily values"
                )
        for receiver, readings in electricity.items():
            sent += self._context.electricity(receiver, readings, now, note="periodic readings")
        return sent
