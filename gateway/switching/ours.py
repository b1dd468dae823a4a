"""Our contract at an OPM on a day: what the intake and the OTE translator add to a market fact."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.masterdata import tables as t
from gateway.masterdata.contract_read import load
from gateway.masterdata.opm_checks import lookup_code
from schemas.masterdata.contracts import Contract


async def contract_active_on(
    conn: AsyncConnection, opm: str, day: dt.date, *, excluding: uuid.UUID | None = None
) -> Contract | None:
    """Our contract supplying ``opm`` on ``day`` (status ``active`` then), other than ``excluding``; None.

    At most one exists: supply periods of one OPM never share a day (``gateway.masterdata.supply``).
    """
    condition = t.opm.c.code == lookup_code(opm)
    if excluding is not None:
        condition = sa.and_(condition, t.contract.c.id != excluding)
    active = [contract for contract in await load(conn, condition, day) if contract.status == "active"]
    assert len(active) <= 1, f"OPM {opm} has {len(active)} contracts active on {day}"
    return active[0] if active else None
