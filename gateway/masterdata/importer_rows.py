"""Reading import files: JSONL and CSV lines into typed rows, streamed, each with its line number.

A row is decoded into a *line struct*: the fields of ``CustomerIn`` / ``AccountIn`` / ``OpmIn`` /
``ContractIn`` with the same types and limits, tagged by ``kind``, where every optional field defaults to
``UNSET``. That tells a field left out (keep the stored value on a re-import) from one given with its default.
The customer's own ``kind`` (person or company) is spelt ``customer_kind``, since ``kind`` names the record.

A row that cannot be decoded becomes a ``RowError`` naming its line, the field (dotted path), the value and
the reason; reading goes on with the next line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, Union, get_args

import msgspec

from schemas.masterdata.accounts import AccountIn
from schemas.masterdata.contracts import ContractIn
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn

Kind = Literal["customer", "account", "opm", "contract"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
Format = Literal["jsonl", "csv"]
Record = CustomerIn | AccountIn | OpmIn | ContractIn
INPUT_TYPES: Final[dict[Kind, type[Any]]] = {
    "customer": CustomerIn, "account": AccountIn, "opm": OpmIn, "contract": ContractIn,
}
#: The field holding each kind's natural key (required in an import row).
KEY_FIELDS: Final[dict[Kind, str]] = {
    "customer": "number", "account": "variable_symbol", "opm": "code", "contract": "number",
}
#: Renamed fields: (kind, field of the input struct) → name in the import row.
_RENAMED: Final = {("customer", "kind"): "customer_kind"}
#: Longest JSONL line read; a longer one is reported and skipped rather than read whole into memory.
LINE_BYTES_MAX: Final = 1 << 20
#: Bytes read at a time while skipping the rest of an over-long line.
_SKIP_CHUNK_BYTES: Final = 1 << 16
#: CSV cells may hold up to a line's worth of text.
csv.field_size_limit(LINE_BYTES_MAX)


@dataclass(frozen=True, slots=True)
class RowError:
    """Why row ``line`` was not imported. ``field`` is a dotted path ("" for the row itself)."""

    line: int
    kind: str | None
    key: str | None
    field: str
    value: Any
    reason: str

    def message(self) -> str:
        where = f"{self.kind} {self.key}" if self.key else (self.kind or "row")
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"line {self.line}: {where}: {self.field or 'row'}: {self.reason}{shown}"


@dataclass(slots=True)
class ReadPosition:
    """Bytes of the file read so far, for a progress bar over the file's size."""

    bytes: int = 0


@dataclass(slots=True)
class Row:
    """A decoded row: ``data`` is the input struct, ``given`` the top-level fields the row names."""

    line: int
    kind: Kind
    key: str
    data: Any
    given: frozenset[str] = field(default_factory=frozenset)
    #: CSV only: path prefixes of the struct and the columns they came from ("meters[0]" → "meter").
    aliases: dict[str, str] | None = None
    #: ``data`` was built from a line msgspec's typed decoder accepted, so it meets its types' constraints
    #: (lengths, ranges, patterns) and the services need not check them again (``validate_opm_in``).
    decoded: bool = False


def alias_field(path: str, aliases: dict[str, str] | None) -> str:
    """``path`` with its longest aliased prefix replaced by the column it came from."""
    for prefix, column in sorted((aliases or {}).items(), key=lambda item: -len(item[0])):
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return column + path[len(prefix):]
    return path


def _line_struct(kind: Kind, source: type[Any]) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, Any] | tuple[str, Any]] = []
    for info in msgspec.structs.fields(source):
        name = _RENAMED.get((kind, info.name), info.name)
        if info.required:
            fields.append((name, info.type))
        else:
            fields.append((name, info.type | msgspec.UnsetType, msgspec.UNSET))
    return msgspec.defstruct(
        f"{source.__name__}Line", fields, tag=kind, tag_field="kind", forbid_unknown_fields=True,
        kw_only=True, frozen=True,
    )


LINE_TYPES: Final[dict[Kind, type[msgspec.Struct]]] = {
    kind: _line_struct(kind, source) for kind, source in INPUT_TYPES.items()
}
_LINE_KIND: Final = {line_type: kind for kind, line_type in LINE_TYPES.items()}
LINE_UNION: Any = Union[tuple(LINE_TYPES.values())]  # noqa: UP007 - a runtime union of generated types
_decoder: Final = msgspec.json.Decoder(LINE_UNION)
_FIELD_NAMES: Final = {
    kind: tuple((info.name, _RENAMED.get((kind, info.name), info.name)) for info in msgspec.structs.fields(t))
    for kind, t in INPUT_TYPES.items()
}


