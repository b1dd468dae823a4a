"""The controls of a billing order: the decision tables ``rules/decisions/billing_precheck.json`` (before
billing) and ``billing_postcheck.json`` (on the draft bill) over plain fact dicts.

Both tables use the hit policy ``collect``: every row that matches is one finding ``{code, text}`` (the
pre-check adds ``wait``: a missing reading that may still come, so the order waits instead of being
outsorted). The thresholds (days to wait for a reading, the consumption jump factor, how far above history a
total may go) are cells of the tables, edited in the GoRules editor; nothing here knows them.

A finding whose code a clerk released for the order is dropped: the clerk has looked and said "bill it".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any, Final

import zen

from gateway.errors import ConfigError
from gateway.process.decision_table import CompiledTable, compile_table
from gateway.process.expressions import DECIMAL_DIGITS_MAX, ExpressionError, from_zen, to_zen
from schemas.billing.orders import CheckStage, Finding

PRECHECK_TABLE: Final = "billing_precheck"
POSTCHECK_TABLE: Final = "billing_postcheck"
#: Findings one table may yield; each row yields at most one, so more means a table gone wrong.
FINDINGS_MAX: Final = 50
_ZEN_DIGITS: Final = Context(prec=DECIMAL_DIGITS_MAX, rounding=ROUND_HALF_UP)
#: Seconds between two looks at a table's file: a mass run checks thousands of bills a second, and an edit
#: saved in the GoRules editor may well take a second to apply.
TABLE_RECHECK_S: Final = 1.0
#: Longest finding text kept: a clerk reads it in a list, and a runaway expression must not fill a message.
FINDING_TEXT_CHARS_MAX: Final = 1_000


class PreCheck:
    """Pre-check verdict: ``outsort`` findings stop the order; with none, ``wait`` ones make it wait."""

    # A plain class, not a dataclass: ``bill_inputs.BillInputs`` says why.
    def __init__(self, outsort: tuple[Finding, ...], wait: tuple[Finding, ...]) -> None:
        self.outsort: Final = outsort
        self.wait: Final = wait


class CheckTable:
    """One decision file, compiled once: the fast path for input → table → output, else zen's graph."""

    def __init__(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigError("rules_dir", str(path), f"cannot read the decision table: {exc}") from exc
        self.name = path.stem
        self._compiled: CompiledTable | None = compile_table(document)
        self._zen: Any = None if self._compiled else zen.ZenEngine().create_decision(text)

    def rows(self, facts: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The matching rows' outputs, in table order."""
        label = f"decision {self.name}"
        try:
            if self._compiled is not None:
                # A bill that passes matches no row: the facts only the outputs read are converted when one
                # matches.
                inputs = self._compiled.input_names
                raw = self._compiled.evaluate(zen_facts(facts, inputs), lambda: zen_facts(facts))
            else:
                raw = self._zen.evaluate(zen_facts(facts))["result"]
        except Exception as exc:
            raise ExpressionError(label, str(exc).split("\n", 1)[0]) from None
        result = from_zen(raw)
        if not isinstance(result, list):
            raise ExpressionError(label, f"result is {result!r}, expected a list (hit policy collect)")
        if len(result) > FINDINGS_MAX:
            raise ExpressionError(label, f"{len(result)} findings, more than {FINDINGS_MAX}")
        return result


def zen_facts(facts: Mapping[str, Any], names: Collection[str] | None = None) -> dict[str, Any]:
    """The facts (those of ``names``, None: all) as zen takes them (``to_zen``), each Decimal first cut to
    the digits zen takes exactly: a quotient such as kWh per day (1500 / 181) has 28, which ``to_zen``
    refuses; a comparison with a threshold needs no more than 15. One pass (a bill converts two such
    dicts; cutting into a copy and converting that took twice the time)."""
    return {
        name: _cut(value) if isinstance(value, Decimal) else to_zen(value) for name, value in facts.items()
        if names is None or name in names
    }


def _cut(value: Decimal) -> Any:
    cut = _ZEN_DIGITS.plus(value)
    # At most 15 digits now: the float zen converts back to the same decimal (``to_zen``'s own conversion,
    # without its digit count); a NaN or an infinity goes to ``to_zen`` to be refused there.
    return float(cut) if cut.is_finite() else to_zen(cut)


def finding(table: str, row: object) -> Finding:
    """A table row as a finding; an ``ExpressionError`` naming the table and the row when it is not one."""
    if not isinstance(row, Mapping):
        raise ExpressionError(f"decision {table}", f"row {row!r} is not an object")
    code, text = row.get("code"), row.get("text")
    if not isinstance(code, str) or not code or not isinstance(text, str):
        raise ExpressionError(f"decision {table}", f"row {dict(row)!r} needs a text `code` and `text`")
    return Finding(code=code, text=text[:FINDING_TEXT_CHARS_MAX])


class Checks:
    """The two tables of a rules directory, read when first needed and again when a file changes (the
    GoRules editor saves over them; a daemon without billing still starts)."""

    def __init__(self, rules_dir: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._directory = rules_dir / "decisions"
        self._monotonic = monotonic
        #: Name → (the file's mtime, the table, when the file was last looked at).
        self._tables: dict[str, tuple[int, CheckTable, float]] = {}

    def table(self, name: str) -> CheckTable:
        """The table, read again when its file changed (looked at once per ``TABLE_RECHECK_S``)."""
        known = self._tables.get(name)
        now = self._monotonic()
        if known is not None and now - known[2] < TABLE_RECHECK_S:
            return known[1]
        path = self._directory / f"{name}.json"
        try:
            changed = path.stat().st_mtime_ns
        except OSError as exc:
            raise ConfigError("rules_dir", str(path), f"no decision table: {exc}") from exc
        table = known[1] if known is not None and known[0] == changed else CheckTable(path)
        self._tables[name] = (changed, table, now)
        return table

    def precheck(self, facts: Mapping[str, Any], released: Collection[str] = ()) -> PreCheck:
        table = self.table(PRECHECK_TABLE)
        outsort: list[Finding] = []
        wait: list[Finding] = []
        for row in table.rows(facts):
            found = finding(table.name, row)
            if found.code not in released:
                (wait if row.get("wait") is True else outsort).append(found)
        return PreCheck(tuple(outsort), tuple(wait))

    def postcheck(self, facts: Mapping[str, Any], released: Collection[str] = ()) -> tuple[Finding, ...]:
        table = self.table(POSTCHECK_TABLE)
        found = (finding(table.name, row) for row in table.rows(facts))
        return tuple(item for item in found if item.code not in released)


class TableDecision:
    """The decision ``bill_contract`` calls per stage (``gateway.billing.bill_checks.CheckDecision``), from
    the tables. One per bill: it remembers whether the pre-check found only readings worth waiting for."""

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        #: The pre-check's findings that wait, when nothing else outsorted the order.
        self.waiting: tuple[Finding, ...] = ()

    def __call__(
        self, stage: CheckStage, facts: Mapping[str, Any], released: frozenset[str]
    ) -> tuple[Finding, ...]:
        if stage == "post":
            return self.checks.postcheck(facts, released)
        verdict = self.checks.precheck(facts, released)
        self.waiting = () if verdict.outsort else verdict.wait
        return verdict.outsort + verdict.wait

    def only_waiting(self, findings: Collection[Finding]) -> bool:
        """Whether ``findings`` (of an outsorted pre-check) are all ones the table said to wait for."""
        waiting = {finding.code for finding in self.waiting}
        return bool(waiting) and all(finding.code in waiting for finding in findings)
