"""Checking one GoRules JDM decision file (``rules/decisions/NAME.json``) the way zen-engine will read it.

Zen's own ``create_decision`` and ``validate`` catch a malformed graph (missing nodes, cycles, no input
node) but not a broken cell of a decision table: that one would only fail, or silently never match, when a
message comes. So the cells are compiled here too: input cells as unary expressions (``>= 10000``), output
cells and expression nodes as expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zen

from gateway.process.definition import Problem, Where
from gateway.process.reader import read_text

#: Largest decision file read; JDM files come from an editor and big tables are normal, but bounded.
DECISION_FILE_BYTES_MAX = 4_194_304

DECISION_NAME = re.compile(r"[a-z][a-z0-9_]*")


def load_decision(path: Path) -> tuple[str | None, list[Problem]]:
    """The JSON text of a decision zen accepts, or None; and the problems found."""
    problems: list[Problem] = []
    where = Where(str(path), 1)
    if not DECISION_NAME.fullmatch(path.stem):
        message = f"bad decision name {path.stem!r}: name the file [a-z][a-z0-9_]*.json"
        problems.append(Problem(where, message))
        return None, problems
    text = read_text(path, DECISION_FILE_BYTES_MAX, problems)
    if text is None:
        return None, problems
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(Where(str(path), exc.lineno), f"JSON syntax error: {exc.msg}"))
        return None, problems
    shape = _shape_problem(document)
    if shape is not None:
        problems.append(Problem(where, shape))
        return None, problems
    try:
        zen.ZenEngine().create_decision(text).validate()
    except Exception as exc:  # zen raises RuntimeError with its reason in the text
        problems.append(Problem(where, f"zen-engine refuses the decision: {zen_reason(exc)}"))
        return None, problems
    for anchor, message in _cells(document):
        problems.append(Problem(Where(str(path), _line_of(text, anchor)), message))
    return (None if problems else text), problems


def zen_reason(exc: BaseException) -> str:
    """Zen's reason without the Rust stack trace it appends; a JSON reason as ``type: source``."""
    text = str(exc).split("\n\nStack backtrace", 1)[0].strip()
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    try:
        detail = json.loads(text)
    except ValueError:
        return text
    if isinstance(detail, dict):
        rest = ", ".join(f"{key}={value}" for key, value in detail.items() if key not in ("type", "source"))
        reason = f"{detail.get('type', 'error')}: {detail.get('source', '')}".rstrip(": ")
        return f"{reason} ({rest})" if rest else reason
    return text


def _shape_problem(document: object) -> str | None:
    if not isinstance(document, dict):
        return "a decision file must hold a JSON object (a GoRules JDM graph)"
    for key in ("nodes", "edges"):
        if not isinstance(document.get(key), list):
            return f"a JDM graph needs a {key!r} list"
    return None


def _cells(document: dict[str, Any]) -> Iterator[tuple[tuple[str, str], str]]:
    """(text to find the line by, problem) for every expression zen would fail on at evaluation."""
    for node in document["nodes"]:
        content = node.get("content") if isinstance(node, dict) else None
        if not isinstance(content, dict):
            continue
        label = f"node {node.get('name', node.get('id'))!r}"
        if node.get("type") == "decisionTableNode":
            yield from _table_cells(label, content)
        elif node.get("type") == "expressionNode":
            for item in content.get("expressions") or []:
                if isinstance(item, dict):
                    problem = _compile(zen.compile_expression, str(item.get("value", "")))
                    if problem:
                        message = f"{label}, expression {item.get('key')!r}: {problem}"
                        yield ("id", str(item.get("id", ""))), message


def _table_cells(label: str, content: dict[str, Any]) -> Iterator[tuple[tuple[str, str], str]]:
    inputs = {str(column.get("id")) for column in content.get("inputs") or [] if isinstance(column, dict)}
    outputs = {str(column.get("id")) for column in content.get("outputs") or [] if isinstance(column, dict)}
    for number, rule in enumerate(content.get("rules") or [], start=1):
        if not isinstance(rule, dict):
            continue
        for column, cell in rule.items():
            if not isinstance(cell, str) or not cell.strip():
                continue  # an empty input cell matches anything; an empty output cell yields null
            compile_ = zen.compile_unary_expression if column in inputs else zen.compile_expression
            problem = _compile(compile_, cell) if column in inputs | outputs else None
            if problem:
                yield ("_id", str(rule.get("_id", ""))), f"{label}, rule {number}, cell {cell!r}: {problem}"


def _compile(compile_: Any, expression: str) -> str | None:
    try:
        compile_(expression)
    except Exception as exc:
        return zen_reason(exc)
    return None


def _line_of(text: str, anchor: tuple[str, str]) -> int:
    # json keeps no positions; the id of the rule or expression finds its line.
    key, value = anchor
    match = re.search(rf'"{re.escape(key)}"\s*:\s*"{re.escape(value)}"', text) if value else None
    return text.count("\n", 0, match.start()) + 1 if match else 1