def to_row(line_no: int, line: Any) -> Row | RowError:
    """The input struct in a line struct msgspec decoded (or converted), and the fields it gave; a missing
    natural key is an error."""
    kind = _LINE_KIND[type(line)]
    values = {name: value for name, line_name in _FIELD_NAMES[kind]
              if (value := getattr(line, line_name)) is not msgspec.UNSET}
    key_field = KEY_FIELDS[kind]
    key = values.get(key_field)
    if not key:
        reason = "is required in an import: the natural key finds the record again on a re-import"
        return RowError(line_no, kind, None, key_field, key, reason)
    # The line struct has the input struct's field types, constraints included: decoding checked them.
    return Row(line_no, kind, str(key), INPUT_TYPES[kind](**values), frozenset(values), decoded=True)


_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<name>[^`]*)`$")


def _walk(data: Any, path: str) -> Any:
    """The value at dotted ``path`` (``a.b[0].c``) in decoded JSON, None where there is none."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("[") and isinstance(data, list) and int(part[1:-1]) < len(data):
            data = data[int(part[1:-1])]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def validation_error(line_no: int, exc: msgspec.ValidationError, raw: Any) -> RowError:
    """msgspec's message as a row error: the path becomes the field, the rest the reason."""
    match = _AT.match(str(exc))
    assert match is not None
    reason, path = match["reason"], (match["path"] or "").lstrip(".")
    named = _NAMED.match(reason)
    if named:
        path = f"{path}.{named['name']}".lstrip(".")
        reason = "is required" if named["what"] == "missing required" else "is not a known field"
    kind = raw.get("kind") if isinstance(raw, dict) else None
    kind = kind if kind in KINDS else None
    key = raw.get(KEY_FIELDS[kind]) if kind and isinstance(raw, dict) else None
    if path == "kind" and not named:
        reason = f"must be one of {', '.join(KINDS)}"
    value = None if named and reason == "is required" else _walk(raw, path)
    return RowError(line_no, kind, key if isinstance(key, str) else None, path, value, reason)


def decode_json_line(line_no: int, line: bytes) -> Row | RowError:
    try:
        return to_row(line_no, _decoder.decode(line))
    except msgspec.ValidationError as exc:
        return validation_error(line_no, exc, msgspec.json.decode(line))
    except msgspec.DecodeError as exc:
        return RowError(line_no, None, None, "", None, f"is not valid JSON ({exc})")


def read_jsonl(path: Path, position: ReadPosition | None = None) -> Iterator[Row | RowError]:
    """One row per non-blank line, read one line at a time."""
    for line_no, line in jsonl_lines(path, position):
        yield too_long(line_no) if line is None else decode_json_line(line_no, line)


def jsonl_lines(path: Path, position: ReadPosition | None = None) -> Iterator[tuple[int, bytes | None]]:
    """The non-blank lines of a JSONL file with their numbers, undecoded; None for a line too long to read."""
    position = position or ReadPosition()
    with path.open("rb") as stream:
        line_no = 0
        while line := stream.readline(LINE_BYTES_MAX + 1):
            line_no += 1
            position.bytes += len(line)
            if len(line) > LINE_BYTES_MAX and not line.endswith(b"\n"):
                while (rest := stream.readline(_SKIP_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                    position.bytes += len(rest)
                position.bytes += len(rest)
                yield line_no, None
                continue
            if line.strip():
                yield line_no, line


def too_long(line_no: int) -> RowError:
    return RowError(line_no, None, None, "", None, f"is longer than {LINE_BYTES_MAX} bytes")


def check_kind(row: Row | RowError, kind: Kind | None) -> Row | RowError:
    """``row``, or an error when ``kind`` (``--kind``) is given and the row is of another kind."""
    if kind is not None and isinstance(row, Row) and row.kind != kind:
        return RowError(row.line, row.kind, row.key, "kind", row.kind, f"differs from --kind {kind}")
    return row


def decode_lines(lines: Iterator[bytes]) -> Iterator[Row | RowError]:
    """Rows of JSONL lines produced in memory (demo data), numbered from 1."""
    for line_no, line in enumerate(lines, start=1):
        yield decode_json_line(line_no, line)


_KIND_OF_TYPE: Final = {source: kind for kind, source in INPUT_TYPES.items()}
_encoder: Final = msgspec.json.Encoder(decimal_format="number")


def encode_record(record: Record) -> bytes:
    """``record`` as one JSONL import line (``kind`` first; a customer's own kind as ``customer_kind``)."""
    kind = _KIND_OF_TYPE[type(record)]
    # Decimals stay numbers (the encoder writes them exactly), not the strings to_builtins would make.
    data = msgspec.to_builtins(record, builtin_types=(Decimal,), str_keys=True)
    head = {"kind": kind}
    if kind == "customer":
        head["customer_kind"] = data.pop("kind")
    return _encoder.encode(head | data) + b"\n"
