"""Replay dry-run: recorded messages through the rules in memory, compared with the recorded outcome.

Inputs: a JSONL file with recorded outcomes (no difference against the rules that made them; the expected
per-key differences against changed rules), and a real SQL-log topic on SQLite, read without writing a
group offset, a group member or a process instance.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from typer.testing import Result

from gateway.bus.base import OutgoingRecord
from gateway.bus.sqllog import SqlLogBus
from gateway.bus.topics import TopicSpec
from gateway.clock import ManualClock
from gateway.process.calendar import PRAGUE
from gateway.process.tables import process_history, process_instance
from gateway.store.db import create_engine
from gateway.store.tables import bus_group_member, bus_group_offset
from schemas.envelope import Envelope, encode, new_envelope
from schemas.process import InvoiceOverdue, PaymentReceived
from tests.process.rules_support import REPO_RULES
from tests.process.test_rules_cli import invoke


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # Commands that read settings point structlog at the runner's stderr, which closes after each invocation.
    yield
    structlog.reset_defaults()


UNTIL = "2026-04-30T00:00:00+02:00"
RR = "process.reminder_requested"


def replay(*args: str) -> Result:
    rules = () if "--rules" in args else ("--rules", str(REPO_RULES))
    return invoke(["replay", "--machine", "reminder", *rules, *args])


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=PRAGUE)


def overdue(key: str, amount: str, when: dt.datetime) -> Envelope:
    body = InvoiceOverdue(invoice=f"FV-{key}", amount=Decimal(amount), final_date=dt.date(2026, 3, 31))
    return new_envelope(body, key=key, now=when)


def paid(key: str, amount: str, when: dt.datetime) -> Envelope:
    return new_envelope(PaymentReceived(amount=Decimal(amount)), key=key, now=when)


# CA-1 pays in full at once; CA-2 never pays (reminder on 16 March, final notice 27 March 10:00);
# CA-3 pays half on 20 March, after its first reminder, which any payment ends.
MESSAGES = [
    overdue("CA-1", "1200.50", at(2)),
    overdue("CA-2", "300.00", at(2, 10)),
    overdue("CA-3", "1000.00", at(2, 11)),
    paid("CA-1", "1200.50", at(5)), paid("CA-3", "500.00", at(20)),
]
RECORDED = {
    "CA-1": {"state": "paid", "states": ["open", "paid"], "emitted": []},
    "CA-2": {"state": "escalated", "states": ["open", "reminded", "escalated"], "emitted": [RR, RR]},
    "CA-3": {"state": "paid", "states": ["open", "reminded", "paid"], "emitted": [RR]},
}


def write_recording(path: Path) -> Path:
    lines = [encode(message).decode() for message in MESSAGES]
    lines += [json.dumps({"recorded": {"key": key, **value}}) for key, value in RECORDED.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_recording_of_the_current_rules_shows_no_difference(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "run.jsonl")
    result = replay("--from", str(recording),
                     "--until", UNTIL)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("replay of machine reminder (version ")
    assert lines[0].endswith(f"from {recording}: 5 message(s), 3 instance key(s)")
    assert lines[1:] == [
        "summary: 3 key(s) replayed, 3 compared with the recording, 0 differ, 0 without a recorded outcome"
    ]


def test_changed_rules_show_the_differences_per_key(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO_RULES, rules)
    machine = rules / "machines" / "reminder.yaml"
    machine.write_text(machine.read_text().replace("after: 10 working days", "after: 15 working days"))
    recording = write_recording(tmp_path / "run.jsonl")
    result = replay("--from", str(recording), "--rules", str(rules),
                     "--until", UNTIL)
    assert result.exit_code == 0, result.output
    # CA-3's half payment now comes while the instance is still open, where it fails the guard.
    assert result.output.splitlines()[1:] == [
        "CA-3: final state: recorded paid, replayed escalated",
        "CA-3: states: recorded [open, reminded, paid], replayed [open, reminded, escalated]",
        f"CA-3: emitted: recorded [{RR}], replayed [{RR}, {RR}]",
        "summary: 3 key(s) replayed, 3 compared with the recording, 1 differ, 0 without a recorded outcome",
    ]


def test_record_writes_a_recording_that_replays_clean(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(encode(m).decode() + "\n" for m in MESSAGES), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    first = replay("--from", str(source),
                    "--until", UNTIL, "--record", str(out))
    assert first.exit_code == 0, first.output
    summary = first.output.splitlines()[-1]
    assert summary.endswith("0 compared with the recording, 0 differ, 3 without a recorded outcome")
    recorded = [json.loads(line)["recorded"] for line in out.read_text().splitlines() if '"recorded"' in line]
    assert {r["key"]: {k: v for k, v in r.items() if k != "key"} for r in recorded} == RECORDED
    again = replay("--from", str(out),
                    "--until", UNTIL)
    summary = again.output.splitlines()[-1]
    assert summary.endswith("3 compared with the recording, 0 differ, 0 without a recorded outcome")


@pytest.mark.parametrize(("line", "error"), [
    ("not json", "error: {file}:2: envelope is not valid JSON"),
    ('{"recorded": {"state": "paid"}}', 'error: {file}:2: expected {{"recorded": '),
])
def test_input_errors_exit_1_naming_the_line(tmp_path: Path, line: str, error: str) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(encode(MESSAGES[0]).decode() + "\n" + line + "\n", encoding="utf-8")
    result = replay("--from", str(source))
    assert result.exit_code == 1
    assert result.output.startswith(error.format(file=source))


def test_unknown_machine_exits_1(tmp_path: Path) -> None:
    source = write_recording(tmp_path / "run.jsonl")
    result = invoke(["replay", "--machine", "nope", "--from", str(source), "--rules", str(REPO_RULES)])
    # The repository's machines, in name order: the reminder demo among the domain machines.
    expected = f"error: no machine 'nope' in {REPO_RULES}/machines (known: "
    assert result.exit_code == 1 and result.output.startswith(expected), result.output
    assert "reminder" in result.output.removeprefix(expected).rstrip(")\n").split(", ")


async def _publish_and_snapshot(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        bus = SqlLogBus(engine, clock=ManualClock(at(2)))
        await bus.ensure_topics([TopicSpec("payments.events", "contract account", partitions=3)], 3)
        await bus.publish([OutgoingRecord("payments.events", m.key, encode(m)) for m in MESSAGES])
        # A real consumer group that has committed part of the topic: its offsets must not move.
        consumer = bus.consumer("process.reminder", ["payments.events"])
        await consumer.start()
        records = await consumer.fetch(2, 1.0)
        assert await consumer.commit({records[0].tp: records[0].offset + 1})
        await consumer.stop()
        return await _snapshot(url)
    finally:
        await engine.dispose()


async def _snapshot(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            ordered = sa.select(bus_group_offset).order_by(*bus_group_offset.primary_key)
            offsets = (await conn.execute(ordered)).all()
            members = (await conn.execute(sa.select(bus_group_member))).all()
            instances = await conn.scalar(sa.select(sa.func.count()).select_from(process_instance))
        return [offsets, members, instances]
    finally:
        await engine.dispose()


def test_replay_from_a_sql_log_topic_has_no_side_effects(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = asyncio.run(_publish_and_snapshot(sqlite_url))
    monkeypatch.setenv("PROUD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("PROUD_KAFKA_BOOTSTRAP", raising=False)  # the SQL log, whatever the shell says
    result = replay("--from", "payments.events:0",
                     "--until", UNTIL, "--record", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("from payments.events:0: 5 message(s), 3 instance key(s)")
    assert asyncio.run(_snapshot(sqlite_url)) == before
    assert before[2] == 0
    # The same outcome as the JSONL recording: the topic's partitions were merged in time order.
    write = [json.loads(line)["recorded"] for line in (tmp_path / "out.jsonl").read_text().splitlines()
             if line.startswith('{"recorded"')]
    assert {r["key"]: r["state"] for r in write} == {key: value["state"] for key, value in RECORDED.items()}


def test_unknown_topic_and_bad_offset_are_input_errors(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROUD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("PROUD_KAFKA_BOOTSTRAP", raising=False)  # the SQL log, whatever the shell says
    result = replay("--from", "no.such.topic")
    assert (result.exit_code, result.output) == (1, "error: no topic 'no.such.topic' on the sql bus\n")
    result = replay("--from", "payments.events:x")
    assert result.exit_code == 1
    assert "expected a .jsonl file or TOPIC[:OFFSET]" in result.output


async def _store_rows(url: str) -> None:
    """What a run left in the store: CA-1 paid, CA-2 still reminded (its final notice not yet handled)."""
    engine = create_engine(url)
    now = at(2)
    rows = {"CA-1": ["open", "paid"], "CA-2": ["open", "reminded"]}
    try:
        async with engine.begin() as conn:
            for key, states in rows.items():
                instance_id = await conn.scalar(process_instance.insert().values(
                    machine="reminder", key=key, version="0" * 12, state=states[-1], data={}, seq=len(states),
                    entered_seq=len(states), transitions=len(states) - 1, created_at=now, updated_at=now,
                ).returning(process_instance.c.id))
                await conn.execute(process_history.insert(), [
                    {"instance_id": instance_id, "seq": seq, "from_state": None, "to_state": state,
                     "transition_at": None, "message_id": MESSAGES[0].id, "message_type": "x", "at": now,
                     "disposition": "transitioned"}
                    for seq, state in enumerate(states, start=1)
                ])
    finally:
        await engine.dispose()


def test_compare_store_reads_states_from_the_store(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_store_rows(sqlite_url))
    monkeypatch.setenv("PROUD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("PROUD_KAFKA_BOOTSTRAP", raising=False)  # the SQL log, whatever the shell says
    source = tmp_path / "in.jsonl"
    source.write_text("".join(encode(m).decode() + "\n" for m in MESSAGES), encoding="utf-8")
    result = replay("--from", str(source),
                     "--until", UNTIL, "--compare-store")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "CA-2: final state: recorded reminded, replayed escalated",
        "CA-2: states: recorded [open, reminded], replayed [open, reminded, escalated]",
        "CA-3: final state: recorded (no instance), replayed paid",
        "CA-3: states: recorded [], replayed [open, reminded, paid]",
        "summary: 3 key(s) replayed, 3 compared with the recording, 2 differ, 0 without a recorded outcome",
    ]
