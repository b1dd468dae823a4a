"""The compiled decision-table fast path gives zen-engine's own results."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import zen
from hypothesis import given
from hypothesis import strategies as st

from gateway.process.decision_table import _NATIVE_MAGNITUDE, CompiledTable, _number, _value, compile_table

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("reading_missing", "supplied", "price_missing")

COLLECT = {
    "nodes": [
        {"id": "in", "type": "inputNode", "name": "in"},
        {
            "id": "t",
            "type": "decisionTableNode",
            "name": "t",
            "content": {
                "hitPolicy": "collect",
                "inputs": [
                    {"id": "a", "field": "payload.amount"},
                    {"id": "s", "field": "data.segment"},
                    {"id": "x"},
                ],
                "outputs": [{"id": "o", "field": "fee.amount"}, {"id": "c", "field": "code"}],
                "rules": [
                    {"_id": "1", "a": "[0..100]", "s": '"household"', "x": "", "o": "10", "c": '"H"'},
                    {
                        "_id": "2",
                        "a": "> 50",
                        "s": "",
                        "x": "data.vip == true",
                        "o": "$ignored ?? 5",
                        "c": "",
                    },
                    {"_id": "3", "a": "", "s": '"business", "household"', "x": "", "o": "1.5", "c": '"ANY"'},
                ],
            },
        },
        {"id": "out", "type": "outputNode", "name": "out"},
    ],
    "edges": [
        {"id": "e1", "sourceId": "in", "targetId": "t"},
        {"id": "e2", "sourceId": "t", "targetId": "out"},
    ],
}


def _zen(document: dict[str, object], context: dict[str, object]) -> object:
    return zen.ZenEngine().create_decision(json.dumps(document)).evaluate(context)["result"]


def test_first_hit_policy_matches_zen_on_the_repository_table() -> None:
    document = json.loads((ROOT / "rules/decisions/reminder_level.json").read_text(encoding="utf-8"))
    table = compile_table(document)
    assert table is not None
    rng = random.Random(5)
    amounts = [
        0,
        4999.99,
        5000,
        5000.01,
        49999.99,
        50000,
        50000.01,
        *(rng.uniform(0, 80000) for _ in range(300)),
    ]
    for amount in amounts:
        context = {"data": {"amount_due": amount}}
        assert table.evaluate(context) == _zen(document, context), amount


def test_collect_policy_multiple_inputs_and_nested_outputs_match_zen() -> None:
    table = compile_table(COLLECT)
    assert table is not None
    rng = random.Random(9)
    for _ in range(300):
        context = {
            "payload": {"amount": rng.choice([0, 50, 50.5, 100, 100.01, 120, rng.uniform(-10, 200)])},
            "data": {
                "segment": rng.choice(["household", "business", "vulnerable"]),
                "vip": rng.random() < 0.5,
            },
        }
        assert table.evaluate(context) == _zen(COLLECT, context), context


def test_other_graphs_are_left_to_zen() -> None:
    assert compile_table({"nodes": [], "edges": []}) is None
    switch = json.loads(json.dumps(COLLECT))
    switch["nodes"][1]["type"] = "switchNode"
    assert compile_table(switch) is None
    unordered = json.loads(json.dumps(COLLECT))
    unordered["nodes"][1]["content"]["hitPolicy"] = "priority"
    assert compile_table(unordered) is None


def _same(table: CompiledTable, document: dict[str, object], context: dict[str, object]) -> None:
    """The table gives zen's result, or fails where zen fails (a number added to null, say); so does it
    given only the context its inputs read (``input_names``) and the whole for the outputs."""
    names = table.input_names
    inputs = context if names is None else {key: value for key, value in context.items() if key in names}
    try:
        expected = _zen(document, context)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            table.evaluate(context)
        with pytest.raises(RuntimeError):
            table.evaluate(inputs, lambda: context)
        return
    assert table.evaluate(context) == expected, context
    assert table.evaluate(inputs, lambda: context) == expected, context


def test_the_names_the_inputs_read() -> None:
    """A field's first name and the names of the cells that read more than ``$``; a field expression, or a
    cell that may read any name, makes it every name (None)."""
    tables = {
        name: compile_table(json.loads((ROOT / f"rules/decisions/{name}.json").read_text(encoding="utf-8")))
        for name in ("billing_precheck", "billing_postcheck")
    }
    pre, post = tables["billing_precheck"], tables["billing_postcheck"]
    assert pre is not None and post is not None
    assert {"reading_missing", "days_after_period", "supplied", "price_missing", "consumption_kwh",
            "daily_kwh", "history_daily_kwh"} <= (pre.input_names or set())
    assert not {"missing", "texts"} & (pre.input_names or {"missing"})  # only the outputs print them
    post_names = {"total", "days", "consumption_kwh", "history_total", "history_days"}
    assert post_names <= (post.input_names or set())
    assert "texts" not in (post.input_names or {"texts"})
    collect = compile_table(COLLECT)
    assert collect is not None and collect.input_names is not None
    assert {"payload", "data"} <= collect.input_names and "fee" not in collect.input_names
    reads_more = json.loads(json.dumps(COLLECT))
    reads_more["nodes"][1]["content"]["rules"][0]["a"] = "< $root.limit"
    assert (compiled := compile_table(reads_more)) is not None and compiled.input_names is None


def test_the_billing_checks_match_zen() -> None:
    rng = random.Random(11)
    numbers = [-5.0, 0, 0.5, 19, 20, 21, 1234.5]
    flags = [True, False]
    # Facts as ``bill_checks`` gives them: the flags, the days and the total always; the other numbers may be
    # null (the rows that compare them check for null first). Ordering a null is an error to our table and
    # no match to zen's graph: the facts never ask for it.
    always = (*FLAGS, "days_after_period", "total")
    for name in ("billing_precheck", "billing_postcheck"):
        document = json.loads((ROOT / f"rules/decisions/{name}.json").read_text(encoding="utf-8"))
        table = compile_table(document)
        assert table is not None
        for _ in range(400):
            context: dict[str, object] = {
                key: rng.choice(flags if key in FLAGS else numbers) for key in always
            } | {
                key: rng.choice([None, *numbers])
                for key in ("consumption_kwh", "daily_kwh", "history_daily_kwh", "history_total")
                if rng.random() < 0.9  # a fact left out is null
            }
            # The days of the bill always; those of the previous settlement exactly when its total is known.
            context["days"] = rng.choice([1, 31, 365])
            known = context.get("history_total") is not None
            context["history_days"] = rng.choice([1, 30, 366]) if known else None
            # The texts the rows print, as ``bill_checks`` gives them with the flags that need them.
            context |= {"missing": "vt 2026-12-31", "texts": {"NOT_SUPPLIED": "x", "PRICE_MISSING": "y"}}
            context |= {f"{key}_text": None if value is None else f"{value:.2f}"
                        for key in ("total", "history_total", "daily_kwh", "history_daily_kwh")
                        for value in [context.get(key)]}
            _same(table, document, context)


def test_cells_naming_the_context_match_zen() -> None:
    document = json.loads(json.dumps(COLLECT))
    rules = document["nodes"][1]["content"]["rules"]
    rules[0]["a"] = "< data.limit"  # a unary cell that reads the context: it needs the whole scope
    rules[2]["a"] = "[10..20], > 90"
    table = compile_table(document)
    assert table is not None
    rng = random.Random(13)
    for _ in range(300):
        context = {
            "payload": {"amount": rng.choice([5, 15, 50, 95, 150])},
            "data": {"segment": rng.choice(["household", "business"]), "vip": rng.random() < 0.5,
                     "limit": rng.choice([10, 60, 200])},
        }
        _same(table, document, context)


def test_a_field_path_is_read_as_zen_reads_it() -> None:
    table = compile_table(COLLECT)
    assert table is not None
    [amount, segment, _condition] = table.inputs
    assert amount.path == ("payload", "amount") and segment.path == ("data", "segment")
    field = zen.compile_expression("payload.amount")
    for context in ({"payload": {"amount": 5}}, {"payload": {}}, {}, {"payload": "text"}, {"payload": None},
                    {"payload": [1, 2]}, {"payload": {"amount": {"x": 1}}}):
        assert _value(amount, dict(context)) == field.evaluate(context), context


def _one_table(
    fields: list[str], rules: list[list[str]], outputs: list[str], policy: str
) -> dict[str, object]:
    """A graph of one table: a column per field, the rules' cells, one output ``o{n}`` per row's text."""
    inputs = [{"id": f"i{k}", "field": field} for k, field in enumerate(fields)]
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in"},
            {"id": "t", "type": "decisionTableNode", "name": "t", "content": {
                "hitPolicy": policy, "inputs": inputs,
                "outputs": [{"id": "o", "field": "row"}, {"id": "p", "field": "said"}],
                "rules": [
                    {"_id": str(n), "o": str(n), "p": output,
                     **{f"i{k}": cell for k, cell in enumerate(cells)}}
                    for n, (cells, output) in enumerate(zip(rules, outputs, strict=True))
                ],
            }},
            {"id": "out", "type": "outputNode", "name": "out"},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "t"}, {"id": "e2", "sourceId": "t", "targetId": "out"},
        ],
    }


@pytest.mark.parametrize("policy", ["collect", "first"])
@pytest.mark.parametrize(("fields", "cells", "output", "context"), [
    (["a"], ["< 20"], '"x"', {"a": None}),  # ordering null
    (["a"], ["< 20"], '"x"', {}),  # a name the context lacks
    (["a"], [">= 20"], '"x"', {"a": "text"}),  # ordering a text
    (["a"], ["[1..5]"], '"x"', {"a": None}),  # a range against null
    (["a", "b"], ["< 20", "true"], '"x"', {"a": None, "b": True}),
    ([""], ["a < 20"], '"x"', {"a": None}),  # a condition cell
    ([""], ["x + 1 > 2"], '"x"', {"x": "text"}),
    (["x + 1"], ["null"], '"x"', {"x": "text"}),  # a field expression that fails: even null does not match
    (["x + 1"], ['!= null'], '"x"', {"x": "text"}),
    (["a"], [""], "x + 1", {"x": "text"}),  # an output that fails: the row is passed over
    (["a"], [""], "upper(x)", {"x": None}),
    (["a"], ["< 20"], '"x"', {"a": 3}),  # and the same tables where nothing fails
    (["a"], [""], "x + 1", {"x": 1}),
])
def test_a_cell_that_fails_is_no_match_as_in_zen(
    policy: str, fields: list[str], cells: list[str], output: str, context: dict[str, object]
) -> None:
    """A cell zen cannot evaluate does not match, a row whose output fails is passed over, and the next
    row (here one that matches anything) still counts — also for the first hit."""
    document = _one_table(fields, [cells, [""] * len(fields)], [output, '"second"'], policy)
    table = compile_table(document)
    assert table is not None
    expected = _zen(document, context)
    assert table.evaluate(context) == expected
    first_row_failed = context not in ({"a": 3}, {"x": 1})
    assert (expected in ([{"row": 1, "said": "second"}], {"row": 1, "said": "second"})) == first_row_failed


#: Values a context may hold (zen's graph refuses a context with a float beyond its decimals, 1e300 or NaN,
#: as a whole; the billing facts never hold one).
_VALUES: list[object] = [
    None, True, False, 0, 0.0, -0.0, 1, 2, 0.1, 0.3, 0.30000000000000004, 19.999999999999996, 20, 20.0, 21.5,
    -1.5, 10**15, 123456789012345, 1e20, "x", "a", "0", "", [1], {"a": 1}, 19.999, -0.001, 26263.17,
    999999999999.999, 99999999999999.99, 0.1 + 0.2 - 0.3,
]


@pytest.mark.parametrize(("cell", "native"), [
    ("true", True), ("false", True), ("null", True), ("0", True), ("0.1", True), ("-1.5", True),
    ("< 20", True), (">= 20", True), ("< 0.3", True), ("<= -1.5", True), ("> 0", True),
    ("'x'", True), ('"x"', True), ("1, 2", True), ('"a", "b", null', True), ("123456789012345", True),
    ("1234567890123456", False),  # 16 digits: not exactly a float, zen compares it
    ("[1..5]", False), ("!= 5", False), ("== 2", False), ("< x", False),
])
def test_a_cell_of_literals_compared_in_python_matches_zen(cell: str, native: bool) -> None:
    """Each value against the cell, through our table (in Python where it can) and through zen's graph."""
    document = _one_table(["a"], [[cell], [""]], ['"x"', '"second"'], "collect")
    table = compile_table(document)
    assert table is not None
    assert (table.inputs[0].native[0] is not None) == native
    for value in _VALUES:
        context = {"a": value}
        assert table.evaluate(context) == _zen(document, context), (cell, value)


