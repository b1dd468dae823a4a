"""OPM registration: the DSO registers or updates an OPM's master data in CS OTE (ote-market.md §4).

[C] Electricity message code 111 (``MESSAGE_CODE_OPM_REGISTRATION``); since 1.1.2018 it must carry the
consumption category (kategorie odběru) or the distribution rate (distribuční sazba), or CS OTE rejects it.
[C] Gas has a "registration of PDT (OPM)" scenario and an ``OPM`` element with ``grp`` (the group for
predicted consumption calculation); its message code is not public. Root ``CDSMASTERDATA`` /
``CDSGASMASTERDATA`` [I: §2 lists 111 among the MASTERDATA codes].
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from schemas.ote.common import Commodity, OpmId, OteMessage, OteStruct, ParticipantEan, ShortCode

#: [I] Distribution rates look like ``D02d``, ``C25d``; a generous bound, not the official code list.
DistributionRate = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,8}$")]


class OpmRecord(OteStruct, frozen=True, kw_only=True):
    """One ``OPM`` element."""

    opm: OpmId
    valid_from: dt.date
    #: [I] The DSO the OPM is connected to.
    dso_ean: ParticipantEan
    #: [C] Measurement type A, B, C1, C2, C3 (vyhláška 359/2020 Sb.); [I] as a code on the wire.
    metering_type: ShortCode | None = None
    #: [C] Electricity: kategorie odběru; [I] its codes.
    consumption_category: ShortCode | None = None
    #: [C] Electricity: distribuční sazba.
    distribution_rate: DistributionRate | None = None
    #: [C] Gas: the group for predicted consumption calculation (``grp``).
    grp: ShortCode | None = None


class OpmRegistration(OteMessage, frozen=True, kw_only=True, tag="opm-registration"):
    """One or more ``OPM`` elements; electricity: message code 111 [C]."""

    commodity: Commodity
    items: tuple[OpmRecord, ...]
