"""Supplier switching as the simulated CS OTE runs it (ote-market.md §5), step by step:

    SwitchRequest ─ check ─┬─ refused ─→ SwitchAnswer(rejected, REJECT_*) to the requester, now
                           └─ accepted ─→ MasterData SWI to the losing supplier, now
                                          │   (an OBJ notice from it until the objection deadline → ARE)
                                          ├─ at the objection deadline: SwitchAnswer(accepted | ARE);
                                          │   after an objection, MasterData OBJ (it stays) to the loser
                                          └─ at 00:00 of date_from: the registry changes supplier;
                                             MasterData (supplier = new) to both, then the closing
                                             reading to the old one and the opening one to the new one

A move-in (no supplier at the OPM) has no losing side and is answered at once; an R1 move-in has the 24-hour
request window (§5: R1 "by 10:00 on the last day before supply starts"). A CAN notice from the requester
withdraws its switch until the switch date.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from connectors.ote.simulator import codes, messages
from connectors.ote.simulator.context import Context
from connectors.ote.simulator.registry import Switch, SwitchStatus
from gateway.process.calendar import PRAGUE
from gateway.switching.deadlines import SwitchProfile, is_in_time, received_on, request_window
from schemas.ote import MasterDataItem, SwitchRequest
from schemas.ote.common import CHANGE_REASON_CANCEL, CHANGE_REASON_OBJECTION, CHANGE_REASON_SWITCH

#: [C] §5: the electricity switch type of a newly connected customer's first supply.
SWITCH_TYPE_MOVE_IN = "R1"

#: A notice that cannot be applied: (reason code, text) for the negative RESPONSE.
Refusal = tuple[str, str]
#: What an accepted notice does, run once every item of its message has been checked.
Apply = Callable[[], None]


class Switching:
    def __init__(self, context: Context) -> None:
        self._context = context

    # --- the request -----------------------------------------------------------------------------------

    def request(self, message: SwitchRequest, now: dt.datetime) -> Switch | None:
        """Checks ``message`` and starts its switch; None when refused (the answer is already posted)."""
        context, registry = self._context, self._context.registry
        refused = self._check(message, now)
        if refused is not None:
            self._answer_now(message, now, refused)
            return None
        opm = registry.opm(message.opm)
        previous = opm.supplier_ean
        from_last_resort = previous is not None and previous == registry.last_resort_ean
        if previous is None or context.prompt_answers:
            answer_at = now
        else:
            answer_at = max(now, self.objection_deadline(message, from_last_resort))
        switch = registry.add_switch(Switch(
            request_id=message.envelope.id, opm=opm.code, commodity=message.commodity,
            new_supplier_ean=message.supplier_ean, balance_responsible_ean=message.balance_responsible_ean,
            previous_supplier_ean=previous, date_from=message.date_from, received_at=now, answer_at=answer_at,
            contract_negotiation_type=message.contract_negotiation_type,
        ))
        if previous is not None:
            item = MasterDataItem(
                opm=opm.code, valid_from=switch.date_from, supplier_ean=switch.new_supplier_ean,
                change_reason=CHANGE_REASON_SWITCH,
            )
            note = f"switch {switch.id}: loss notice"
            context.masterdata(previous, switch.commodity, [item], now, note=note)
        context.scheduler.at(answer_at, f"answer switch {switch.id}", functools.partial(self._answer, switch))
        context.scheduler.at(
            context.midnight(switch.date_from), f"switch {switch.id} takes effect",
            functools.partial(self._take_effect, switch),
        )
        return switch

    def _check(self, message: SwitchRequest, now: dt.datetime) -> str | None:
        registry = self._context.registry
        opm = registry.opms.get(message.opm)
        if opm is None:
            return codes.REJECT_UNKNOWN_OPM
        if opm.commodity is not message.commodity:
            return codes.REJECT_COMMODITY
        if opm.supplier_ean == message.supplier_ean:
            return codes.REJECT_ALREADY_SUPPLIER
        move_in = message.switch_type == SWITCH_TYPE_MOVE_IN
        if move_in and opm.supplier_ean is not None:
            return codes.REJECT_OCCUPIED
        active = registry.active_switch(opm.code)
        if active is not None:
            same = (active.new_supplier_ean, active.date_from) == (message.supplier_ean, message.date_from)
            return codes.REJECT_DUPLICATE if same else codes.REJECT_PENDING
        profile = SwitchProfile.hours_24 if move_in else self._context.profile
        from_last_resort = opm.supplier_ean is not None and opm.supplier_ean == registry.last_resort_ean
        calendar = self._context.calendar
        window = request_window(message.date_from, calendar, profile, from_last_resort=from_last_resort)
        if is_in_time(now, window, calendar):
            return None
        early = received_on(now, calendar).date() < window.opens_on
        return codes.REJECT_EARLY if early else codes.REJECT_LATE

    def objection_deadline(self, message: SwitchRequest, from_last_resort: bool) -> dt.datetime:
        """Until when the losing supplier may object; the requester is answered then."""
        if self._context.profile is SwitchProfile.hours_24:
            days, cutoff = codes.OBJECTION_WORKING_DAYS_24H, codes.OBJECTION_CUTOFF_24H
        elif from_last_resort:
            days, cutoff = codes.OBJECTION_WORKING_DAYS_FROM_LAST_RESORT, codes.OBJECTION_CUTOFF
        else:
            days, cutoff = codes.OBJECTION_WORKING_DAYS, codes.OBJECTION_CUTOFF
        day = self._context.calendar.working_days_before(message.date_from, days)
        deadline = dt.datetime.combine(day, cutoff, tzinfo=PRAGUE)
        assert deadline < self._context.midnight(message.date_from), (deadline, message.date_from)
        return deadline

    def _answer_now(self, message: SwitchRequest, now: dt.datetime, reason: str) -> None:
        answer = messages.switch_answer(
            operator=self._context.operator, receiver=message.supplier_ean, now=now,
            commodity=message.commodity, reference_id=message.envelope.id, opm=message.opm, accepted=False,
            rejection_reason=reason,
        )
        self._context.post(answer, opm=message.opm, note=f"switch refused: {reason}")

    # --- the steps that fall due -----------------------------------------------------------------------

    def _answer(self, switch: Switch, now: dt.datetime) -> None:
        if switch.status is not SwitchStatus.pending:
            return  # cancelled meanwhile
        reason = switch.rejection_reason if switch.objected_by is not None else None
        if reason is not None:
            self._context.registry.close(switch, SwitchStatus.rejected, reason)
        else:
            switch.status = SwitchStatus.accepted
        answer = messages.switch_answer(
            operator=self._context.operator, receiver=switch.new_supplier_ean, now=now,
            commodity=switch.commodity, reference_id=switch.request_id, opm=switch.opm,
            accepted=reason is None, date_from=switch.date_from, rejection_reason=reason,
            previous_supplier_ean=switch.previous_supplier_ean,
        )
        note = f"switch {switch.id}: " + ("accepted" if reason is None else f"rejected {reason} (objection)")
        self._context.post(answer, opm=switch.opm, note=note)
        if reason is not None and switch.previous_supplier_ean is not None:
            # The objecting supplier learns that its objection held: it goes on supplying.
            kept = MasterDataItem(
                opm=switch.opm, valid_from=switch.date_from, supplier_ean=switch.previous_supplier_ean,
                rejection_reason=reason, change_reason=CHANGE_REASON_OBJECTION,
            )
            note = f"switch {switch.id}: objection held"
            self._context.masterdata(switch.previous_supplier_ean, switch.commodity, [kept], now, note=note)

    def _take_effect(self, switch: Switch, now: dt.datetime) -> None:
        if switch.status is not SwitchStatus.accepted:
            return  # rejected or cancelled meanwhile
        context = self._context
        opm = context.registry.opm(switch.opm)
        # The supplier now, not the one at the request: a last-resort assignment may have come between.
        previous, new = opm.supplier_ean, switch.new_supplier_ean
        item = MasterDataItem(
            opm=opm.code, valid_from=switch.date_from, supplier_ean=new,
            balance_responsible_ean=switch.balance_responsible_ean,
            contract_negotiation_type=switch.contract_negotiation_type,
        )
        receivers = [new] if previous is None else [new, previous]
        for receiver in receivers:
            note = f"switch {switch.id}: new supplier"
            context.masterdata(receiver, switch.commodity, [item], now, note=note)
        if previous is not None:
            last = switch.date_from - dt.timedelta(days=1)
            context.closing_reading(opm, previous, last, now, reason=codes.READING_REASON_SWITCH)
        opm.supplier_ean, opm.balance_responsible_ean = new, switch.balance_responsible_ean
        context.opening_reading(opm, new, switch.date_from, now)
        context.registry.close(switch, SwitchStatus.done)

    # --- notices about a switch ------------------------------------------------------------------------

    def objection(self, item: MasterDataItem, sender: str, now: dt.datetime) -> Refusal | Apply:
        """OBJ from the losing supplier, with a rejection reason (ARE when none is given)."""
        switch = self._context.registry.active_switch(item.opm)
        if switch is None:
            return codes.NOTICE_NO_SWITCH, f"OPM {item.opm} has no switch in progress"
        if switch.previous_supplier_ean != sender:
            return codes.NOTICE_NOT_SUPPLIER, f"{sender} is not the supplier losing OPM {item.opm}"
        if switch.status is not SwitchStatus.pending or now > switch.answer_at:
            return codes.NOTICE_LATE, f"the objection deadline of switch {switch.id} was {switch.answer_at}"

        def apply() -> None:
            switch.objected_by = sender
            switch.rejection_reason = item.rejection_reason or codes.REJECT_OBJECTION

        return apply

    def cancel(self, item: MasterDataItem, sender: str, now: dt.datetime) -> Refusal | Apply:
        """CAN from the requester: withdraws its switch before the switch date."""
        context = self._context
        switch = context.registry.active_switch(item.opm)
        if switch is None or switch.new_supplier_ean != sender:
            return codes.NOTICE_NO_SWITCH, f"OPM {item.opm} has no switch requested by {sender}"
        if now >= context.midnight(switch.date_from):
            return codes.NOTICE_LATE, f"switch {switch.id} took effect on {switch.date_from}"

        def apply() -> None:
            context.registry.close(switch, SwitchStatus.cancelled)
            # [I] The item names the supplier that stays (none for a move-in): a receiver reading "supplier
            # X from date_from" learns the truth after the cancellation, not the withdrawn request.
            confirmation = MasterDataItem(
                opm=switch.opm, valid_from=switch.date_from, supplier_ean=switch.previous_supplier_ean,
                change_reason=CHANGE_REASON_CANCEL,
            )
            receivers = [sender] + ([switch.previous_supplier_ean] if switch.previous_supplier_ean else [])
            for receiver in receivers:
                context.masterdata(
                    receiver, switch.commodity, [confirmation], now, note=f"switch {switch.id}: cancelled"
                )

        return apply
