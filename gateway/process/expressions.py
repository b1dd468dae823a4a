"""Zen expressions and decision tables over a process context, with money kept exact.

Numbers and money
-----------------
Amounts travel as decimal strings on the wire ("1200.50") and are ``Decimal`` in payload structs and in
instance data. Zen has one number type, so for evaluation only, the context is converted: a ``Decimal``
becomes a zen number, and rule authors compare amounts directly::

    guard: "payload.amount >= data.amount_due"      # 1200.50 >= 1200.49 -> true

A field that is a plain string holding digits (not a ``Decimal`` in its struct) stays a string; compare it
with ``number(payload.field)``. Zen computes in decimal arithmetic, but hands results back to Python as
floats, so nothing an expression produces is stored as a float:

* ``set: {amount_due: "payload.amount"}`` — a bare path — copies the original value: ``Decimal("1200.50")``
  stays exactly that (scale included), a string stays a string.
* a computed number comes back as an ``int`` when it is whole, otherwise as the ``Decimal`` of the shortest
  decimal that round-trips the float (``Decimal("0.01")`` for ``1200.50 - 1200.49``). That is exact for
  results of up to 15 significant digits, which covers every amount in CZK to the haléř.
* a ``Decimal`` with more than 15 significant digits is refused rather than rounded for evaluation.

Dates and date-times become ISO strings (zen's ``date()`` parses them).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import zen

from gateway.process.decision_table import compile_table

#: Significant digits a Decimal may have and still pass through zen's float interface exactly.
DECIMAL_DIGITS_MAX = 15
#: Compiled expressions kept; rule files bound the real number, this bounds a pathological one.
EXPRESSIONS_CACHED_MAX = 10_000
#: Integers a float result may represent exactly.
FLOAT_INT_EXACT_MAX = 2**53

_BARE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERALS = frozenset({"true", "false", "null"})
_DECISION_NAME = re.compile(r"[a-z][a-z0-9_]*")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class ExpressionError(Exception):
    """An author's expression or decision failed; ``str()`` names the expression and zen's reason."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"expression {expression!r}: {reason}")
        self.expression = expression
        self.reason = reason


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``payload.switch_date``), or ``MISSING``."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


#: The types zen takes as they are.
_AS_IS: Final = frozenset({str, int, bool, float})


def to_zen(value: Any) -> Any:
    """The JSON-like value zen receives: Decimals as numbers, dates as ISO strings."""
    # Exact types first: this runs over the whole context for every guard, expression and decision, and
    # ``isinstance`` against the ``Mapping`` ABC costs more than the rest of the conversion.
    kind = type(value)
    if kind in _AS_IS or value is None:
        return value
    if kind is dict:  # a plain value is taken as it is here, without a call per value
        return {
            k if type(k) is str else str(k): v if type(v) in _AS_IS or v is None else to_zen(v)
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _AS_IS or v is None else to_zen(v) for v in value]
    if kind is Decimal:
        return _zen_decimal(value)
    return _to_zen_other(value)


def _zen_decimal(value: Decimal) -> float:
    if not value.is_finite() or len(value.as_tuple().digits) > DECIMAL_DIGITS_MAX:
        reason = f"decimal has more than {DECIMAL_DIGITS_MAX} digits or is not finite"
        raise ExpressionError(str(value), reason)
    return float(value)


