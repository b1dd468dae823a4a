"""Estimates replaced by the readings that follow them: an estimate (kind ``estimated``, ours or the DSO's) is
superseded by the first reading of the same OPM and meter that is not an estimate and ends within
``ESTIMATE_REPLACED_WITHIN_DAYS`` of it (issue #6: "always marked as estimated and replaced when the actual
reading arrives"). The estimate's ``superseded_by`` points at that reading, so it is no longer in force.

Called for the readings the consumer filed from CS OTE and for those entered here
(``gateway.billing.readings.record``). The batch path (``bulk``) does not call it: billing's computation
passes over an estimate beside another reading anyway (``gateway.billing.readings.timeline``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.readings import tables as t

#: An estimate within this many days of a reading that is not one is replaced by it: a periodic reading
#: comes a few days either side of its planned day.
ESTIMATE_REPLACED_WITHIN_DAYS: Final = 7
#: OPMs per look-up of their estimates (well below SQLite's parameter limit).
OPMS_PER_STATEMENT_MAX: Final = 1_000


@dataclass(frozen=True, slots=True)
class Filed:
    """A reading just filed that is not an estimate nor a duplicate: its id, OPM, meter and last day."""

    reading_id: int
    opm: str
    meter_id: str
    date_to: dt.date


async def replace_estimates(conn: AsyncConnection, filed: Sequence[Filed]) -> dict[int, int]:
    """Supersede the estimates in force that ``filed`` readings replace; estimate id → replacing id."""
    if not filed:
        return {}
    tolerance = dt.timedelta(days=ESTIMATE_REPLACED_WITHIN_DAYS)
    replaced: dict[int, int] = {}
    for estimate in await _estimates(conn, sorted({reading.opm for reading in filed})):
        for reading in filed:  # the first filed wins: the batch is in arrival order
            near = abs(reading.date_to - estimate.date_to) <= tolerance
            if near and (reading.opm, reading.meter_id) == (estimate.opm, estimate.meter_id):
                replaced[estimate.id] = reading.reading_id
                break
    for by in sorted(set(replaced.values())):
        ids = [estimate for estimate, replacing in replaced.items() if replacing == by]
        result = await conn.execute(
            t.reading.update().where(t.reading.c.id.in_(ids), t.reading.c.superseded_by.is_(None))
            .values(superseded_by=by)
        )
        assert result.rowcount == len(ids), (result.rowcount, ids)
    return replaced


async def _estimates(conn: AsyncConnection, opms: list[str]) -> list[sa.Row[tuple[int, str, str, dt.date]]]:
    r = t.reading.c
    found: list[sa.Row[tuple[int, str, str, dt.date]]] = []
    for start in range(0, len(opms), OPMS_PER_STATEMENT_MAX):
        found.extend(await conn.execute(sa.select(r.id, r.opm, r.meter_id, r.date_to).where(
            r.opm.in_(opms[start : start + OPMS_PER_STATEMENT_MAX]), r.kind == "estimated",
            r.superseded_by.is_(None), r.status != "duplicate",
        ).order_by(r.id)))
    return found
