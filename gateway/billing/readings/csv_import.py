"""``proud readings import FILE.csv``: a batch of readings entered by hand (self-readings collected by the
back office, readings a technician took), each row through ``record_reading``.

The file is UTF-8 (a byte-order mark is skipped) with a header. Columns: ``opm`` and ``date`` (YYYY-MM-DD)
are required; ``meter`` (the serial; empty: the one meter counting that day), ``kind`` (``customer``, the
default, or ``actual``) and ``reason`` (default ``periodic``) are optional; ``vt``, ``nt`` and ``single``
hold the states, empty where the meter has no such register. Separated by commas, or by semicolons as a
Czech spreadsheet writes them, which then also allows a decimal comma (``1234,5``).

Each row is stored in a transaction of its own: a refused row (``RowError`` with its line, the column and
the value) leaves the others stored. At most ``ROWS_MAX`` rows and ``FILE_BYTES_MAX`` bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final, get_args

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.billing.readings.record import record_reading
from gateway.clock import Clock
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.store.db import translate_errors
from schemas.billing.readings import EnteredKind, ReadingIn
from schemas.readings import ReadingReason, Register

#: Rows one file may hold (a month's self-readings of a large region fit many times).
ROWS_MAX: Final = 200_000
FILE_BYTES_MAX: Final = 64 * 1024 * 1024
#: Refused rows whose errors the summary keeps (the count covers all).
ERRORS_KEPT_MAX: Final = 100
REQUIRED_COLUMNS: Final = ("opm", "date")
STATE_COLUMNS: Final[tuple[Register, ...]] = ("vt", "nt", "single")
OPTIONAL_COLUMNS: Final = ("meter", "kind", "reason", *STATE_COLUMNS)
_KINDS: Final = get_args(EnteredKind)
_REASONS: Final = get_args(ReadingReason)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    value: object
    reason: str


@dataclass(slots=True)
class ImportSummary:
    rows: int = 0
    new: int = 0
    duplicates: int = 0
    corrections: int = 0
    replaced_estimates: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def refuse(self, error: RowError) -> None:
        self.failed += 1
        if len(self.errors) < ERRORS_KEPT_MAX:
            self.errors.append(error)


def read_file(path: Path) -> str:
    """The file's text, or ``InvalidField`` naming the file (too large, not UTF-8)."""
    size = path.stat().st_size
    if size > FILE_BYTES_MAX:
        raise InvalidField("file", str(path), f"is {size} bytes, more than {FILE_BYTES_MAX}")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidField("file", str(path), f"is not UTF-8 (byte {exc.start})") from None


async def import_readings(engine: AsyncEngine, clock: Clock, text: str) -> ImportSummary:
    """Store each reading of the CSV ``text``; a row refused is counted and described, not raised. A text
    that cannot be read as readings (header, size) raises ``InvalidField``."""
    text = text.removeprefix("\ufeff")  # a spreadsheet's byte-order mark, whoever decoded the file
    delimiter = ";" if ";" in text.split("\n", 1)[0] else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    _check_header(reader.fieldnames)
    summary = ImportSummary()
    for row in reader:
        summary.rows += 1
        if summary.rows > ROWS_MAX:
            raise InvalidField("file", None, f"has more than {ROWS_MAX} rows")
        await _import_row(engine, clock, reader.line_num, row, delimiter == ";", summary)
    assert summary.new + summary.duplicates + summary.corrections + summary.failed == summary.rows
    return summary


async def _import_row(
    engine: AsyncEngine, clock: Clock, line: int, row: dict[str, str | None], decimal_comma: bool,
    summary: ImportSummary,
) -> None:
    try:
        code, data = parse_row(row, decimal_comma)
        with translate_errors("importing a reading"):
            async with engine.begin() as conn:
                recorded = await record_reading(conn, clock.now(), code, data)
    except InvalidField as exc:
        # The service names a state ``registers.vt``; the file's column is ``vt``.
        summary.refuse(RowError(line, exc.field.removeprefix("registers."), exc.value, exc.reason))
        return
    except NotFound as exc:
        summary.refuse(RowError(line, "opm", row.get("opm"), exc.message))
        return
    except Conflict as exc:
        summary.refuse(RowError(line, "", None, exc.message))
        return
    if recorded.status == "new":
        summary.new += 1
    elif recorded.status == "duplicate":
        summary.duplicates += 1
    else:
        summary.corrections += 1
    summary.replaced_estimates += len(recorded.replaced_estimates)


def _check_header(fieldnames: object) -> None:
    columns = list(fieldnames) if isinstance(fieldnames, list | tuple) else []
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidField("header", ",".join(columns) or None, f"lacks the column(s) {', '.join(missing)}")
    unknown = [name for name in columns if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if unknown:
        known = ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
        reason = f"has unknown column(s) {', '.join(unknown)} (known: {known})"
        raise InvalidField("header", ",".join(columns), reason)


def parse_row(row: dict[str, str | None], decimal_comma: bool) -> tuple[str, ReadingIn]:
    """The OPM code and the reading of one row, or ``InvalidField`` naming the column and the value."""
    if None in row:  # csv puts cells beyond the header under the key None
        raise InvalidField("", row[None], "has more cells than the header")  # type: ignore[index]
    cells = {name: (value or "").strip() for name, value in row.items() if name is not None}
    code = cells.get("opm", "")
    if not code:
        raise InvalidField("opm", None, "is required")
    day = _date(cells.get("date", ""))
    kind = cells.get("kind") or "customer"
    if kind not in _KINDS:
        raise InvalidField("kind", kind, f"must be one of {', '.join(_KINDS)}")
    reason = cells.get("reason") or "periodic"
    if reason not in _REASONS:
        raise InvalidField("reason", reason, f"must be one of {', '.join(_REASONS)}")
    states = {
        register: _state(register, cells[register], decimal_comma)
        for register in STATE_COLUMNS if cells.get(register)
    }
    if not states:
        raise InvalidField("single", None, "a state is required (vt and nt, or single)")
    data = ReadingIn(
        date=day, registers=states, meter=cells.get("meter") or None, kind=kind,  # type: ignore[arg-type]
        reason=reason,  # type: ignore[arg-type]
    )
    return code, data


def _date(raw: str) -> dt.date:
    try:
        if len(raw) != len("YYYY-MM-DD"):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidField("date", raw or None, "must be a date YYYY-MM-DD") from None


def _state(register: Register, raw: str, decimal_comma: bool) -> Decimal:
    text = raw.replace(",", ".") if decimal_comma else raw
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidField(register, raw, "must be a decimal number (a meter state)") from None
    if not value.is_finite():
        raise InvalidField(register, raw, "must be a decimal number (a meter state)")
    return value
