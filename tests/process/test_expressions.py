"""Zen expressions over a process context: guards, exact money, assignments and decision tables."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.process.expressions import (
    MISSING,
    Decisions,
    ExpressionError,
    Expressions,
    from_zen,
    lookup,
    to_zen,
)
from gateway.process.tables import dumps, loads

CONTEXT: dict[str, Any] = {
    "payload": {"amount": Decimal("1200.50"), "account": "0000123456", "date": "2026-12-01"},
    "data": {"amount_due": Decimal("1200.49"), "count": 2, "nested": {"level": "high"}},
    "state": "open",
}

REMINDER_LEVEL = {
    "nodes": [
        {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
        {
            "id": "tbl",
            "type": "decisionTableNode",
            "name": "level",
            "position": {"x": 200, "y": 0},
            "content": {
                "hitPolicy": "first",
                "inputs": [{"id": "i1", "name": "Amount", "field": "data.amount_due"}],
                "outputs": [
                    {"id": "o1", "name": "Level", "field": "level"},
                    {"id": "o2", "name": "Fee", "field": "fee"},
                ],
                "rules": [
                    {"_id": "r1", "i1": ">= 1000", "o1": '"high"', "o2": "150.50"},
                    {"_id": "r2", "i1": "", "o1": '"low"', "o2": "0"},
                ],
            },
        },
        {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
    ],
    "edges": [
        {"id": "e1", "sourceId": "in", "targetId": "tbl", "type": "edge"},
        {"id": "e2", "sourceId": "tbl", "targetId": "out", "type": "edge"},
    ],
}


def write_decisions(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reminder_level.json").write_text(json.dumps(REMINDER_LEVEL))
    (directory / "broken.json").write_text("{not json")
    return directory


@pytest.fixture
def exprs() -> Expressions:
    return Expressions()


def test_decimal_amounts_compare_exactly_as_zen_numbers(exprs: Expressions) -> None:
    zen_ctx = to_zen(CONTEXT)
    assert exprs.guard("payload.amount >= data.amount_due", zen_ctx)  # 1200.50 >= 1200.49
    assert not exprs.guard("payload.amount < data.amount_due", zen_ctx)
    paid_less = to_zen({**CONTEXT, "payload": {"amount": Decimal("1200.48")}})
    assert not exprs.guard("payload.amount >= data.amount_due", paid_less)
    # A digits-only string field stays a string: compare it as a number explicitly.
    assert exprs.guard("number(payload.account) == 123456", zen_ctx)


def test_guards_use_truthiness(exprs: Expressions) -> None:
    zen_ctx = to_zen(CONTEXT)
    assert exprs.guard("data.count", zen_ctx) and exprs.guard('state == "open"', zen_ctx)
    for falsy in ("data.missing", "0", '""', "false", "[]"):
        assert not exprs.guard(falsy, zen_ctx), falsy


def test_assigned_values_are_never_floats(exprs: Expressions) -> None:
    zen_ctx = to_zen(CONTEXT)
    copied = exprs.value("payload.amount", CONTEXT, zen_ctx)
    assert copied == Decimal("1200.50") and str(copied) == "1200.50"  # scale kept: a copy, not a round trip
    assert exprs.value("payload.account", CONTEXT, zen_ctx) == "0000123456"
    assert exprs.value("data.missing", CONTEXT, zen_ctx) is None
    difference = exprs.value("payload.amount - data.amount_due", CONTEXT, zen_ctx)
    assert difference == Decimal("0.01") and isinstance(difference, Decimal)
    assert exprs.value("data.count + 1", CONTEXT, zen_ctx) == 3 and isinstance(
        exprs.value("data.count + 1", CONTEXT, zen_ctx), int
    )
    tripled = exprs.value("data.amount_due * 3", CONTEXT, zen_ctx)
    assert tripled == Decimal("3601.47")
    assert exprs.value('{total: payload.amount + 0.1, tags: ["a", 1.5]}', CONTEXT, zen_ctx) == {
        "total": Decimal("1200.6"),
        "tags": ["a", Decimal("1.5")],
    }
    assert exprs.value("true", CONTEXT, zen_ctx) is True


def test_stored_data_round_trips_decimals_exactly() -> None:
    data = {"amount_due": Decimal("1200.50"), "count": 3, "ok": True, "none": None, "list": [Decimal("0.1")]}
    text = dumps(data)
    assert '"amount_due":1200.50' in text
    assert loads(text) == data and str(loads(text)["amount_due"]) == "1200.50"
    with pytest.raises(TypeError, match="refusing to store float"):
        dumps({"amount": 0.1})


def test_conversions_for_zen() -> None:
    assert to_zen({"d": dt.date(2026, 1, 2), "t": (Decimal("1.5"),)}) == {"d": "2026-01-02", "t": [1.5]}
    with pytest.raises(ExpressionError, match="more than 15 digits"):
        to_zen(Decimal("1234567890.1234567"))
    assert from_zen(2.0) == 2 and from_zen(0.30000000000000004) == Decimal("0.30000000000000004")
    assert lookup(CONTEXT, "data.nested.level") == "high" and lookup(CONTEXT, "data.x.y") is MISSING


def test_errors_name_the_expression_and_zen_reason(exprs: Expressions) -> None:
    with pytest.raises(ExpressionError) as caught:
        exprs.compile("payload.amount >=")
    assert "'payload.amount >='" in str(caught.value) and "parserError" in str(caught.value)
    with pytest.raises(ExpressionError, match="vmError"):
        exprs.guard("payload.account > 5", to_zen(CONTEXT))


def test_compiled_expressions_are_cached(exprs: Expressions) -> None:
    assert exprs.compile("data.count + 1") is exprs.compile("data.count + 1")


def test_decisions_are_loaded_once_and_results_kept_exact(tmp_path: Path) -> None:
    decisions = Decisions(write_decisions(tmp_path / "decisions"))
    result = decisions.evaluate("reminder_level", to_zen(CONTEXT))
    assert result == {"level": "high", "fee": Decimal("150.5")}
    low = decisions.evaluate("reminder_level", to_zen({"data": {"amount_due": Decimal("99.90")}}))
    assert low == {"level": "low", "fee": 0}
    assert (
        decisions.exists("reminder_level") and not decisions.exists("../etc") and not decisions.exists("nope")
    )
    with pytest.raises(ExpressionError, match="no file"):
        decisions.evaluate("nope", {})
    with pytest.raises(ExpressionError, match="decision broken"):
        decisions.evaluate("broken", {})
