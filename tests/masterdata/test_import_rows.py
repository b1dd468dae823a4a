"""Reading import files, without a database: every bad row is an error naming its line, field, value and
reason, and the rows around it still come through."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.masterdata.importer import detect_format, read_rows
from gateway.masterdata.importer_csv import csv_cells
from gateway.masterdata.importer_rows import LINE_BYTES_MAX, Row, RowError, encode_record
from schemas.masterdata.customers import CustomerIn
from schemas.masterdata.opm import OpmIn
from tests.masterdata.import_support import fake_data, write_csv, write_jsonl


def _read(path: Path, kind: str | None = None) -> list[Row | RowError]:
    return list(read_rows(path, detect_format(path, None), kind))  # type: ignore[arg-type]


def test_jsonl_rows_decode_into_the_input_structs(tmp_path: Path) -> None:
    records = fake_data(21, 3)
    rows = _read(write_jsonl(tmp_path / "a.jsonl", records))
    assert all(isinstance(row, Row) for row in rows)
    assert [row.data for row in rows if isinstance(row, Row)] == records
    first = rows[0]
    assert isinstance(first, Row) and first.kind == "customer" and first.line == 1
    assert "number" in first.given and "from_ares" in first.given


def test_left_out_fields_are_not_given(tmp_path: Path) -> None:
    line = b'{"kind":"account","customer":"1","variable_symbol":"123","billing_cycle":"monthly"}\n'
    (row,) = _read(write_jsonl(tmp_path / "a.jsonl", [line]))
    assert isinstance(row, Row)
    assert row.given == {"customer", "variable_symbol", "billing_cycle"}
    assert row.data.payment_method == "bank_transfer"  # AccountIn's default for a new account


@pytest.mark.parametrize(("line", "field", "reason"), [
    (b'{"kind":"opm","code":', "", "is not valid JSON"),
    (b'{"kind":"house","x":1}', "kind", "must be one of customer, account, opm, contract"),
    (b'{"number":"1"}', "kind", "is required"),
    (b'{"kind":"customer","customer_kind":"person","number":"5","nickname":"x"}', "nickname",
     "is not a known field"),
    (b'{"kind":"account","customer":"1"}', "variable_symbol", "is required in an import"),
    (b'{"kind":"opm","code":"1","dso":"D","supply_address":{"house_number":"1","city":"Brno"},'
     b'"technical":{"effective_from":"2024-01-01"}}', "supply_address.postal_code", "is required"),
    (b'{"kind":"opm","code":"1","dso":"D","supply_address":{"house_number":"1","city":"Brno",'
     b'"postal_code":"60200"},"technical":{"effective_from":"2024-01-01","breaker_amps":"x"}}',
     "technical.breaker_amps", "Expected `int | null`, got `str`"),
])
def test_bad_jsonl_lines_name_line_field_and_reason(
    tmp_path: Path, line: bytes, field: str, reason: str
) -> None:
    good = encode_record(fake_data(22, 1)[0])
    rows = _read(write_jsonl(tmp_path / "a.jsonl", [good, b"\n", line + b"\n", good]))
    assert [type(row) for row in rows] == [Row, RowError, Row]
    error = rows[1]
    assert isinstance(error, RowError)
    assert (error.line, error.field) == (3, field)
    assert reason in error.reason, error.reason
    assert "line 3" in error.message()


def test_wrong_type_reports_the_value(tmp_path: Path) -> None:
    line = b'{"kind":"customer","customer_kind":"person","number":"5","consent_marketing":"maybe"}\n'
    (error,) = _read(write_jsonl(tmp_path / "a.jsonl", [line]))
    assert isinstance(error, RowError)
    found = (error.kind, error.key, error.field, error.value)
    assert found == ("customer", "5", "consent_marketing", "maybe")


def test_an_over_long_line_is_skipped_not_read_whole(tmp_path: Path) -> None:
    good = encode_record(fake_data(23, 1)[0])
    huge = b'{"kind":"customer","note":"' + b"x" * (LINE_BYTES_MAX + 10) + b'"}\n'
    rows = _read(write_jsonl(tmp_path / "a.jsonl", [huge, good]))
    assert isinstance(rows[0], RowError) and "longer than" in rows[0].reason
    assert isinstance(rows[1], Row) and rows[1].line == 2


def test_csv_round_trip_of_every_kind(tmp_path: Path) -> None:
    records = fake_data(24, 5)
    for kind, cls in (("customer", CustomerIn), ("opm", OpmIn)):
        chosen = [record for record in records if isinstance(record, cls)]
        rows = _read(write_csv(tmp_path / f"{kind}.csv", chosen), kind)
        assert all(isinstance(row, Row) for row in rows), rows
        assert [row.line for row in rows] == list(range(2, len(chosen) + 2))
        for row, record in zip(rows, chosen, strict=True):
            assert isinstance(row, Row)
            if isinstance(record, OpmIn):
                assert row.data == record
            else:  # the flat form makes each contact primary
                assert row.data.addresses == record.addresses
                assert [c.value for c in row.data.contacts] == [c.value for c in record.contacts]


def test_csv_errors_name_the_column(tmp_path: Path) -> None:
    opm = next(record for record in fake_data(25, 1) if isinstance(record, OpmIn))
    cells = csv_cells(opm)
    path = tmp_path / "opm.csv"
    columns = [column for column in cells if column != "dso"]  # a missing column
    lines = [",".join(columns), ",".join(cells[c] for c in columns)]
    bad = dict(cells, **{"meter.registers": "VT+XX"})
    lines.append(",".join(bad[c] for c in columns))
    lines.append(",".join(cells[c] for c in columns) + ",extra")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _read(path, "opm")
    assert all(isinstance(row, RowError) for row in rows)
    assert [(row.line, row.field) for row in rows if isinstance(row, RowError)] == [
        (2, "dso"), (3, "meter.registers[1].code"), (4, ""),
    ]


def test_csv_kind_from_option_or_column(tmp_path: Path) -> None:
    customer = fake_data(26, 1)[0]
    with_column = write_csv(tmp_path / "a.csv", [customer], kind_column="customer")
    (row,) = _read(with_column)
    assert isinstance(row, Row) and row.kind == "customer"
    (mismatch,) = _read(with_column, "opm")
    assert isinstance(mismatch, RowError) and mismatch.field == "kind"
    (missing,) = _read(write_csv(tmp_path / "b.csv", [customer]))
    assert isinstance(missing, RowError) and "--kind" in missing.reason


def test_format_from_extension(tmp_path: Path) -> None:
    assert detect_format(tmp_path / "x.NDJSON", None) == "jsonl"
    assert detect_format(tmp_path / "x.txt", "csv") == "csv"
    with pytest.raises(ValueError, match="give --format"):
        detect_format(tmp_path / "x.txt", None)
