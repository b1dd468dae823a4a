"""Supply contract: one OPM, billed into one contract account; amendments are versions with an effective
date, so "the contract as of 2026-03-01" is a question with one answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Final, Literal

import msgspec

from schemas.masterdata.common import Commodity, Note, Text

#: Consumer's statutory withdrawal period for contracts negotiated off premises or at a distance.
WITHDRAWAL_DAYS: Final = 14
NOTICE_DAYS_MAX: Final = 366

Negotiation = Literal["on_premises", "off_premises", "distance"]
ContractStatus = Literal["signed", "active", "ended", "withdrawn"]
#: Why supply starts: a switch from another supplier, a change of customer at an OPM we supply (přepis: the
#: previous contract ends the day before), a move-in to an OPM without a supplier, or a customer leaving the
#: supplier of last resort. The supplier-switch processes (docs/switching.md) act on it.
StartReason = Literal["switch", "change_of_customer", "move_in", "from_last_resort"]


class ContractIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A signed contract of ``customer`` for OPM ``opm`` billed into account ``account`` (its VS).

    ``valid_to`` None: indefinite. Supply starts on ``valid_from``; the OPM must not have another of our
    contracts active on any day of this one. ``billed_until``: a contract of a book taken over from another
    billing system, billed by it up to this day (not before ``valid_from``); proud bills from the day after.
    """

    customer: str
    account: str
    opm: str
    number: str | None = None
    product: Text
    signed_on: dt.date
    valid_from: dt.date
    valid_to: dt.date | None = None
    notice_period_days: Annotated[int, msgspec.Meta(ge=0, le=NOTICE_DAYS_MAX)] = 0
    negotiation: Negotiation = "distance"
    start_reason: StartReason = "switch"
    billed_until: dt.date | None = None


class Amendment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change of terms from ``effective_from``; fields left out carry over from the version before."""

    effective_from: dt.date
    product: Text | msgspec.UnsetType = msgspec.UNSET
    account: str | msgspec.UnsetType = msgspec.UNSET
    valid_to: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    notice_period_days: Annotated[int, msgspec.Meta(ge=0, le=NOTICE_DAYS_MAX)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    note: Note = ""


class Termination(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``kind`` withdrawal: within the withdrawal period, the contract never takes effect;
    notice: supply ends on ``end_on`` (not before notice is served + the notice period)."""

    kind: Literal["withdrawal", "notice"]
    served_on: dt.date
    end_on: dt.date | None = None
    reason: Note = ""


class Terms(msgspec.Struct, frozen=True, kw_only=True):
    """One version of the terms, valid ``effective_from`` .. ``effective_to`` (inclusive; None: open)."""

    version: int
    effective_from: dt.date
    effective_to: dt.date | None
    product: str
    account: str
    valid_to: dt.date | None
    notice_period_days: int
    note: str


class Contract(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    number: str
    customer: str
    opm: str
    commodity: Commodity
    status: ContractStatus  # as of the date asked
    signed_on: dt.date
    valid_from: dt.date
    negotiation: Negotiation
    start_reason: StartReason
    withdrawal_until: dt.date | None
    ended_on: dt.date | None
    terms: Terms | None  # as of the date asked; None before valid_from's version or after withdrawal
    versions: list[Terms]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    #: Billed by the previous billing system up to this day (``ContractIn.billed_until``); None: proud only.
    billed_until: dt.date | None = None
