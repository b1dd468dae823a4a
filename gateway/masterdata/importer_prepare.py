"""The CPU half of a JSONL import, run in a worker process: lines in, rows and ready COPY data out.

``prepare_batch`` decodes a batch of raw JSONL lines, checks them (``bulk.check_row``: the OPM service's
own rules) and encodes every OPM that passes into the binary COPY rows of all six tables it would be
written to, its ``md_change`` row and outbox event included (with audit ids the caller drew ahead from
``md_change``'s sequence). The rows of consecutive OPMs are joined per table into one ``OpmRun``, so that
the importer's main process only decides which of them to write (codes that exist already are compared
instead) and streams the bytes to PostgreSQL. Other kinds of rows come back decoded, for the services.

Nothing here touches the database, and everything it takes and returns pickles compactly (bytes, lists of
ints, a few dataclasses), because it crosses a process boundary.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from gateway.masterdata import bulk, bulk_audit
from gateway.masterdata.importer_rows import Kind, Row, RowError, check_kind, decode_json_line, too_long

#: The tables of an ``OpmRun``, in the order of its ``tables`` and ``offsets``.
RUN_TABLES: Final = (*bulk.PG_TABLES, *bulk_audit.PG_TABLES)


@dataclass(slots=True)
class OpmRun:
    """Consecutive OPM rows of a batch that passed the checks, ready to COPY as new OPMs.

    ``indexes`` are the rows' places in the batch's lines (to decode one again when its code exists);
    ``tables`` hold the COPY rows of all of them per table of ``RUN_TABLES``, and ``offsets[t][i]`` is where
    row ``i``'s bytes start in ``tables[t]`` (``offsets[t][-1]`` is the end).
    """

    indexes: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    tables: list[bytes] = field(default_factory=list)
    offsets: list[list[int]] = field(default_factory=list)

    def rows(self, table: int, keep: Sequence[int] | None) -> list[bytes]:
        """The bytes of table ``table`` of the rows at ``keep`` (all of them when None)."""
        data = self.tables[table]
        if keep is None:
            return [data] if data else []
        offsets, view = self.offsets[table], memoryview(data)
        return [view[offsets[i] : offsets[i + 1]].tobytes() for i in keep if offsets[i] != offsets[i + 1]]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch's refused rows, and its other rows in file order: ``Row`` (not an OPM) or ``OpmRun``."""

    errors: list[RowError]
    items: list[Row | OpmRun]


def prepare_batch(
    lines: Sequence[bytes | None], line_numbers: Sequence[int], kind: Kind | None, actor: str,
    now: dt.datetime, change_ids: Sequence[int],
) -> PreparedBatch:
    """Decode and check ``lines`` (None: a line too long to read); an OPM that passes gets the next of
    ``change_ids`` (ascending, at least one per line) for its audit row and event."""
    assert len(lines) == len(line_numbers) <= len(change_ids), (len(lines), len(change_ids))
    # Everything allocated here is garbage once the batch is returned: collecting meanwhile only costs.
    gc.disable()
    try:
        return _prepare(lines, line_numbers, kind, actor, now, iter(change_ids))
    finally:
        gc.enable()


def _prepare(
    lines: Sequence[bytes | None], line_numbers: Sequence[int], kind: Kind | None, actor: str,
    now: dt.datetime, change_ids: Iterator[int],
) -> PreparedBatch:
    errors: list[RowError] = []
    items: list[Row | OpmRun] = []
    run: OpmRun | None = None  # the open run: refused rows do not end it, other kinds do (as in ``importer``)
    parts: list[list[bytes]] = []  # its rows per table
    for index, (line_no, line) in enumerate(zip(line_numbers, lines, strict=True)):
        row: Row | RowError | bulk.Checked = (
            too_long(line_no) if line is None else check_kind(decode_json_line(line_no, line), kind)
        )
        if isinstance(row, Row) and row.kind == "opm":
            row = bulk.check_row(row, actor, now)
        if isinstance(row, RowError):
            errors.append(row)
        elif isinstance(row, Row):
            if run is not None:
                _close(run, parts)
                run = None
            items.append(row)
        else:
            if run is None:
                run, parts = OpmRun(), [[] for _ in RUN_TABLES]
                items.append(run)
            _add(run, parts, index, row, next(change_ids))
    if run is not None:
        _close(run, parts)
    return PreparedBatch(errors, items)


def _add(run: OpmRun, parts: list[list[bytes]], index: int, checked: bulk.Checked, change_id: int) -> None:
    run.indexes.append(index)
    run.codes.append(checked.data.code)
    for table, data in enumerate((*checked.copy_rows, *bulk_audit.pg_rows(checked.created, change_id))):
        parts[table].append(data)


def _close(run: OpmRun, parts: list[list[bytes]]) -> None:
    """Join the run's rows per table, and note where each row starts."""
    run.tables = [b"".join(rows) for rows in parts]
    run.offsets = [list(itertools.accumulate(map(len, rows), initial=0)) for rows in parts]
