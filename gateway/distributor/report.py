"""The monthly report: for every OPM we distribute, its metered data for a month, to CS OTE, once.

``run_report`` walks our OPMs (``md_opm.dso`` = our EAN) in code order, ``MESSAGES_PER_BATCH_MAX`` at a
time. Each batch is one transaction: for each OPM not yet reported for the month, it reads the readings
(``ReadingsSource``, by default ``sources.readings_for_period``), builds the message, encodes it with the
OTE codec (XSD-validated; what fails is skipped, named, never queued), and queues one ``ote.send`` per
message in the outbox together with a ``distributor_report`` row. So nothing is lost (the outbox relays it,
the sender retries) and nothing is sent twice: a second run of the month skips every OPM already reported.
Two runs at once cannot both queue an OPM: the table's key refuses the later batch (which then fails whole).

A dry run does everything but the writes. A month is reported only once it has ended (by the clock).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.ote import codec
from connectors.ote.codec import OteInvalidOutbound, OteTooLarge
from connectors.ote.topics import OTE_OUTBOUND
from gateway import limits
from gateway.bus import outbox
from gateway.bus.base import OutgoingRecord
from gateway.clock import Clock
from gateway.distributor.identity import PROCESS_REPORT, DistributorIdentity, ote_send
from gateway.distributor.messages import report_message
from gateway.distributor.readings import OpmRef, ReadingsSource
from gateway.distributor.sources import readings_for_period
from gateway.distributor.tables import distributor_report
from gateway.errors import InvalidField
from gateway.masterdata import tables as t
from gateway.masterdata.service_base import local_date
from gateway.month import Month
from schemas.envelope import new_envelope

#: OPMs read per transaction; each gives at most one message, so this also bounds the messages queued at once.
MESSAGES_PER_BATCH_MAX: Final = 200
#: Notes (skipped OPMs, gaps) kept with their text for the summary; beyond it they are only counted.
NOTES_KEPT_MAX: Final = 100
assert 0 < MESSAGES_PER_BATCH_MAX <= limits.OUTBOX_BATCH_MAX

#: Why an OPM was skipped, or sent with parts its source could not use (``gaps``) or with values that are
#: not measured (``provisional``).
NoteKind = Literal["already_reported", "no_readings", "invalid", "gaps", "provisional"]
SKIP_KINDS: Final = ("already_reported", "no_readings", "invalid")


@dataclass(frozen=True, slots=True)
class Note:
    opm: str
    kind: NoteKind
    text: str


@dataclass(slots=True)
class ReportSummary:
    period: Month
    dry_run: bool
    opms: int = 0
    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[Note] = field(default_factory=list)

    def note(self, opm: str, kind: NoteKind, text: str) -> None:
        self.counts[kind] += 1
        if len(self.notes) < NOTES_KEPT_MAX:
            self.notes.append(Note(opm, kind, text))

    @property
    def skipped(self) -> int:
        return sum(self.counts[kind] for kind in SKIP_KINDS)

    @property
    def ok(self) -> bool:
        """No message failed its XSD: skips for want of readings, or already sent, are expected."""
        return self.counts["invalid"] == 0


@dataclass(slots=True)
class _Batch:
    records: list[tuple[uuid.UUID, OutgoingRecord]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


async def run_report(
    engine: AsyncEngine, clock: Clock, identity: DistributorIdentity, period: Month, *,
    dry_run: bool = False, source: ReadingsSource = readings_for_period,
) -> ReportSummary:
    """Report ``period`` for every OPM whose DSO is us; raises ``InvalidField`` for a month not ended yet."""
    today = local_date(clock.now())
    if period.last_day >= today:
        reason = f"has not ended yet (today is {today}): a month is reported after its last day"
        raise InvalidField("month", str(period), reason)
    summary = ReportSummary(period, dry_run)
    after = ""
    while True:
        async with engine.connect() as conn:
            opms = await _page(conn, identity, after)
            if not opms:
                break
            now = clock.now()
            batch = await _batch(conn, identity, period, opms, summary, now, source)
            if not dry_run and batch.records:
                await outbox.add(conn, batch.records, now)
                await conn.execute(sa.insert(distributor_report), batch.rows)
            if dry_run:
                await conn.rollback()
            else:
                await conn.commit()
        assert opms[-1].code > after, "pages move forward"
        after = opms[-1].code
    return summary


async def _page(conn: AsyncConnection, identity: DistributorIdentity, after: str) -> list[OpmRef]:
    o = t.opm.c
    rows = await conn.execute(
        sa.select(o.id, o.code, o.commodity)
        .where(o.dso == identity.distributor_ean, o.code > after)
        .order_by(o.code).limit(MESSAGES_PER_BATCH_MAX)
    )
    return [OpmRef(row.id, row.code, row.commodity) for row in rows]


async def _reported(conn: AsyncConnection, codes: Sequence[str], period: Month) -> dict[str, Any]:
    r = distributor_report.c
    rows = await conn.execute(
        sa.select(r.opm_code, r.ote_message_id, r.reported_at)
        .where(r.opm_code.in_(codes), r.period == period.first_day)
    )
    return {row.opm_code: row for row in rows}


async def _batch(
    conn: AsyncConnection, identity: DistributorIdentity, period: Month, opms: Sequence[OpmRef],
    summary: ReportSummary, now: dt.datetime, source: ReadingsSource,
) -> _Batch:
    batch = _Batch()
    reported = await _reported(conn, [opm.code for opm in opms], period)
    for opm in opms:
        summary.opms += 1
        earlier = reported.get(opm.code)
        if earlier is not None:
            text = f"reported as OTE message {earlier.ote_message_id} at {earlier.reported_at}"
            summary.note(opm.code, "already_reported", text)
            continue
        readings = await source(conn, opm, period)
        if readings.empty:
            summary.note(opm.code, "no_readings", "; ".join(readings.gaps) or f"no readings for {period}")
            continue
        message = report_message(identity, opm, period, readings, now)
        try:
            codec.encode(message)
        except (OteInvalidOutbound, OteTooLarge) as exc:
            summary.note(opm.code, "invalid", exc.message)
            continue
        if readings.gaps:
            summary.note(opm.code, "gaps", "; ".join(readings.gaps))
        if readings.provisional:
            summary.note(opm.code, "provisional", "; ".join(readings.provisional))
        envelope = new_envelope(ote_send(message, PROCESS_REPORT), key=opm.code, now=now)
        batch.records.append(outbox.envelope_record(OTE_OUTBOUND.name, envelope))
        batch.rows.append({
            "opm_code": opm.code, "period": period.first_day, "commodity": opm.commodity,
            "ote_message_id": message.envelope.id, "message_id": envelope.id, "reported_at": now,
        })
        summary.messages += 1
    return batch
