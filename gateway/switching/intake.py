"""The switch intake: contract changes on ``masterdata.contracts`` become market facts on ``switch.events``.

    masterdata.changed (contract)
      created ──┬─ imported book (supply started > LATE_DAYS_MAX days ago), or ended ─→ nothing
                ├─ start_reason change_of_customer ─┬─ our previous contract found
                │                                   │    ─→ switch.customer_change_signed
                │                                   └─ none ─→ switch.attention (process.events)
                └─ any other start reason ─→ switch.contract_signed
      withdrawn ─→ switch.contract_withdrawn
      terminated (notice) ─→ switch.supply_ending
      anything else (amended, …) ─→ nothing

A consumer of group ``proud.switch-intake``; every fact is keyed by the OPM code, so one OPM's process sees
them in order. Each event's ``after`` (the contract as of the change's day) is what is translated, not the
contract as it stands when the intake runs: a contract signed and withdrawn before the intake ran still
yields both facts, in that order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import msgspec
import structlog

from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected
from gateway.masterdata.contract_read import in_force
from gateway.masterdata.service_base import local_date
from gateway.masterdata.topics import CONTRACTS
from gateway.masterdata.welcome import LATE_DAYS_MAX
from gateway.process.topics import PROCESS_EVENTS
from gateway.switching.ours import contract_active_on
from gateway.switching.topics import SWITCH_EVENTS
from schemas.masterdata.contracts import Contract, Terms
from schemas.masterdata.events import MasterDataChanged
from schemas.switching import (
    Attention,
    ContractSigned,
    ContractWithdrawn,
    CustomerChangeSigned,
    SupplyEnding,
)

log = structlog.get_logger(__name__)

SWITCH_INTAKE_GROUP: Final = "proud.switch-intake"
#: ``Attention.process`` of what the intake asks the back office to look at.
INTAKE_PROCESS: Final = "switch-intake"
#: Attention reason: a change of customer with no contract of ours at the OPM to take over from.
REASON_NO_PREVIOUS_CONTRACT: Final = "no_previous_contract"
#: ``SupplyEnding.reason`` of a termination by notice.
REASON_NOTICE: Final = "notice"
_ONE_DAY: Final = dt.timedelta(days=1)


def contract_in(body: MasterDataChanged) -> Contract:
    """The contract ``after`` the change; ``HandlerRejected`` when the event does not carry one."""
    if body.after is None:
        raise HandlerRejected(f"masterdata.changed {body.action} of contract {body.key} has no 'after'")
    try:
        return msgspec.convert(body.after, Contract)
    except msgspec.ValidationError as exc:
        raise HandlerRejected(f"masterdata.changed of contract {body.key}: after: {exc}") from exc


def first_terms(contract: Contract) -> Terms:
    assert contract.versions, f"contract {contract.number} has no terms"
    return contract.versions[0]


def is_new(contract: Contract, today: dt.date) -> bool:
    """Whether a created contract asks for a market process: not ended, not an imported book."""
    if contract.status in ("withdrawn", "ended"):
        return False
    return (today - contract.valid_from).days <= LATE_DAYS_MAX


def signed(contract: Contract) -> ContractSigned:
    terms = first_terms(contract)
    return ContractSigned(
        contract=contract.number, customer=contract.customer, account=terms.account, opm=contract.opm,
        commodity=contract.commodity, start_reason=contract.start_reason, signed_on=contract.signed_on,
        date_from=contract.valid_from, date_to=terms.valid_to, negotiation=contract.negotiation,
        withdrawal_until=contract.withdrawal_until,
    )


def customer_changed(contract: Contract, previous: Contract) -> CustomerChangeSigned:
    previous_terms = previous.terms
    assert previous_terms is not None, f"active contract {previous.number} has no terms in force"
    return CustomerChangeSigned(
        contract=contract.number, customer=contract.customer, account=first_terms(contract).account,
        opm=contract.opm, commodity=contract.commodity, signed_on=contract.signed_on,
        date_from=contract.valid_from, previous_contract=previous.number,
        previous_customer=previous.customer, previous_account=previous_terms.account,
    )


def ended_on(contract: Contract) -> dt.date:
    """The day a withdrawn or terminated contract ended; ``HandlerRejected`` if the event lacks it."""
    if contract.ended_on is None:
        raise HandlerRejected(f"contract {contract.number} was ended but its event has no ended_on")
    return contract.ended_on


def withdrawn(contract: Contract) -> ContractWithdrawn:
    return ContractWithdrawn(contract=contract.number, opm=contract.opm, served_on=ended_on(contract))


def supply_ending(contract: Contract) -> SupplyEnding:
    end_on = ended_on(contract)
    # A notice never ends supply before it starts (checked when given), so terms are in force on end_on.
    terms = in_force(contract.versions, end_on) or first_terms(contract)
    return SupplyEnding(
        contract=contract.number, customer=contract.customer, account=terms.account, opm=contract.opm,
        commodity=contract.commodity, end_on=end_on, reason=REASON_NOTICE,
    )


@dataclass(frozen=True, slots=True)
class SwitchIntake:
    """The handler of ``masterdata.contracts`` for the switching processes."""

    def subscription(self) -> Subscription:
        return Subscription(SWITCH_INTAKE_GROUP, (CONTRACTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, MasterDataChanged):
            raise HandlerRejected(f"the switch intake got {ctx.envelope.type}, expected masterdata.changed")
        if body.entity != "contract" or body.action not in ("created", "withdrawn", "terminated"):
            return
        contract = contract_in(body)
        if body.action == "withdrawn":
            ctx.emit_payload(SWITCH_EVENTS.name, withdrawn(contract), key=contract.opm)
        elif body.action == "terminated":
            ctx.emit_payload(SWITCH_EVENTS.name, supply_ending(contract), key=contract.opm)
        else:
            await self._created(ctx, contract)

    async def _created(self, ctx: HandlerContext, contract: Contract) -> None:
        today = local_date(ctx.now)
        if not is_new(contract, today):
            log.info("switch.intake.skipped", contract=contract.number, valid_from=str(contract.valid_from))
            return
        if contract.start_reason != "change_of_customer":
            ctx.emit_payload(SWITCH_EVENTS.name, signed(contract), key=contract.opm)
            return
        previous = await self._previous(ctx, contract, today)
        if previous is None:
            attention = Attention(
                opm=contract.opm, process=INTAKE_PROCESS, reason_code=REASON_NO_PREVIOUS_CONTRACT,
                contract=contract.number,
                text=(
                    f"Přepis: smlouva {contract.number} přebírá OPM {contract.opm} od "
                    f"{contract.valid_from}, ale žádná naše smlouva na tomto OPM nekončí "
                    f"{contract.valid_from - _ONE_DAY} ani dnes neplatí. Zkontrolujte důvod zahájení dodávky."
                ),
            )
            ctx.emit_payload(PROCESS_EVENTS.name, attention, key=contract.opm)
            return
        ctx.emit_payload(SWITCH_EVENTS.name, customer_changed(contract, previous), key=contract.opm)

    @staticmethod
    async def _previous(ctx: HandlerContext, contract: Contract, today: dt.date) -> Contract | None:
        """Our contract at the OPM that ends the day before this one starts, else the one active today."""
        for day in (contract.valid_from - _ONE_DAY, today):
            found = await contract_active_on(ctx.conn, contract.opm, day, excluding=contract.id)
            if found is not None:
                return found
        return None
