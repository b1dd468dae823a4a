"""A compiled fast path for the most common decision: input → one decision table → output.

zen-engine evaluates a whole JDM graph per call, about 0.2–0.3 ms on this machine, most of it graph set-up
and conversion rather than the cells themselves; its compiled unary expressions evaluate in about 1 µs.
For a graph that is exactly one decision table between the request and the response, we compile every
cell once with zen's own expression compiler and walk the rows ourselves. The result is the same as zen's
(``tests/process/test_decision_table.py`` checks them against each other); any other graph, or a table
using a feature not handled here, keeps going through zen.

Two shortcuts keep zen's results and skip most of its calls (each converts the whole scope it is given):
a cell of plain literals (``true``, ``"household"``, ``0``, ``< 20``, a list of literals) is compared in
Python where the value is one zen converts exactly (``native``; any other value still goes to zen), and an
expression cell is given only the names it mentions (``names``: an expression cannot read a name it does
not mention, unless it reaches the whole context by a ``$`` name, and then it gets the whole scope).

A cell zen cannot evaluate is zen's "no": an input cell that fails (``< 20`` against null or a text, a field
expression that fails) does not match, and a row one of whose outputs fails is passed over as if it had not
matched — the rule author's table goes on to its next row rather than failing the whole decision.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
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
#: A comparison of ``$`` with a number, or a list of plain literals: the cells ``native`` compares in Python.
_ORDERING: Final = re.compile(r"(<=|>=|<|>)\s*(-?[0-9]+(\.[0-9]+)?)")
_PLAIN: Final = re.compile(rf"{_LITERAL}(\s*,\s*{_LITERAL})*")
_ORDER_OPERATORS: Final = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
#: Numbers compared in Python: zen holds numbers as decimals and converts a float to one at about this
#: many significant digits (19.999999999999996 is not ``< 20`` to zen), so a float it might round, or one
#: outside this magnitude, goes to zen.
_NATIVE_DIGITS: Final = 15
_NATIVE_MAGNITUDE: Final = 10**_NATIVE_DIGITS
_MILLI: Final = 1000.0
_STRING: Final = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""")
_NAME: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
#: A cell's verdict on a value: True or False, None where zen must judge it.
Native = Callable[[Any], bool | None]


@dataclass(frozen=True, slots=True)
class _Input:
    field: Any | None  # compiled expression giving ``$``; None: cells are full expressions
    cells: tuple[Any | None, ...]  # per row: a compiled unary (or full) expression, None = any value
    #: The field as a path of names (``payload.amount``), read here instead of by zen; None: an expression.
    path: tuple[str, ...] | None = None
    #: Per row: the cell compares ``$`` with literals only, so zen gets ``$`` alone instead of the context.
    literal: tuple[bool, ...] = ()
    #: Per row: the cell's comparison in Python (``_native``), None: zen's.
    native: tuple[Native | None, ...] = ()
    #: Per row of a column without a field: the names the cell's expression mentions, None: all of them.
    names: tuple[tuple[str, ...] | None, ...] = ()
    #: Per row of a column with a field: the names its unary cell mentions (``$`` left out), None: any.
    cell_names: tuple[tuple[str, ...] | None, ...] = ()


@dataclass(frozen=True, slots=True)
class _Output:
    path: tuple[str, ...]
    cells: tuple[Any | None, ...]  # per row: a compiled expression, None = not set
    names: tuple[tuple[str, ...] | None, ...] = ()  # per row, as ``_Input.names``


@dataclass(frozen=True, slots=True)
class CompiledTable:
    hit_policy: str
    rows: int
    inputs: tuple[_Input, ...]
    outputs: tuple[_Output, ...]
    #: The names of the context the input columns can read (None: any): a caller that converts its
    #: context for zen value by value need convert only these to learn which rows match.
    input_names: frozenset[str] | None = None

    def evaluate(
        self, context: Mapping[str, Any], whole: Callable[[], Mapping[str, Any]] | None = None
    ) -> Any:
        """The decision's ``result``, as zen would return it (an object; a list for ``collect``).
        ``whole``: the whole context, where ``context`` holds only the ``input_names`` (asked for once a
        row matched, for its outputs)."""
        scope = dict(context)
        values = [_value(i, scope) for i in self.inputs]
        matches = []
        for row in range(self.rows):
            if not self._matches(row, scope, values):
                continue
            if whole is not None:
                scope, whole = dict(whole()), None
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
            native = column.native[row]
            if native is not None:
                verdict = native(value)
                if verdict is not None:
                    if not verdict:
                        return False
                    continue
            try:
                if column.field is None:
                    matched = cell.evaluate(_named(scope, column.names[row]))
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
                target[column.path[-1]] = cell.evaluate(_named(scope, column.names[row]))
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
        inputs.append(_Input(
            compiled, cells, path, tuple(bool(_LITERALS.fullmatch(text)) for text in texts),
            native=tuple(_native(text) if field else None for text in texts),
            names=tuple(None if field else _names(text) for text in texts),
            cell_names=tuple(_names(text, unary=True) if field else None for text in texts),
        ))
    outputs = []
    for column in content.get("outputs") or []:
        path = tuple(str(column.get("field") or "").split("."))
        if not all(path):
            return None
        texts = [str(rule.get(column["id"], "") or "").strip() for rule in rules]
        outputs.append(_Output(
            path, tuple(_cell(text, unary=False) for text in texts), tuple(_names(text) for text in texts)
        ))
    return CompiledTable(
        str(content["hitPolicy"]), len(rules), tuple(inputs), tuple(outputs), _input_names(inputs)
    )


