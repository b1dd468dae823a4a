"""``proud bench readings``: register readings per second through the batch path of the reading store.

Monthly readings of smart meters, as a DSO would send them in CDSDATA messages of ``READINGS_PER_MESSAGE``
readings: half the meters two-rate (VT and NT, with the NT share of a D25d or a D45d/D56d rate), half
single-rate; consumption by season from an annual figure, meter states running on month by month, 3 % of the
readings estimated. The OPM codes come from a key block (``fake.ean``) that no stored reading uses yet, so
every reading is new. The files are written first (not timed); the timed part is ``bulk.file_messages`` on
them: reading each file, the guarded parse and XSD validation, decoding, preparing, filing (lookup of the
readings in force, ids, binary/text COPY on PostgreSQL, executemany on SQLite) and one ``meter.reading``
event per reading in the outbox, a transaction per message. The last line printed is

    readings_per_s=<n>

with n the register readings (``rd_register`` rows) written per second.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import SystemClock
from gateway.errors import Conflict
from gateway.masterdata import fake
from gateway.readings import tables as t
from gateway.readings.bulk import BulkSummary, file_messages

#: Readings per generated message (about 300 bytes each).
READINGS_PER_MESSAGE: Final = 2_500
#: Register readings one run may ask for: twelve months of at most ``fake.BLOCK_RECORDS_MAX`` OPMs.
READINGS_MAX: Final = 10_000_000
#: Key blocks the bench may take; the reading tests take theirs from block 99.
BENCH_BLOCKS: Final = range(90)
TWO_RATE_SHARE: Final = 0.5
ESTIMATED_SHARE: Final = 0.03
YEAR: Final = 2025
#: Share of a year's consumption in each month (heating season heavier); sums to 1.
_MONTH_SHARE: Final = tuple(share / 12.51 for share in (
    1.45, 1.25, 1.1, 0.95, 0.8, 0.7, 0.7, 0.75, 0.85, 1.0, 1.3, 1.66,
))
_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<CDSDATA xmlns="http://www.ote-cr.cz/schema/cds/data" id="%s" message-code="521" '
    'date-time="%s" dtd-version="1" dtd-release="1">\n'
    '  <SenderIdentification coding-scheme="14" id="8591824003008"/>\n'
    '  <ReceiverIdentification coding-scheme="14" id="8591824556207"/>\n'
)
_READING: Final = (
    '  <Reading opm="%s" meter-id="%s" date-from="%s" date-to="%s" reading-type="%s" reading-reason="PE">\n'
)
_REGISTER: Final = '    <Register code="%s" start-state="%s" end-state="%s" consumption="%s"/>\n'
_TAIL: Final = "</CDSDATA>\n"

assert abs(sum(_MONTH_SHARE) - 1) < 1e-9


@dataclass(slots=True)
class _Meter:
    opm: str
    serial: str
    #: Wh per year, NT share (None: single-rate) and the meter states in Wh.
    annual_wh: int
    nt_share: float | None
    vt_wh: int
    nt_wh: int


def _kwh(wh: int) -> str:
    return f"{wh // 1000}.{wh % 1000:03d}"


def _meters(block: int, count: int, rng: random.Random) -> list[_Meter]:
    meters = []
    for index in range(count):
        two_rate = rng.random() < TWO_RATE_SHARE
        # D25d: 8 h of NT a day; D45d/D56d (heat pumps, direct heating): 20 h.
        nt_share = (0.35 if rng.random() < 0.6 else 0.8) if two_rate else None
        annual_kwh = rng.uniform(4_000, 15_000) if two_rate else rng.uniform(1_200, 4_500)
        meters.append(_Meter(
            fake.ean(block, index), f"E{rng.randrange(10**8):08d}", int(annual_kwh * 1000), nt_share,
            rng.randrange(10**7, 9 * 10**7), rng.randrange(10**7, 9 * 10**7),
        ))
    return meters


def _reading(meter: _Meter, month: int, rng: random.Random) -> tuple[str, int]:
    first = dt.date(YEAR, month, 1)
    last = dt.date(YEAR + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    used = int(meter.annual_wh * _MONTH_SHARE[month - 1] * rng.uniform(0.85, 1.15))
    kind = "2" if rng.random() < ESTIMATED_SHARE else "1"
    parts = [_READING % (meter.opm, meter.serial, first.isoformat(), last.isoformat(), kind)]
    rates = [("VT", used)] if meter.nt_share is None else [
        ("VT", used - int(used * meter.nt_share)), ("NT", int(used * meter.nt_share)),
    ]
    for code, wh in rates:
        start = meter.vt_wh if code == "VT" else meter.nt_wh
        parts.append(_REGISTER % (code, _kwh(start), _kwh(start + wh), _kwh(wh)))
        if code == "VT":
            meter.vt_wh += wh
        else:
            meter.nt_wh += wh
    parts.append("  </Reading>\n")
    return "".join(parts), len(rates)


def write_messages(
    directory: Path, block: int, registers: int, *, seed: int = 0, per_message: int = READINGS_PER_MESSAGE,
) -> tuple[list[Path], int, int]:
    """CDSDATA files with ``registers`` register readings (one more when the last reading is two-rate):
    (paths, register readings, bytes)."""
    assert 0 < registers <= READINGS_MAX and 0 < per_message <= READINGS_PER_MESSAGE
    rng = random.Random(seed * 1_000 + block)
    # Twelve months per meter, 1.5 registers per reading on average.
    meters = _meters(block, max(1, math.ceil(registers / 12 / (1 + TWO_RATE_SHARE))), rng)
    assert len(meters) <= fake.BLOCK_RECORDS_MAX
    paths: list[Path] = []
    written = size = 0
    body: list[str] = []
    stamp = dt.datetime(YEAR + 1, 1, 3, 2, 0).isoformat()
    for month in range(1, 13):
        for meter in meters:
            if written >= registers:
                break
            text, count = _reading(meter, month, rng)
            body.append(text)
            written += count
            if len(body) == per_message:
                size += _flush(directory, paths, body, stamp)
    if body:
        size += _flush(directory, paths, body, stamp)
    return paths, written, size


def _flush(directory: Path, paths: list[Path], body: list[str], stamp: str) -> int:
    message_id = f"DTB{len(paths):010d}"
    data = ((_HEAD % (message_id, stamp)) + "".join(body) + _TAIL).encode()
    path = directory / f"{message_id}.xml"
    path.write_bytes(data)
    paths.append(path)
    body.clear()
    return len(data)


async def free_block(engine: AsyncEngine) -> int:
    """A key block no stored reading uses, so that the benchmark measures new readings."""
    async with engine.connect() as conn:
        for block in BENCH_BLOCKS:
            low, high = f"{fake.EAN_PREFIX}{block:02d}", f"{fake.EAN_PREFIX}{block + 1:02d}"
            used = await conn.scalar(
                sa.select(sa.literal(1)).where(t.reading.c.opm >= low, t.reading.c.opm < high).limit(1)
            )
            if used is None:
                return block
    raise Conflict(f"all {len(BENCH_BLOCKS)} key blocks of bench readings are used; use another database")


@dataclass(frozen=True, slots=True)
class ReadingsBenchResult:
    block: int
    messages: int
    file_bytes: int
    generate_s: float
    summary: BulkSummary

    @property
    def readings_per_s(self) -> float:
        return self.summary.registers / self.summary.elapsed_s

    def figures(self) -> str:
        s = self.summary
        return (
            f"register_readings={s.registers} readings={s.readings} messages={s.messages} "
            f"file_mb={self.file_bytes / 1e6:.1f} generate_s={self.generate_s:.1f} file_s={s.elapsed_s:.2f} "
            f"duplicates={s.duplicates} corrections={s.corrections} block={self.block}"
        )

    def line(self) -> str:
        return f"readings_per_s={self.readings_per_s:.0f}"


async def run_readings_bench(
    engine: AsyncEngine, *, registers: int, workers: int | None = None,
    on_message: Callable[[BulkSummary], None] | None = None,
) -> ReadingsBenchResult:
    block = await free_block(engine)
    with tempfile.TemporaryDirectory(prefix="proud-bench-readings-") as directory:
        started = time.perf_counter()
        paths, _generated, size = write_messages(Path(directory), block, registers)
        generate_s = time.perf_counter() - started
        summary = await file_messages(engine, SystemClock(), paths, workers=workers, on_message=on_message)
    return ReadingsBenchResult(block, len(paths), size, generate_s, summary)
