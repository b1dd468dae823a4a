"""Reading a composed YAML node tree (``yaml.compose``) with the line of every element.

The loader works on nodes, not on constructed Python objects, for two reasons: every problem must name its
line, and YAML 1.1 reads some plain words as other types (``on`` is a boolean, ``10:00`` is the number 600).
Keys and the fields that hold names, paths and expressions are therefore taken as the text the author wrote.
Only literal values (``data``, action parameters) are constructed, with PyYAML's safe constructor and only
for the standard scalar tags, so a rule file can never create an arbitrary Python object.

Problems are collected, never raised: a reader walks as much of a broken file as it can.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Literal

import yaml

from gateway.process.definition import Problem, Where

#: YAML nodes one file may expand to (aliases counted each time they are used): bounds "billion laughs".
RULE_NODES_MAX = 50_000
#: Nesting of literal values (``data``, parameters); a deeper one is a mistake or an alias cycle.
RULE_VALUE_DEPTH_MAX = 32

_TAG = "tag:yaml.org,2002:"
_NULL = _TAG + "null"
_SCALAR_TAGS = frozenset(_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp"))


class _NotPlain(Exception):
    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


def hint(name: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for a near miss, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


class Reader:
    """Problems and the source map (dotted path -> where) of one rule file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.lines: dict[str, Where] = {}
        self._constructor = yaml.constructor.SafeConstructor()
        self._nodes_left = RULE_NODES_MAX

    def where(self, node: yaml.Node) -> Where:
        return Where(self.file, node.start_mark.line + 1)

    def report(
        self, node: yaml.Node | Where, message: str, severity: Literal["error", "warning"] = "error"
    ) -> None:
        where = node if isinstance(node, Where) else self.where(node)
        self.problems.append(Problem(where, message, severity))

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        *,
        allowed: Collection[str] | None = None,
        required: Iterable[str] = (),
        what: str | None = None,
    ) -> dict[str, yaml.Node] | None:
        """The entries of a mapping by key text; unknown, duplicate and missing keys are reported."""
        what = what or path
        if not isinstance(node, yaml.MappingNode):
            self.report(node, f"{what} must be a mapping (key: value lines)")
            return None
        entries: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not key_node.value:
                self.report(key_node, f"keys in {what} must be plain names")
                continue
            key = key_node.value
            if key in entries:
                self.report(key_node, f"duplicate key {key!r} in {what}")
                continue
            if allowed is not None and key not in allowed:
                self.report(key_node, f"unknown key {key!r} in {what}{hint(key, allowed)}")
                continue
            entries[key] = value_node
            self.lines[join(path, key)] = self.where(key_node)
        for key in required:
            if key not in entries:
                self.report(node, f"{what} is missing required key {key!r}")
        return entries

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        """The items of a list; an empty value (``on_entry:``) is an empty list."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, f"{path} must be a list")
            return []
        return list(node.value)

    def text(self, node: yaml.Node, path: str) -> str | None:
        """The text of a scalar as written (``on``, ``10:00`` and ``yes`` stay text), else a problem."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _SCALAR_TAGS:
            self.report(node, f"{path} must be a single value, not a list or mapping")
            return None
        if node.tag == _NULL or not node.value.strip():
            self.report(node, f"{path} must not be empty")
            return None
        return str(node.value)

    def names(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        """A list of texts (``[invoice.overdue, payment.received]``); an empty value is an empty list."""
        if is_null(node):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, f"{path} must be a list, e.g. [a, b]")
            return ()
        names: list[str] = []
        for index, item in enumerate(node.value):
            name = self.text(item, join(path, index))
            if name is not None:
                self.lines[join(path, len(names))] = self.where(item)  # indexed as the result is
                names.append(name)
        return tuple(names)

    def flag(self, node: yaml.Node, path: str) -> bool:
        value = self.plain(node, path)
        if not isinstance(value, bool):
            self.report(node, f"{path} must be true or false")
            return False
        return value

    def integer(self, node: yaml.Node, path: str, *, low: int, high: int) -> int | None:
        value = self.plain(node, path)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.report(node, f"{path} must be a whole number from {low} to {high}")
            return None
        return value

    def plain(self, node: yaml.Node, path: str) -> Any:
        """A literal JSON value (dates become ISO strings), or None with a problem reported."""
        try:
            return self._plain(node, 0)
        except _NotPlain as exc:
            self.report(exc.node, f"{path}: {exc.reason}" if path else exc.reason)
            return None

    def _plain(self, node: yaml.Node, depth: int) -> Any:
        self._nodes_left -= 1
        if self._nodes_left < 0:
            raise _NotPlain(node, f"the file expands to more than {RULE_NODES_MAX} YAML nodes")
        if depth > RULE_VALUE_DEPTH_MAX:
            raise _NotPlain(node, f"nested deeper than {RULE_VALUE_DEPTH_MAX} levels (or an alias cycle)")
        if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _NotPlain(key_node, "mapping keys must be plain names")
                result[str(key_node.value)] = self._plain(value_node, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
            return [self._plain(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
            return self._scalar(node)
        raise _NotPlain(node, f"unsupported YAML tag {node.tag!r}: only plain JSON values are allowed")

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self._constructor.construct_object(node)
        except (ValueError, yaml.YAMLError) as exc:  # e.g. a timestamp like 2026-02-30
            kind = node.tag.removeprefix(_TAG)
            raise _NotPlain(node, f"{node.value!r} is not a valid {kind}: {exc}") from None
        if isinstance(value, dt.date):
            # JSON has no dates; the instance data would hold the ISO text anyway.
            return value.isoformat()
        if isinstance(value, float) and not math.isfinite(value):
            raise _NotPlain(node, f"{node.value!r} is not a finite number")
        return value

    def document(self, node: yaml.Node) -> Any:
        """The whole document as a plain value (for the version digest); None if it is not plain."""
        self._nodes_left = RULE_NODES_MAX
        value = self.plain(node, "")
        # Later reads walk disjoint parts of the same (bounded) tree, each part once.
        self._nodes_left = RULE_NODES_MAX
        return value


def read_text(path: Path, bytes_max: int, problems: list[Problem]) -> str | None:
    """A UTF-8 file of at most ``bytes_max`` bytes, else None with a problem."""
    where = Where(str(path), 1)
    try:
        with path.open("rb") as file:
            data = file.read(bytes_max + 1)  # never more: the file could be anything, or still growing
    except OSError as exc:
        problems.append(Problem(where, f"cannot read the file: {exc.strerror or exc}"))
        return None
    if len(data) > bytes_max:
        problems.append(Problem(where, f"file is larger than {bytes_max} bytes"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(Where(str(path), line), f"not UTF-8 text (byte {exc.start})"))
        return None