def _input_names(inputs: Sequence[_Input]) -> frozenset[str] | None:
    """The names the input columns can read: a field's first name, a cell's names (None: any name)."""
    names: set[str] = set()
    for column in inputs:
        if column.field is not None:
            if column.path is None:
                return None  # a field expression: its names are not kept
            names.add(column.path[0])
        for row, cell in enumerate(column.cells):
            if cell is None or (column.field is not None and column.literal[row]):
                continue  # no cell, or one that reads ``$`` alone
            mentioned = column.names[row] if column.field is None else column.cell_names[row]
            if mentioned is None:
                return None
            names.update(mentioned)
    return frozenset(names)


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


def _named(scope: dict[str, Any], names: tuple[str, ...] | None) -> dict[str, Any]:
    """The part of ``scope`` an expression mentioning ``names`` can read (None: all of it)."""
    if names is None:
        return scope
    return {name: scope[name] for name in names if name in scope}


def _names(source: str, *, unary: bool = False) -> tuple[str, ...] | None:
    """The names an expression mentions outside its string literals (with the harmless extras: property
    names after a dot, keywords, function names); None when it may read more than the names it mentions
    (a ``$`` name such as ``$root``, a template string, a quote left open). ``unary``: a unary cell's,
    whose ``$`` is its column's value."""
    code = _STRING.sub(" ", source)
    if '"' in code or "'" in code or "`" in code:
        return None
    found = set(_NAME.findall(code))
    if unary:
        found.discard("$")
    if any(name.startswith("$") for name in found):
        return None
    return tuple(sorted(found))


def _native(source: str) -> Native | None:
    """The Python comparison of a unary cell of plain literals, as zen makes it; None: not such a cell."""
    ordering = _ORDERING.fullmatch(source)
    if ordering is not None:
        bound = _exact_number(ordering[2])
        compare = _ORDER_OPERATORS[ordering[1]]
        return None if bound is None else lambda value: _ordered(compare, value, bound)
    if not _PLAIN.fullmatch(source):
        return None
    literals = []
    for match in re.finditer(_LITERAL, source):
        literal = _plain(match[0])
        if literal is _FAILED:
            return None
        literals.append(literal)
    return lambda value: _equal_any(value, literals)


def _plain(text: str) -> Any:
    """A literal's value: None, a bool, a text, or a number as a float (``_FAILED``: not exact as one)."""
    if text in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[text]
    if text[0] in "\"'":
        return text[1:-1]
    number = _exact_number(text)
    return _FAILED if number is None else number


def _exact_number(text: str) -> float | None:
    """The number as a float when it has at most ``_NATIVE_DIGITS`` significant digits: the float then
    converts back to it, and compares with a value's float as their decimals compare."""
    number = Decimal(text)
    if len(number.as_tuple().digits) > _NATIVE_DIGITS or abs(number) >= _NATIVE_MAGNITUDE:
        return None
    return float(number)


def _number(value: Any) -> float | int | None:
    """``value`` as a number zen converts exactly; None when it is no number (a bool is none either)."""
    kind = type(value)
    if kind is int:
        return value if -_NATIVE_MAGNITUDE < value < _NATIVE_MAGNITUDE else None
    if kind is float:
        number: float = value
        if not abs(number) < _NATIVE_MAGNITUDE:  # a NaN too
            return None
        # Most facts have a few decimal places (kWh to 0.001, CZK to 0.01): the float nearest such a decimal
        # of at most 15 digits is one (an integer below 2**53 divided by 1000 rounds once, to that float).
        # Anything else is formatted to 15 digits and read back, four times the cost.
        units = round(number * _MILLI)
        if abs(units) < _NATIVE_MAGNITUDE and units / _MILLI == number:
            return number
        return number if float(f"{number:.15g}") == number else None
    return None


def _ordered(compare: Callable[[Any, Any], bool], value: Any, bound: float) -> bool | None:
    """zen's ``< bound`` (and the like): a number compared; null, a bool, a text, a list or an object an error
    zen counts as no match; anything else (a float zen would round) for zen to judge."""
    number = _number(value)
    if number is not None:
        return compare(number, bound)
    return False if value is None or type(value) in (bool, str, list, dict) else None


def _equal_any(value: Any, literals: list[Any]) -> bool | None:
    """Whether ``value`` equals one of the literals as zen compares them: of the same kind and equal."""
    kind = type(value)
    if kind in (int, float):
        number = _number(value)
        if number is None:
            return None
        return any(type(literal) is float and literal == number for literal in literals)
    if value is None:
        return any(literal is None for literal in literals)
    if kind is bool or kind is str:
        return any(type(literal) is kind and literal == value for literal in literals)
    return False if kind in (list, dict) else None
