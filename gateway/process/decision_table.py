"""A compiled fast path for the most common decision: input → one decision table → output.

zen-engine evaluates a whole JDM graph per call, about 0.2–0.3 ms on this machine, most of it graph set-up
and conversion rather than the cells themselves; its compiled unary expressions evaluate in about 1 µs.
For a graph that is exactly one decision table between the request and the response, we compile every
cell once with zen's own expression compiler and walk the rows ourselves. The result is the same as zen's
(``tests/process/test_decision_table.py`` checks them against each other); any other graph, or a table
using a feature not handled here, keeps going through zen.

A cell zen cannot evaluate is zen's "no": an input cell that fails (``< 20`` against null or a text, a field
expression that fails) does not match, and a row one of whose outputs fails is passed over as if it had not
matched — the rule author's table goes on to its next row rather than failing the whole decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import zen

_SUPPORTED_HIT_POLICIES = frozenset({"first", "collect"})
#: A field that is a path of plain names (no operator, call or index).
_PATH: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_KEYWORDS: Final = frozenset({"true", "false", "null", "and", "or", "not", "in"})
#: A unary cell of literals only: comparisons, lists and ranges of numbers, strings, booleans and null.
_LITERAL: Final = r"""(-?[0-9]+(\.[0-9]+)?|"[^"\\]*"|'[^'\\]*'|true|false|null)"""
_LITERALS: Final = re.compile(
    rf"((<=|>=|<|>|==|!=)\s*)?{_LITERAL}(\s*,\s*((<=|>=|<|>|==|!=)\s*)?{_LITERAL})*"
    rf"|[\[\(]\s*{_LITERAL}\s*\.\.\s*{_LITERAL}\s*[\]\)]"
)


#: ``$`` of a column whose field expression failed: none of its cells matches (a cell left empty still does).
_FAILED: Final = object()


@dataclass(frozen=True, slots=True)
class _Input:
    field: Any | None  # compiled expression giving ``$``; None: cells are full expressions
    cells: tuple[Any | None, ...]  # per row: a compiled unary (or full) expression, None = any value
    #: The field as a path of names (``payload.amount``), read here instead of by zen; None: an expression.
    path: tuple[str, ...] | None = None
    #: Per row: the cell compares ``$`` with literals only, so zen gets ``$`` alone instead of the context.
    literal: tuple[bool, ...] = ()


@dataclass(frozen=True, slots=True)
class _Output:
    path: tuple[str, ...]
    cells: tuple[Any | None, ...]  # per row: a compiled expression, None = not set


@dataclass(frozen=True, slots=True)
class CompiledTable:
    hit_policy: str
    rows: int
    inputs: tuple[_Input, ...]
    outputs: tuple[_Output, ...]

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The decision's ``result``, as zen would return it (an object; a list for ``collect``)."""
        scope = dict(context)
        values = [_value(i, scope) for i in self.inputs]
        matches = []
        for row in range(self.rows):
            if not self._matches(row, scope, values):
                continue
            output = self._output(row, scope)
            if output is None:
                continue
            if self.hit_policy == "first":
                return output
            matches.append(output)
        return matches if self.hit_policy == "collect" else {}

    def evaluate_many(self, contexts: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self.evaluate(context) for context in contexts]

    def _matches(self, row: int, scope: dict[str, Any], values: list[Any]) -> bool:
        for column, value in zip(self.inputs, values, strict=True):
            cell = column.cells[row]
            if cell is None:
                continue
            if value is _FAILED:
                return False
            try:
                if column.field is None:
                    matched = cell.evaluate(scope)
                elif column.literal[row]:
                    # zen converts every value of the scope it is given: a cell of literals needs ``$`` alone.
                    matched = cell.evaluate({"$": value})
                else:
                    scope["$"] = value
                    matched = cell.evaluate(scope)
            except RuntimeError:  # zen's evaluation error: the cell does not match, as in zen's graph
                return False
            if not matched:
                return False
        return True

    def _output(self, row: int, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The row's outputs; None when one of them fails (zen passes over such a row)."""
        result: dict[str, Any] = {}
        for column in self.outputs:
            cell = column.cells[row]
            if cell is None:
                continue
            target = result
            for part in column.path[:-1]:
                target = target.setdefault(part, {})
            try:
                target[column.path[-1]] = cell.evaluate(scope)
            except RuntimeError:
                return None
        return result


def compile_table(document: Mapping[str, Any]) -> CompiledTable | None:
    """The compiled table, or None when the graph is not input → one table → output (zen handles it)."""
    nodes = document.get("nodes")
    edges = document.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list) or len(nodes) != 3 or len(edges) != 2:
        return None
    types = sorted(str(node.get("type")) for node in nodes if isinstance(node, dict))
    if types != ["decisionTableNode", "inputNode", "outputNode"]:
        return None
    [table] = [node for node in nodes if node.get("type") == "decisionTableNode"]
    by_id = {node.get("id"): node.get("type") for node in nodes}
    links = {
        (by_id.get(edge.get("sourceId")), by_id.get(edge.get("targetId")))
        for edge in edges
        if isinstance(edge, dict)
    }
    if links != {("inputNode", "decisionTableNode"), ("decisionTableNode", "outputNode")}:
        return None
    content = table.get("content") or {}
    if content.get("hitPolicy") not in _SUPPORTED_HIT_POLICIES or content.get("inputField") or content.get(
        "outputPath"
    ):
        return None
    return _compile_content(content)


def _compile_content(content: Mapping[str, Any]) -> CompiledTable | None:
    rules = content.get("rules") or []
    inputs = []
    for column in content.get("inputs") or []:
        field = (column.get("field") or "").strip()
        texts = [str(rule.get(column["id"], "") or "").strip() for rule in rules]
        cells = tuple(_cell(text, unary=bool(field)) for text in texts)
        compiled = zen.compile_expression(field) if field else None
        path = tuple(field.split(".")) if _PATH.fullmatch(field) and field not in _KEYWORDS else None
        inputs.append(_Input(compiled, cells, path, tuple(bool(_LITERALS.fullmatch(text)) for text in texts)))
    outputs = []
    for column in content.get("outputs") or []:
        path = tuple(str(column.get("field") or "").split("."))
        if not all(path):
            return None
        outputs.append(_Output(path, tuple(_cell(rule.get(column["id"], ""), unary=False) for rule in rules)))
    return CompiledTable(str(content["hitPolicy"]), len(rules), tuple(inputs), tuple(outputs))


def _value(column: _Input, scope: dict[str, Any]) -> Any:
    """The column's ``$``: a path read as zen reads it (a missing name or a non-object on the way is null),
    any other field by zen."""
    if column.path is None:
        if column.field is None:
            return None
        try:
            return column.field.evaluate(scope)
        except RuntimeError:
            return _FAILED
    value: Any = scope
    for name in column.path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _cell(text: object, *, unary: bool) -> Any | None:
    source = str(text or "").strip()
    if not source:
        return None
    return zen.compile_unary_expression(source) if unary else zen.compile_expression(source)
