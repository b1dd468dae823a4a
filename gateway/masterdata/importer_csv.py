"""CSV import files: one kind per file, nested fields as dotted column names, an empty cell = not given.

Beyond plain dotted paths (``supply_address.street``, ``technical.distribution_rate``) a few columns stand
for list items, so that a spreadsheet row stays flat:

* customers: ``email`` and ``phone`` (one primary contact each); ``permanent_address.street``,
  ``registered_address.city`` … (one address per kind: permanent, registered, billing, correspondence);
* OPM: ``meter.serial``, ``meter.installed_on``, ``meter.registers`` (``VT+NT`` or ``SINGLE``; kWh for an EAN,
  m³ for an EIC) and optionally ``meter.digits``.

Cells are text; msgspec's lax conversion turns them into the struct's types (``"25"`` → 25, ``"true"`` →
True, ISO dates), with the same limits as JSON rows. Errors name the column the user typed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec

from gateway.masterdata.importer_rows import (
    KINDS,
    LINE_TYPES,
    LINE_UNION,
    Kind,
    ReadPosition,
    Record,
    Row,
    RowError,
    alias_field,
    to_row,
    validation_error,
)
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn

_ADDRESS_KINDS: Final = ("permanent", "registered", "billing", "correspondence")
_CONTACT_COLUMNS: Final = ("email", "phone")
_METER_PREFIX: Final = "meter."


def _nest(target: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"column {dotted!r} nests under {part!r}, which is also a column of its own")
        target = child
    target[leaf] = value


def _customer_lists(cells: dict[str, str], data: dict[str, Any], aliases: dict[str, str]) -> None:
    contacts = [{"kind": column, "value": cells.pop(column), "primary": True}
                for column in _CONTACT_COLUMNS if column in cells]
    for index, contact in enumerate(contacts):
        aliases[f"contacts[{index}].value"] = str(contact["kind"])
    if contacts:
        data["contacts"] = contacts
    addresses: list[dict[str, Any]] = []
    for kind in _ADDRESS_KINDS:
        prefix = f"{kind}_address."
        columns = [column for column in cells if column.startswith(prefix)]
        parts = {column[len(prefix):]: cells.pop(column) for column in columns}
        if parts:
            aliases[f"addresses[{len(addresses)}].address"] = f"{kind}_address"
            address: dict[str, Any] = {}
            for name, value in parts.items():
                _nest(address, name, value)
            addresses.append({"kind": kind, "address": address})
    if addresses:
        data["addresses"] = addresses


def _opm_meter(cells: dict[str, str], data: dict[str, Any], aliases: dict[str, str]) -> None:
    parts = {column[len(_METER_PREFIX):]: cells.pop(column) for column in list(cells)
             if column.startswith(_METER_PREFIX)}
    if not parts:
        return
    code = cells.get("code", "")
    # An EAN (electricity) is all digits; an EIC (gas) has letters.
    unit = parts.pop("unit", "kWh" if "".join(code.split()).isdigit() else "m3")
    registers: Any = parts.pop("registers", None)
    digits = parts.pop("digits", None)
    if isinstance(registers, str):
        registers = [{"code": name.strip(), "unit": unit} | ({"digits": digits} if digits else {})
                     for name in registers.split("+")]
    meter: dict[str, Any] = dict(parts)
    if registers is not None:
        meter["registers"] = registers
    aliases["meters[0].registers"] = "meter.registers"
    aliases["meters[0]"] = "meter"
    data["meters"] = [meter]


def row_data(kind: str, cells: dict[str, str], aliases: dict[str, str]) -> dict[str, Any]:
    """The nested form of one CSV record's non-empty cells (``kind`` from the file or the row)."""
    cells = {column: value for column, value in cells.items() if value != ""}
    data: dict[str, Any] = {"kind": kind}
    if kind == "customer":
        _customer_lists(cells, data, aliases)
    elif kind == "opm":
        _opm_meter(cells, data, aliases)
    for column, value in cells.items():
        _nest(data, column, value)
    return data


