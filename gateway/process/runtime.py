"""The process runtime as the daemon runs it: the checked rule set, the handler built from it, and the swap
to a newly loaded rule set between two messages.

Every machine's consumer group dispatches through ``ProcessRuntime.subscription``, which reads the current
handler once per message. A reload builds a complete new handler first and then replaces the reference in
one assignment, so a message is evaluated either wholly on the old definitions or wholly on the new ones.
Instances keep the version they started on (the handler rebuilds old versions from their stored source).

Decisions run from the texts that were checked with the machines, not from whatever the directory holds
when a table is first evaluated: a decision file broken after a good reload must not reach running
definitions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import ProudError, TransientError
from gateway.metrics import Metrics
from gateway.process.actions import ActionRegistry
from gateway.process.calendar import WorkingCalendar
from gateway.process.check import check, registered_message_types
from gateway.process.definition import Machine, Problem
from gateway.process.expressions import Decisions
from gateway.process.handler import ProcessHandler
from gateway.process.loader import RULE_FILES_MAX, load_rules, parse_machine

log = structlog.get_logger(__name__)

#: Problems quoted in a refusal message (start-up error, log line); the HTTP answer lists them all.
RULE_PROBLEMS_SHOWN_MAX = 20
RULE_SUBDIRECTORIES = ("machines", "decisions")


def problem_text(problem: Problem) -> str:
    return f"{problem.where}: {problem.message}"


class RulesRefused(ProudError):
    """The rule files have errors; nothing of them runs. ``problems`` are the errors, by file and line."""

    def __init__(self, root: Path, problems: Sequence[Problem]) -> None:
        shown = [problem_text(problem) for problem in problems[:RULE_PROBLEMS_SHOWN_MAX]]
        more = len(problems) - len(shown)
        tail = f"; and {more} more (run `proud rules check --root {root}`)" if more else ""
        super().__init__(f"{len(problems)} error(s) in the rules in {root}: " + "; ".join(shown) + tail)
        self.root = root
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class CheckedRules:
    """A rule set that passed ``check``: what the runtime runs."""

    root: Path
    machines: Mapping[str, Machine]
    sources: Mapping[str, str]  # machine name -> file text, remembered per version in the database
    decisions: Mapping[str, str]  # table name -> JDM JSON text
    warnings: tuple[Problem, ...]
    fingerprint: str  # of the files as they were before reading them (see ``fingerprint``)
    present: bool = True  # False: the directory does not exist (no machines)

    @property
    def versions(self) -> dict[str, str]:
        return {name: machine.version for name, machine in sorted(self.machines.items())}


def fingerprint(root: Path) -> str:
    """Names, sizes and modification times of the rule files: cheap enough to take on every poll, and
    changed by any save. A change that means nothing (a comment) reloads to the same versions, harmlessly."""
    digest = hashlib.sha256()
    for sub in RULE_SUBDIRECTORIES:
        directory = root / sub
        if not directory.is_dir():
            continue
        # One more than the loader reads: enough to notice any change the loader would see.
        for path in sorted(directory.iterdir())[: RULE_FILES_MAX + 1]:
            try:
                stat = path.stat()
            except FileNotFoundError:  # deleted between listing and stat: the next poll sees it gone
                continue
            digest.update(f"{sub}/{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load_checked(root: Path, *, actions: Collection[str], topics: Collection[str]) -> CheckedRules:
    """Load and check the rules under ``root``; raises ``RulesRefused`` with the errors. Blocking file I/O:
    call it in a thread from the event loop. A directory that does not exist holds no machines."""
    # Taken before reading, so a file saved while we read changes the next fingerprint and is reloaded.
    stamp = fingerprint(root)
    if not root.exists():
        return CheckedRules(root, {}, {}, {}, (), stamp, present=False)
    ruleset = load_rules(root)
    problems = check(ruleset, actions=actions, message_types=registered_message_types(), topics=topics)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise RulesRefused(root, errors)
    warnings = tuple(problem for problem in problems if problem.severity != "error")
    return CheckedRules(root, ruleset.machines, ruleset.sources, ruleset.decisions, warnings, stamp)


class CheckedDecisions(Decisions):
    """Decisions evaluated from the checked texts of one rule set (see the module docstring)."""

    def __init__(self, directory: Path, texts: Mapping[str, str]) -> None:
        self._texts = dict(texts)
        super().__init__(directory)

    def _load(self, key: str) -> str:
        return self._texts[key]

    def exists(self, name: str) -> bool:
        return name in self._texts


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What ``Daemon.reload_rules`` did: the versions now used for new instances, or why it refused."""

    rules_dir: str
    errors: tuple[str, ...] = ()  # non-empty: refused, the running definitions stay
    warnings: tuple[str, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)  # machine -> version new instances start on
    previous: Mapping[str, str] = field(default_factory=dict)  # machine -> version before the reload

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> list[str]:
        """Machines whose version changed, new ones included."""
        return [name for name, version in self.versions.items() if self.previous.get(name) != version]

    def view(self) -> dict[str, Any]:
        if not self.ok:
            return {
                "error": f"{len(self.errors)} error(s) in the rules in {self.rules_dir}; "
                "the running definitions stay in use",
                "problems": list(self.errors), "warnings": list(self.warnings),
            }
        return {
            "status": "reloaded" if self.changed or self.removed else "unchanged",
            "rules_dir": self.rules_dir,
            "machines": [
                {"machine": name, "version": version, "previous_version": self.previous.get(name),
                 "changed": name in self.changed}
                for name, version in self.versions.items()
            ],
            "removed": self.removed,
            "warnings": list(self.warnings),
        }

    @property
    def removed(self) -> list[str]:
        return sorted(set(self.previous) - set(self.versions))


