"""Shared by the rule-file tests: the registries a check runs against, and writing files into a rules tree."""

from __future__ import annotations

from pathlib import Path

ACTIONS = frozenset({"send_reminder"})
MESSAGE_TYPES = frozenset({"invoice.overdue", "payment.received"})
TOPICS = frozenset({"payments.events"})

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"


def write_machine(root: Path, text: str, name: str = "demo.yaml") -> Path:
    path = root / "machines" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_decision(root: Path, text: str, name: str = "table.json") -> Path:
    path = root / "decisions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