def _aliased(error: RowError, aliases: dict[str, str]) -> RowError:
    field = alias_field(error.field, aliases)
    return RowError(error.line, error.kind, error.key, field, error.value, error.reason)


def _record(line_no: int, kind: str, cells: dict[str, str]) -> Row | RowError:
    aliases: dict[str, str] = {}
    try:
        data = row_data(kind, cells, aliases)
    except ValueError as exc:
        return RowError(line_no, kind, None, "", None, str(exc))
    try:
        line = msgspec.convert(data, LINE_UNION, strict=False)
    except msgspec.ValidationError as exc:
        return _aliased(validation_error(line_no, exc, data), aliases)
    row = to_row(line_no, line)
    if isinstance(row, Row) and aliases:
        row.aliases = aliases
    return row


def _row_kind(line_no: int, file_kind: Kind | None, cells: dict[str, str]) -> str | RowError:
    row_kind = cells.pop("kind", "") or ""
    if file_kind and row_kind and row_kind != file_kind:
        return RowError(line_no, file_kind, None, "kind", row_kind, f"differs from --kind {file_kind}")
    kind = row_kind or file_kind
    if not kind:
        return RowError(line_no, None, None, "kind", None, "is required: give --kind or a kind column")
    if kind not in KINDS:
        return RowError(line_no, None, None, "kind", kind, f"must be one of {', '.join(KINDS)}")
    return kind


def _counted(stream: Iterable[str], position: ReadPosition) -> Iterator[str]:
    for line in stream:
        position.bytes += len(line.encode())
        yield line


def read_csv(path: Path, kind: Kind | None, position: ReadPosition | None = None) -> Iterator[Row | RowError]:
    """One row per CSV record (a quoted cell may span lines; the record's first line is reported)."""
    assert set(LINE_TYPES) == set(KINDS)
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(_counted(stream, position or ReadPosition()))
        header = next(reader, None)
        if header is None:
            return
        columns = [column.strip() for column in header]
        next_line = reader.line_num + 1
        for record in reader:
            line_no, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(columns):
                reason = f"has {len(record)} cells, the header names {len(columns)} columns"
                yield RowError(line_no, kind, None, "", None, reason)
                continue
            cells = dict(zip(columns, record, strict=False))
            row_kind = _row_kind(line_no, kind, cells)
            yield row_kind if isinstance(row_kind, RowError) else _record(line_no, row_kind, cells)


def _flat(prefix: str, value: Any, cells: dict[str, str]) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            _flat(f"{prefix}.{name}" if prefix else name, inner, cells)
    elif value is not None:
        cells[prefix] = str(value).lower() if isinstance(value, bool) else str(value)


def csv_cells(record: Record) -> dict[str, str]:
    """``record`` as one CSV row of its kind (the inverse of the reading, for exports, examples and tests).

    Only what the flat form holds: the first e-mail and phone contact, one address per kind, the first meter.
    """
    data = msgspec.to_builtins(record, builtin_types=(), str_keys=True)
    cells: dict[str, str] = {}
    if isinstance(record, CustomerIn):
        data["customer_kind"] = data.pop("kind")
        for contact in data.pop("contacts"):
            cells.setdefault(contact["kind"], contact["value"])
        for typed in data.pop("addresses"):
            _flat(f"{typed['kind']}_address", typed["address"], cells)
    elif isinstance(record, OpmIn):
        meters = data.pop("meters")
        if meters:
            meter = meters[0]
            cells |= {"meter.serial": meter["serial"], "meter.installed_on": meter["installed_on"],
                      "meter.registers": "+".join(register["code"] for register in meter["registers"])}
            cells["meter.digits"] = str(meter["registers"][0]["digits"])
    _flat("", data, cells)
    return cells
