"""The compiled decision-table fast path gives zen-engine's own results."""

from __future__ import annotations

import json
import random
from pathlib import Path

import zen

from gateway.process.decision_table import compile_table

ROOT = Path(__file__).resolve().parents[2]

COLLECT = {
    "nodes": [
        {"id": "in", "type": "inputNode", "name": "in"},
        {
            "id": "t",
            "type": "decisionTableNode",
            "name": "t",
            "content": {
                "hitPolicy": "collect",
                "inputs": [
                    {"id": "a", "field": "payload.amount"},
                    {"id": "s", "field": "data.segment"},
                    {"id": "x"},
                ],
                "outputs": [{"id": "o", "field": "fee.amount"}, {"id": "c", "field": "code"}],
                "rules": [
                    {"_id": "1", "a": "[0..100]", "s": '"household"', "x": "", "o": "10", "c": '"H"'},
                    {
                        "_id": "2",
                        "a": "> 50",
                        "s": "",
                        "x": "data.vip == true",
                        "o": "$ignored ?? 5",
                        "c": "",
                    },
                    {"_id": "3", "a": "", "s": '"business", "household"', "x": "", "o": "1.5", "c": '"ANY"'},
                ],
            },
        },
        {"id": "out", "type": "outputNode", "name": "out"},
    ],
    "edges": [
        {"id": "e1", "sourceId": "in", "targetId": "t"},
        {"id": "e2", "sourceId": "t", "targetId": "out"},
    ],
}


def _zen(document: dict[str, object], context: dict[str, object]) -> object:
    return zen.ZenEngine().create_decision(json.dumps(document)).evaluate(context)["result"]


def test_first_hit_policy_matches_zen_on_the_repository_table() -> None:
    document = json.loads((ROOT / "rules/decisions/reminder_level.json").read_text(encoding="utf-8"))
    table = compile_table(document)
    assert table is not None
    rng = random.Random(5)
    amounts = [
        0,
        4999.99,
        5000,
        5000.01,
        49999.99,
        50000,
        50000.01,
        *(rng.uniform(0, 80000) for _ in range(300)),
    ]
    for amount in amounts:
        context = {"data": {"amount_due": amount}}
        assert table.evaluate(context) == _zen(document, context), amount


def test_collect_policy_multiple_inputs_and_nested_outputs_match_zen() -> None:
    table = compile_table(COLLECT)
    assert table is not None
    rng = random.Random(9)
    for _ in range(300):
        context = {
            "payload": {"amount": rng.choice([0, 50, 50.5, 100, 100.01, 120, rng.uniform(-10, 200)])},
            "data": {
                "segment": rng.choice(["household", "business", "vulnerable"]),
                "vip": rng.random() < 0.5,
            },
        }
        assert table.evaluate(context) == _zen(COLLECT, context), context


def test_other_graphs_are_left_to_zen() -> None:
    assert compile_table({"nodes": [], "edges": []}) is None
    switch = json.loads(json.dumps(COLLECT))
    switch["nodes"][1]["type"] = "switchNode"
    assert compile_table(switch) is None
    unordered = json.loads(json.dumps(COLLECT))
    unordered["nodes"][1]["content"]["hitPolicy"] = "priority"
    assert compile_table(unordered) is None
