"""CDSMASTERDATA / CDSGASMASTERDATA: master data of OPMs as CS OTE sends it to a supplier (§4).

Only the ``Data`` attributes ``rejection-reason`` and ``contract-negotiation-type`` are confirmed, and only
for gas; every other attribute is our working model [I].
"""

from __future__ import annotations

import datetime as dt

from schemas.ote.common import (
    Commodity,
    NegotiationType,
    OpmId,
    OteMessage,
    OteStruct,
    ParticipantEan,
    ShortCode,
)


class MasterDataItem(OteStruct, frozen=True, kw_only=True):
    """One ``Data`` element: the state of one OPM from ``valid_from``."""

    #: [I] 18-digit EAN (electricity) or 16-character EIC (gas).
    opm: OpmId
    valid_from: dt.date
    valid_to: dt.date | None = None
    #: [I] The supplier at the OPM.
    supplier_ean: ParticipantEan | None = None
    #: [I] The balance-responsible party (subjekt zúčtování).
    balance_responsible_ean: ParticipantEan | None = None
    #: [C] for gas, [I] for electricity.
    contract_negotiation_type: NegotiationType | None = None
    #: [C] for gas; ``ARE`` is the one confirmed value (``REJECTION_REASON_WITHDRAWAL``).
    rejection_reason: ShortCode | None = None
    #: [I] What the item announces (``CHANGE_REASON_*`` in ``schemas.ote.common``); None: plain master data.
    change_reason: ShortCode | None = None


class MasterData(OteMessage, frozen=True, kw_only=True, tag="masterdata"):
    """[C] CDSMASTERDATA (electricity) or CDSGASMASTERDATA (gas) carrying ``Data`` elements."""

    commodity: Commodity
    items: tuple[MasterDataItem, ...]