@pytest.mark.parametrize(("condition", "output"), [
    ("a > 1 and b.c == 'x'", "string(a) + b.c"),
    ('a > 1 and "b.c" != b.c', '"a and b: " + string(a)'),  # names inside strings are not read
    ("b != null and b.c == 'x'", "b.c"),
    ("a > 1", "c ?? 'none'"),  # a name the context lacks is null
    ("$root.a > 1", "'x'"),  # a $ name may reach anything: the whole scope
    ("a > 1", "`a is ${a}`"),  # a template: the whole scope
])
def test_an_expression_is_given_the_names_it_mentions_with_zen_s_result(condition: str, output: str) -> None:
    document = _one_table([""], [[condition], [""]], [output, '"second"'], "collect")
    table = compile_table(document)
    assert table is not None
    rng = random.Random(17)
    for _ in range(60):
        context: dict[str, object] = {
            "a": rng.choice([None, 0, 2, 5.5, "text"]),
            "b": rng.choice([None, {"c": "x"}, {"c": "y"}, {}, 3]),
            "unrelated": {"deep": [1, 2, {"x": None}]},
        }
        _same(table, document, context)


def test_the_names_of_an_expression() -> None:
    table = compile_table(_one_table([""], [["a > 1 and b.c == 'x y'"]], ["string(total)"], "collect"))
    assert table is not None
    assert table.inputs[0].names == (("a", "and", "b", "c"),)
    assert table.outputs[1].names == (("string", "total"),)
    whole = compile_table(_one_table([""], [["$root.a > 1"]], ["`x ${a}`"], "collect"))
    assert whole is not None
    assert whole.inputs[0].names == (None,) and whole.outputs[1].names == (None,)


def _number_by_definition(value: float) -> float | None:
    """A float zen converts exactly: finite, below the magnitude, the same when read back from 15 digits."""
    exact = math.isfinite(value) and abs(value) < _NATIVE_MAGNITUDE and float(f"{value:.15g}") == value
    return value if exact else None


@given(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**13), max_value=10**13)
    .map(float),
    st.integers(min_value=-(10**16), max_value=10**16).map(lambda units: units / 1000),
))
def test_a_float_is_compared_in_python_as_its_definition_says(value: float) -> None:
    """``_number``'s shortcut for few decimal places gives what formatting to 15 digits gives."""
    assert _number(value) == _number_by_definition(value), value
