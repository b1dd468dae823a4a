"""Document numbers per series and worker: ``FV{year}{worker:02}{seq:06}``, no gaps within a series.

The draw is one upsert in the caller's transaction: it creates the (series, worker) row or increments it and
returns the number it held. On PostgreSQL the row stays locked until the caller commits or rolls back, so a
second draw on the same row waits and then sees the committed value; a rollback undoes the increment with
the document that used it, so no number is lost (no gap) and none is handed out twice. SQLite serialises
writers anyway (``BEGIN IMMEDIATE``). Each worker has its own row: workers never wait for each other.

A number is therefore final only when the caller's transaction that stores the document commits. Draw it as
late as possible in that transaction: the row lock is held until the end.

A mass run draws a block (``next_document_numbers``: ``count`` consecutive numbers in the same one upsert),
so a batch of bills takes the row lock once; the block is all or none, like a single draw.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.invoices.tables import invoice_series
from gateway.errors import Conflict, InvalidField
from gateway.store.db import translate_errors
from schemas.billing.invoice import DocumentKind

#: Two digits of the number hold the worker.
WORKER_MAX: Final = 99
#: Six digits hold the sequence within a worker's series and year.
SEQUENCE_MAX: Final = 999_999
#: Years a document number can carry (four digits).
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 9999

#: The series prefix of each document kind: faktura vyúčtování, dobropis, zálohová faktura (výzva k platbě
#: zálohy), daňový doklad k přijaté platbě.
SERIES_PREFIXES: Final[dict[str, str]] = {
    "settlement": "FV",
    "credit_note": "DB",
    "advance_request": "ZF",
    "advance_tax_document": "DZ",
}

assert all(len(prefix) == 2 for prefix in SERIES_PREFIXES.values())
assert 0 < WORKER_MAX < 100 and 0 < SEQUENCE_MAX < 1_000_000


class SeriesExhausted(Conflict):
    """A worker's series ran out of six-digit numbers for the year; give the work to another worker."""

    def __init__(self, prefix: str, year: int, worker: int) -> None:
        super().__init__(f"series {prefix}{year} of worker {worker} has used all {SEQUENCE_MAX} numbers")
        self.prefix = prefix
        self.year = year
        self.worker = worker


def format_number(prefix: str, year: int, worker: int, sequence: int) -> str:
    """``FV202603000017``: prefix, year, worker (2 digits), sequence (6 digits)."""
    assert 1 <= sequence <= SEQUENCE_MAX and 0 <= worker <= WORKER_MAX
    return f"{prefix}{year:04}{worker:02}{sequence:06}"


async def next_sequence(conn: AsyncConnection, prefix: str, year: int, worker: int) -> int:
    """Draw the next sequence number of ``prefix``/``year`` for ``worker`` in the caller's transaction."""
    return await next_sequences(conn, prefix, year, worker, 1)


async def next_sequences(conn: AsyncConnection, prefix: str, year: int, worker: int, count: int) -> int:
    """Draw ``count`` consecutive sequence numbers of ``prefix``/``year`` for ``worker`` in one upsert (the
    row lock is taken once for the block); the first of them. All or none: a block that would run past
    ``SEQUENCE_MAX`` is refused whole (``SeriesExhausted``) with the caller's transaction."""
    _check_series(prefix, year, worker)
    if not 1 <= count <= SEQUENCE_MAX:
        raise InvalidField("count", count, f"must be between 1 and {SEQUENCE_MAX}")
    table = invoice_series
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(prefix=prefix, year=year, worker=worker, next_number=1 + count)
        .on_conflict_do_update(
            index_elements=[table.c.prefix, table.c.year, table.c.worker],
            set_={"next_number": table.c.next_number + count},
        )
        .returning(table.c.next_number)
    )
    with translate_errors("drawing an invoice number"):
        first = (await conn.execute(statement)).scalar_one() - count
    assert first >= 1
    if first + count - 1 > SEQUENCE_MAX:
        raise SeriesExhausted(prefix, year, worker)
    return int(first)


async def next_document_number(conn: AsyncConnection, kind: DocumentKind, year: int, worker: int) -> str:
    """The next number of ``kind``'s series for ``worker`` and ``year``, e.g. ``FV202603000017``."""
    if kind not in SERIES_PREFIXES:
        raise InvalidField("kind", kind, f"is not one of {sorted(SERIES_PREFIXES)}")
    prefix = SERIES_PREFIXES[kind]
    sequence = await next_sequence(conn, prefix, year, worker)
    return format_number(prefix, year, worker, sequence)


def _check_series(prefix: str, year: int, worker: int) -> None:
    if not (prefix.isascii() and prefix.isalpha() and prefix.isupper() and 1 <= len(prefix) <= 8):
        raise InvalidField("prefix", prefix, "must be 1 to 8 upper-case ASCII letters")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidField("year", year, f"must be between {YEAR_MIN} and {YEAR_MAX}")
    if not 0 <= worker <= WORKER_MAX:
        raise InvalidField("worker", worker, f"must be between 0 and {WORKER_MAX}")


async def next_document_numbers(
    conn: AsyncConnection, kind: DocumentKind, year: int, worker: int, count: int
) -> list[str]:
    """``count`` consecutive numbers of ``kind``'s series for ``worker`` and ``year``, drawn as one block
    (a mass run's batch): no gap between them nor to the numbers drawn before and after."""
    if kind not in SERIES_PREFIXES:
        raise InvalidField("kind", kind, f"is not one of {sorted(SERIES_PREFIXES)}")
    prefix = SERIES_PREFIXES[kind]
    first = await next_sequences(conn, prefix, year, worker, count)
    return [format_number(prefix, year, worker, sequence) for sequence in range(first, first + count)]
