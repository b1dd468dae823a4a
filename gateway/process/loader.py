"""Loading the rule files of a directory: state machines (``machines/*.yaml``) and decisions
(``decisions/*.json``, GoRules JDM) into a ``RuleSet``.

Loading never raises on what a rule author wrote: every problem becomes a ``Problem`` with file and line, and
as much as possible is still built, so that ``check`` (``gateway.process.check``) can report everything in
one run. A rule set is fit to run only when ``check`` finds no error in it.

A machine's ``version`` is a digest of the file's parsed content in a canonical JSON form: comments, key
order, quoting and layout do not change it, any change of meaning does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ProudError
from gateway.process.build import build_machine
from gateway.process.decisions import load_decision
from gateway.process.definition import Machine, Problem, Where
from gateway.process.reader import Reader, read_text

#: Largest machine file read; a bigger one is refused unread (files are written by hand).
RULE_FILE_BYTES_MAX = 1_048_576
#: Files of one kind (machines, decisions) one rule directory may hold.
RULE_FILES_MAX = 1_000
#: Hex digits of the sha256 digest that name a machine version.
VERSION_HEX_DIGITS = 12

MACHINE_SUFFIXES = (".yaml", ".yml")


class RuleFileError(ProudError):
    """A machine text that must be valid is not; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RuleSet:
    root: Path
    machines: Mapping[str, Machine]  # by name; when two files use one name, the first file (by name) wins
    decisions: Mapping[str, str]  # decision table name -> its JDM JSON text; only the ones zen accepts
    problems: tuple[Problem, ...]  # found while loading; ``check`` adds those across files
    loaded: tuple[Machine, ...] = ()  # every machine built, in file order, duplicated names included
    lines: Mapping[str, Mapping[str, Where]] = field(default_factory=dict)  # file -> dotted key path -> where
    sources: Mapping[str, str] = field(default_factory=dict)  # machine name -> its file text (``machines``)

    def where(self, machine: Machine, path: str) -> Where:
        """Where ``path`` (``initial``, ``states.open.transitions[0].target``) of a machine was written."""
        return self.lines.get(machine.where.file, {}).get(path, machine.where)

    @property
    def decision_names(self) -> frozenset[str]:
        return frozenset(self.decisions)


def machine_version(document: Any) -> str:
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_HEX_DIGITS]


def load_rules(root: Path) -> RuleSet:
    problems: list[Problem] = []
    machines: dict[str, Machine] = {}
    loaded: list[Machine] = []
    sources: dict[str, str] = {}
    lines: dict[str, Mapping[str, Where]] = {}
    for path in _files(root / "machines", MACHINE_SUFFIXES, problems):
        reader = Reader(str(path))
        machine, text = _load_machine(reader, path)
        problems.extend(reader.problems)
        lines[reader.file] = reader.lines
        if machine is not None and text is not None:
            loaded.append(machine)
            if machine.name not in machines:
                machines[machine.name] = machine
                sources[machine.name] = text
    decisions: dict[str, str] = {}
    for path in _files(root / "decisions", (".json",), problems):
        text, found = load_decision(path)
        problems.extend(found)
        if text is not None:
            decisions[path.stem] = text
    if not (root / "machines").is_dir() and not (root / "decisions").is_dir():
        problems.append(Problem(Where(str(root), 1), f"no machines/ or decisions/ directory in {root}"))
    return RuleSet(root, machines, decisions, tuple(problems), tuple(loaded), lines, sources)


def _files(directory: Path, suffixes: tuple[str, ...], problems: list[Problem]) -> list[Path]:
    if not directory.is_dir():
        return []
    found = sorted(path for path in directory.iterdir() if path.suffix in suffixes and path.is_file())
    if len(found) > RULE_FILES_MAX:
        message = f"{len(found)} files, more than {RULE_FILES_MAX}: the rest is skipped"
        problems.append(Problem(Where(str(directory), 1), message))
    return found[:RULE_FILES_MAX]


def _load_machine(reader: Reader, path: Path) -> tuple[Machine | None, str | None]:
    text = read_text(path, RULE_FILE_BYTES_MAX, reader.problems)
    return (_parse(reader, text), text) if text is not None else (None, None)


def parse_machine(text: str, label: str) -> Machine:
    """The machine of a YAML text (e.g. an old version's source kept by the runtime); ``label`` names it in
    problems. Raises ``RuleFileError`` if the text has errors: a kept version was valid when it ran."""
    reader = Reader(label)
    machine = _parse(reader, text)
    errors = [problem for problem in reader.problems if problem.severity == "error"]
    if machine is None or errors:
        raise RuleFileError(errors or [Problem(Where(label, 1), "no machine in the text")])
    return machine


def _parse(reader: Reader, text: str) -> Machine | None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        reader.report(_syntax_where(reader, exc), _syntax_message(exc))
        return None
    except yaml.YAMLError as exc:
        reader.report(Where(reader.file, 1), f"YAML syntax error: {exc}")
        return None
    if root is None:
        reader.report(Where(reader.file, 1), "the file is empty; a machine needs machine, initial and states")
        return None
    document = reader.document(root)
    if document is None:
        return None
    return build_machine(reader, root, machine_version(document))


def _syntax_where(reader: Reader, exc: yaml.MarkedYAMLError) -> Where:
    mark = exc.problem_mark or exc.context_mark
    return Where(reader.file, mark.line + 1 if mark is not None else 1)


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        started = f" started at line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
        message += f" ({exc.context}{started})"
    return message
