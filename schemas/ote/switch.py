"""Supplier-switch requests and CS OTE's answers, electricity and gas (ote-market.md §5).

The root is ``CDSMASTERDATA`` / ``CDSGASMASTERDATA`` [I: §4 "master data and switching use CDSMASTERDATA"];
the body elements ``SwitchRequest`` and ``SwitchResult`` are our working model [I]. What a gas request must
contain is confirmed by vyhláška 349/2015 Sb. § 110 [C]: the new supplier, the contract type, its start and
duration, and the balance-responsible party. The message codes are not public, so they are data, never
assumed by the codec.
"""

from __future__ import annotations

import datetime as dt

from schemas.ote.common import (
    Commodity,
    MessageId,
    NegotiationType,
    OpmId,
    OteMessage,
    ParticipantEan,
    ShortCode,
)


class SwitchRequest(OteMessage, frozen=True, kw_only=True, tag="switch-request"):
    """The new supplier asks CS OTE to move an OPM to it from ``date_from``."""

    commodity: Commodity
    opm: OpmId
    #: [C] The new supplier.
    supplier_ean: ParticipantEan
    #: [C] The balance-responsible party (subjekt zúčtování).
    balance_responsible_ean: ParticipantEan
    date_from: dt.date
    #: [C] The contract's duration: its last day, or None for an indefinite contract.
    date_to: dt.date | None = None
    #: [C] The contract type (supply only, bundled services); [I] its code list is not public.
    contract_type: ShortCode
    #: [C] Electricity R1, S4, P1 (§5); [I] the standard switch's code is not public.
    switch_type: ShortCode | None = None
    contract_negotiation_type: NegotiationType | None = None


class SwitchAnswer(OteMessage, frozen=True, kw_only=True, tag="switch-answer"):
    """CS OTE's result of a switch request: accepted from a date, or rejected with a reason."""

    commodity: Commodity
    #: The ``id`` of the ``SwitchRequest`` this answers.
    reference_id: MessageId
    opm: OpmId
    accepted: bool
    #: The date supply by the new supplier starts, when accepted.
    date_from: dt.date | None = None
    #: [C] ``ARE`` for gas (withdrawal or notice, the existing supplier keeps supplying); [I] others.
    rejection_reason: ShortCode | None = None
    #: [I] The supplier losing the OPM, so that it can close its contract.
    previous_supplier_ean: ParticipantEan | None = None