class ProcessRuntime:
    """The rule set in use and the handler built from it, shared by every machine's consumer group."""

    def __init__(self, *, calendar: WorkingCalendar, actions: ActionRegistry, metrics: Metrics) -> None:
        self._calendar, self._actions, self._metrics = calendar, actions, metrics
        self.rules: CheckedRules | None = None
        self.handler = self._handler([], {}, None)

    def _handler(
        self, machines: Sequence[Machine], sources: Mapping[str, str], decisions: Decisions | None
    ) -> ProcessHandler:
        return ProcessHandler(
            machines, calendar=self._calendar, actions=self._actions, decisions=decisions, sources=sources,
            parse=parse_machine,
        )

    def build(self, rules: CheckedRules) -> ProcessHandler:
        decisions = CheckedDecisions(rules.root / "decisions", rules.decisions)
        return self._handler(list(rules.machines.values()), rules.sources, decisions)

    def install(self, rules: CheckedRules, handler: ProcessHandler) -> None:
        # No await between the two: a message being dispatched sees the old pair or the new pair.
        self.rules, self.handler = rules, handler

    @property
    def versions(self) -> dict[str, str]:
        return self.rules.versions if self.rules is not None else {}

    def subscription(self, name: str) -> Subscription:
        """The consumer group of machine ``name``, dispatching each message (or batch) to the handler current
        then: a whole batch is evaluated on one handler."""
        template = self.handler.subscription(name)

        async def dispatch(ctx: HandlerContext) -> None:
            await dispatch_many([ctx])

        async def dispatch_many(contexts: Sequence[HandlerContext]) -> None:
            handler = self.handler
            machine = handler.machines.get(name)
            if machine is None:
                # The daemon stops a removed machine's consumer before installing the rules without it,
                # so this is a race with that stop; retrying lets the stop finish the batch elsewhere.
                raise TransientError(f"machine {name} is no longer loaded")
            dispositions = await handler.apply_many(machine, contexts)
            counters = self._metrics.process_dispositions
            for disposition in dispositions:
                if disposition is not None:
                    # Counted when applied: a batch rolled back and retried counts again. The history table
                    # is the ledger; this is a rate for dashboards.
                    counters.labels(name, disposition).inc()

        return Subscription(template.group_id, template.topics, dispatch, dispatch_many)

    def topics_of(self, name: str) -> tuple[str, ...]:
        return self.handler.subscription(name).topics
