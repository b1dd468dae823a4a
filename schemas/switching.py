"""Bus payloads of the supplier-switch processes (``switch.events``, keyed by OPM code).

The switching machines in ``rules/machines/switch_*.yaml`` read these. They are produced by translators at
the edges, so that a rule author sees market facts, not OTE message families:

- ``switch.contract_signed`` (a switch, move-in or exit from the supplier of last resort: an OTE request),
  ``switch.customer_change_signed`` (přepis), ``switch.contract_withdrawn``, ``switch.supply_ending``
  (notice, move-out): the intake (``gateway.switching.intake``) from ``masterdata.contracts``;
- ``switch.answered``, ``switch.loss_notified``, ``switch.supply_confirmed``, ``switch.last_resort_assigned``:
  the OTE translator
  (``gateway.switching.translate``) from ``ote.inbound``;
- ``switch.send_failed``: the OTE sender (``connectors.ote.outbound``) when CS OTE refused a message;
- ``switch.objection_requested``: the back office (API) for a losing-supplier objection;
- ``switch.attention``: a machine asking the back office to look (``process.events``; the attention
  consumer files it as an activity).
- ``switch.final_bill_ordered``, ``switch.initial_reading``: a machine telling billing (#6) which reading
  closes a contract's supply and which opens ours (``process.events``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from schemas.envelope import Payload, payload

Commodity = Literal["electricity", "gas"]
#: Why supply at an OPM starts with a new contract: a switch from another supplier ("útok"), a change of
#: customer at an OPM we already supply (přepis), a move-in to an OPM without supplier (R1), or a
#: switch away from the supplier of last resort (shorter gas deadline, ote-market.md §5).
StartReason = Literal["switch", "change_of_customer", "move_in", "from_last_resort"]


@payload("switch.contract_signed", 1)
class ContractSigned(Payload, frozen=True, kw_only=True):
    contract: str
    customer: str
    account: str
    opm: str
    commodity: Commodity
    start_reason: StartReason
    signed_on: dt.date
    date_from: dt.date
    date_to: dt.date | None = None
    negotiation: str  # off_premises, distance, on_premises (masterdata Negotiation)
    withdrawal_until: dt.date | None = None
    #: Change of customer: our contract with the previous customer at this OPM.
    previous_contract: str | None = None


@payload("switch.customer_change_signed", 1)
class CustomerChangeSigned(Payload, frozen=True, kw_only=True):
    """Přepis: a new customer's contract at an OPM we supply to ``previous_contract`` until the day before."""

    contract: str
    customer: str
    account: str
    opm: str
    commodity: Commodity
    signed_on: dt.date
    date_from: dt.date
    previous_contract: str
    previous_customer: str
    previous_account: str


@payload("switch.contract_withdrawn", 1)
class ContractWithdrawn(Payload, frozen=True, kw_only=True):
    """The customer withdrew from a contract before its supply started: cancel its switch."""

    contract: str
    opm: str
    served_on: dt.date


@payload("switch.supply_ending", 1)
class SupplyEnding(Payload, frozen=True, kw_only=True):
    """Our contract at the OPM ends on ``end_on`` (notice, move-out): end supply at CS OTE, final reading."""

    contract: str
    customer: str
    account: str
    opm: str
    commodity: Commodity
    end_on: dt.date
    reason: str = ""


@payload("switch.last_resort_assigned", 1)
class LastResortAssigned(Payload, frozen=True, kw_only=True):
    """CS OTE assigned us an OPM as supplier of last resort (dodavatel poslední instance)."""

    opm: str
    commodity: Commodity
    valid_from: dt.date
    previous_supplier_ean: str | None = None
    ote_message_id: str
    archive_id: int


@payload("switch.answered", 1)
class SwitchAnswered(Payload, frozen=True, kw_only=True):
    """CS OTE's answer to our switch request ``reference_id`` (the OTE message id we sent)."""

    opm: str
    reference_id: str
    accepted: bool
    date_from: dt.date | None = None
    rejection_reason: str | None = None
    ote_message_id: str
    archive_id: int


@payload("switch.loss_notified", 1)
class LossNotified(Payload, frozen=True, kw_only=True):
    """Another supplier asked CS OTE for an OPM we supply from ``date_from``; our contract as it stands."""

    opm: str
    commodity: Commodity
    new_supplier_ean: str
    date_from: dt.date
    ote_message_id: str
    archive_id: int
    #: Our contract at the OPM on the day before ``date_from``; None when we have none (then nothing to do).
    contract: str | None = None
    contract_status: str | None = None
    account: str | None = None
    notice_period_days: int = 0
    #: Last day of our contract's fixed term, None for an indefinite contract.
    contract_valid_to: dt.date | None = None


@payload("switch.supply_confirmed", 1)
class SupplyConfirmed(Payload, frozen=True, kw_only=True):
    """CS OTE's master data: ``supplier_ean`` supplies the OPM from ``valid_from`` (to ``valid_to``)."""

    opm: str
    supplier_ean: str | None
    ours: bool
    valid_from: dt.date
    valid_to: dt.date | None = None
    ote_message_id: str
    archive_id: int


@payload("switch.send_failed", 1)
class SendFailed(Payload, frozen=True, kw_only=True):
    """CS OTE refused a message we sent (negative RESPONSE or SOAP fault): sending it again will not help."""

    opm: str
    ote_message_id: str
    message_code: str
    reason_code: str | None = None
    reason: str


@payload("switch.objection_requested", 1)
class ObjectionRequested(Payload, frozen=True, kw_only=True):
    """The back office objects to a switch away from us (the customer withdrew from the new contract)."""

    opm: str
    reason_code: str  # ARE: withdrawal or notice, the existing supplier keeps supplying
    actor: str
    note: str = ""


@payload("switch.attention", 1)
class Attention(Payload, frozen=True, kw_only=True):
    """A process needs a person: a rejected or late request, an objection deadline, a missing reading."""

    opm: str
    process: str
    reason_code: str
    text: str
    contract: str | None = None


#: Why supply to a contract at an OPM ended, for its final bill: another supplier took the OPM, the
#: customer moved out or gave notice, or another customer took over the OPM (přepis).
SupplyEnd = Literal["loss", "move_out", "change_of_customer"]
#: How our supply to an OPM began, for the opening reading of its first bill (``StartReason``, and
#: ``last_resort`` when CS OTE assigned us the OPM as supplier of last resort).
SupplyStart = Literal["switch", "move_in", "from_last_resort", "change_of_customer", "last_resort"]


@payload("switch.final_bill_ordered", 1)
class FinalBillOrdered(Payload, frozen=True, kw_only=True):
    """Supply to ``contract`` at the OPM ended on ``last_day``: bill it up to reading ``reading_id`` (#6).

    On ``process.events``, keyed by OPM code; a switching machine emits it once the final reading came.
    """

    opm: str
    commodity: Commodity
    contract: str
    account: str
    last_day: dt.date
    #: The ``meter.reading`` (``reading_id``) that closes the contract's last billing period.
    reading_id: int
    reason: SupplyEnd
    process: str


@payload("switch.initial_reading", 1)
class InitialReading(Payload, frozen=True, kw_only=True):
    """Our supply at the OPM began on ``first_day``; reading ``reading_id`` opens the first billing period.

    On ``process.events``, keyed by OPM code. ``contract`` and ``account`` are None for a supply of last
    resort, which begins without a contract of ours.
    """

    opm: str
    commodity: Commodity
    contract: str | None
    account: str | None
    first_day: dt.date
    reading_id: int
    reason: SupplyStart
    process: str
