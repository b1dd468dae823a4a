"""A compiled fast path for the most common decision: input → one decision table → output.

zen-engine evaluates a whole JDM graph per call, about 0.2–0.3 ms on this machine, most of it graph set-up
and conversion rather than the cells themselves; its compiled unary expressions evaluate in about 1 µs.
For a graph that is exactly one decision table between the request and the response, we compile every
cell once with zen's own expression compiler and walk the rows ourselves. The result is the same as zen's
(``tests/process/test_decision_table.py`` checks them against each other); any other graph, or a table
using a feature not handled here, keeps going through zen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import zen

_SUPPORTED_HIT_POLICIES = frozenset({"first", "collect"})


@dataclass(frozen=True, slots=True)
class _Input:
    field: Any | None  # compiled expression giving ``$``; None: cells are full expressions
    cells: tuple[Any | None, ...]  # per row: a compiled unary (or full) expression, None = any value


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
        values = [None if i.field is None else i.field.evaluate(scope) for i in self.inputs]
        matches = []
        for row in range(self.rows):
            if self._matches(row, scope, values):
                matches.append(self._output(row, scope))
                if self.hit_policy == "first":
                    return matches[0]
        return matches if self.hit_policy == "collect" else {}

    def evaluate_many(self, contexts: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self.evaluate(context) for context in contexts]

    def _matches(self, row: int, scope: dict[str, Any], values: list[Any]) -> bool:
        for column, value in zip(self.inputs, values, strict=True):
            cell = column.cells[row]
            if cell is None:
                continue
            if column.field is not None:
                scope["$"] = value
            if not cell.evaluate(scope):
                return False
        return True

    def _output(self, row: int, scope: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for column in self.outputs:
            cell = column.cells[row]
            if cell is None:
                continue
            target = result
            for part in column.path[:-1]:
                target = target.setdefault(part, {})
            target[column.path[-1]] = cell.evaluate(scope)
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
        cells = tuple(_cell(rule.get(column["id"], ""), unary=bool(field)) for rule in rules)
        inputs.append(_Input(zen.compile_expression(field) if field else None, cells))
    outputs = []
    for column in content.get("outputs") or []:
        path = tuple(str(column.get("field") or "").split("."))
        if not all(path):
            return None
        outputs.append(_Output(path, tuple(_cell(rule.get(column["id"], ""), unary=False) for rule in rules)))
    return CompiledTable(str(content["hitPolicy"]), len(rules), tuple(inputs), tuple(outputs))


def _cell(text: object, *, unary: bool) -> Any | None:
    source = str(text or "").strip()
    if not source:
        return None
    return zen.compile_unary_expression(source) if unary else zen.compile_expression(source)