def _to_zen_other(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): to_zen(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_zen(v) for v in value]
    if isinstance(value, Decimal):
        return _zen_decimal(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def from_zen(value: Any) -> Any:
    """A zen result as a value fit for instance data: never a float (see the module docstring)."""
    if isinstance(value, dict):
        return {k: from_zen(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_zen(v) for v in value]
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(repr(value), "result is not a finite number")
        if value.is_integer() and abs(value) < FLOAT_INT_EXACT_MAX:
            return int(value)
        return Decimal(repr(value))
    return value


def _zen_reason(exc: Exception) -> str:
    text = str(exc).split("\n", 1)[0]
    try:
        detail = json.loads(text)
    except ValueError:
        return text
    if isinstance(detail, dict):
        return f"{detail.get('type', 'error')}: {detail.get('source', text)}"
    return text


class Expressions:
    """Compiles each expression once and evaluates it against a zen context (see ``to_zen``)."""

    def __init__(self) -> None:
        self._compiled: dict[str, Any] = {}
        self._paths: dict[str, object] = {}

    def compile(self, expression: str) -> Any:
        compiled = self._compiled.get(expression)
        if compiled is None:
            try:
                compiled = zen.compile_expression(expression)
            except Exception as exc:  # zen raises RuntimeError with a JSON body
                raise ExpressionError(expression, _zen_reason(exc)) from None
            if len(self._compiled) >= EXPRESSIONS_CACHED_MAX:
                self._compiled.clear()
            self._compiled[expression] = compiled
        return compiled

    def evaluate(self, expression: str, zen_context: Mapping[str, Any]) -> Any:
        compiled = self.compile(expression)
        try:
            return compiled.evaluate(dict(zen_context))
        except Exception as exc:
            raise ExpressionError(expression, _zen_reason(exc)) from None

    def guard(self, expression: str, zen_context: Mapping[str, Any]) -> bool:
        """Truthiness, as in the rules: false, null, 0, "" and empty lists do not hold."""
        return bool(self.evaluate(expression, zen_context))

    def bare_path(self, expression: str) -> str | None:
        """The dotted path ``expression`` is (``set`` copies its value instead of evaluating it), or None."""
        path = self._paths.get(expression, MISSING)
        if path is MISSING:
            text = expression.strip()
            path = text if _BARE_PATH.fullmatch(text) and text not in _LITERALS else None
            if len(self._paths) >= EXPRESSIONS_CACHED_MAX:
                self._paths.clear()
            self._paths[expression] = path
        return path  # type: ignore[return-value]

    def value(
        self, expression: str, context: Mapping[str, Any], zen_context: Mapping[str, Any] | None = None
    ) -> Any:
        """The value to store for ``set``: a bare path copies the original (exact) value. Without
        ``zen_context``, ``to_zen(context)`` is taken when the expression needs evaluating."""
        path = self.bare_path(expression)
        if path is not None:
            found = lookup(context, path)
            return None if found is MISSING else found
        return from_zen(self.evaluate(expression, to_zen(context) if zen_context is None else zen_context))


class Decisions:
    """GoRules JDM decisions from ``directory/<name>.json``, each loaded and compiled once."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._engine = zen.ZenEngine({"loader": self._load})
        self._cache: dict[str, Any] = {}

    def _load(self, key: str) -> str:
        return (self._directory / f"{key}.json").read_text(encoding="utf-8")

    def exists(self, name: str) -> bool:
        return bool(_DECISION_NAME.fullmatch(name)) and (self._directory / f"{name}.json").is_file()

    def _decision(self, name: str) -> Any:
        """The compiled fast path for input → table → output graphs, else zen's own decision."""
        label = f"decision {name}"
        decision = self._cache.get(name)
        if decision is None:
            if not self.exists(name):
                raise ExpressionError(label, f"no file {self._directory / (name + '.json')}")
            try:
                decision = compile_table(json.loads(self._load(name)))
                if decision is None:
                    decision = _ZenDecision(self._engine.get_decision(name))
            except Exception as exc:
                raise ExpressionError(label, _zen_reason(exc)) from None
            self._cache[name] = decision
        return decision

    def evaluate(self, name: str, zen_context: Mapping[str, Any]) -> dict[str, Any]:
        """The decision's result object, converted by ``from_zen``."""
        return self.evaluate_many(name, [zen_context])[0]

    def evaluate_many(self, name: str, zen_contexts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Batch evaluation: the decision is looked up once for all contexts."""
        decision = self._decision(name)
        try:
            raw = decision.evaluate_many(zen_contexts)
        except Exception as exc:
            raise ExpressionError(f"decision {name}", _zen_reason(exc)) from None
        results = []
        for item in raw:
            result = from_zen(item)
            if not isinstance(result, dict):
                raise ExpressionError(f"decision {name}", f"result is {result!r}, expected an object")
            results.append(result)
        return results


class _ZenDecision:
    """zen's decision behind the same interface as ``CompiledTable``."""

    def __init__(self, decision: Any) -> None:
        self._decision = decision

    def evaluate_many(self, contexts: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self._decision.evaluate(dict(context)).get("result") for context in contexts]
