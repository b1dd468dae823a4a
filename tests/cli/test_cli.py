"""The ``proud`` command line against real databases: exit codes, messages, migrate, topics, dead letters,
and ``proud run`` as a real process that answers HTTP and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from gateway.bus import dlq
from gateway.bus.base import Record
from gateway.cli.main import app
from gateway.store.db import create_engine
from gateway.store.migrate import head_revision
from gateway.store.tables import outbox
from tests.http.support import free_port, wait_for
from tests.masterdata.letter_support import write_template

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
#: ``proud run`` must come up, and later stop, within this on a loaded 2-core box.
RUN_WAIT_S_MAX = 60.0


def clean_environ(**settings: str) -> dict[str, str | None]:
    """Only our PROUD_* settings: ones in the outer environment are unset for the command."""
    env: dict[str, str | None] = {
        key: None for key in os.environ if key.startswith("PROUD_") and not key.startswith("PROUD_TEST_")
    }
    env.update({f"PROUD_{name.upper()}": value for name, value in settings.items()})
    env["COLUMNS"] = "200"  # tables wide enough that ids are never folded
    return env


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def database_url(env: dict[str, str | None]) -> str:
    return f"sqlite+aiosqlite:///{Path(str(env['PROUD_DATA_DIR'])).resolve() / 'proud.db'}"


async def add_dead_letter(url: str) -> uuid.UUID:
    engine = create_engine(url)
    failure = dlq.Failure(
        reason="unusable message: MalformedMessage: not JSON", error_type="MalformedMessage", attempts=1,
        first_error="MalformedMessage: not JSON", first_error_at=NOW,
        last_error="MalformedMessage: not JSON", last_error_at=NOW,
    )
    try:
        async with engine.begin() as conn:
            return await dlq.add(
                conn, group_id="proud.bench-counter", record=Record("bench.events", 3, 41, "k1", b"[oops]"),
                failure=failure, message_id=None, message_type=None, now=NOW,
            )
    finally:
        await engine.dispose()


async def outbox_topics(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.select(outbox.c.topic).order_by(outbox.c.seq))).scalars())
    finally:
        await engine.dispose()


def test_bad_environment_value_exits_2_naming_key_and_value(data_env: dict[str, str | None]) -> None:
    result = invoke(["migrate"], {**data_env, "PROUD_HTTP_PORT": "99999"})
    assert result.exit_code == 2
    assert "error: setting PROUD_HTTP_PORT='99999'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("position", ["before", "after"])
def test_bad_config_file_value_exits_2(
    data_env: dict[str, str | None], tmp_path: Path, position: str
) -> None:
    config = tmp_path / "proud.toml"
    config.write_text("retry_attempts_max = 0\n", encoding="utf-8")
    args = ["--config", str(config), "dlq", "list"] if position == "before" else [
        "dlq", "list", "--config", str(config)
    ]
    result = invoke(args, data_env)
    assert result.exit_code == 2
    assert f"error: setting {config}:retry_attempts_max=0:" in result.stderr


def test_missing_config_file_exits_2(data_env: dict[str, str | None], tmp_path: Path) -> None:
    result = invoke(["topics", "--config", str(tmp_path / "nope.toml")], data_env)
    assert result.exit_code == 2 and "cannot read file" in result.stderr


def test_bad_welcome_letter_template_stops_run_with_exit_2(
    data_env: dict[str, str | None], tmp_path: Path
) -> None:
    template = write_template(tmp_path, ('greeting = "Dobrý den,"', 'greeting = "Ahoj {customr_name},"'))
    result = invoke(["run"], {**data_env, "PROUD_WELCOME_LETTER_TEMPLATE": str(template)})
    assert result.exit_code == 2, result.output
    assert f"error: welcome letter template {template}: body.greeting: unknown placeholder" in result.stderr
    assert "Traceback" not in result.output


def test_migrate_fresh_sqlite_file(data_env: dict[str, str | None]) -> None:
    for _ in range(2):  # a second run finds the database at head and changes nothing
        result = invoke(["migrate"], data_env)
        assert result.exit_code == 0, result.output
        assert f"at revision {head_revision()} (head)" in result.stdout
    assert Path(str(data_env["PROUD_DATA_DIR"]), "proud.db").is_file()


def test_commands_on_an_unmigrated_database_ask_for_migrate(data_env: dict[str, str | None]) -> None:
    result = invoke(["dlq", "list"], data_env)
    assert result.exit_code == 2 and "run `proud migrate`" in result.stderr


def test_dlq_list_show_replay(migrated_env: dict[str, str | None]) -> None:
    url = database_url(migrated_env)
    letter_id = str(asyncio.run(add_dead_letter(url)))

    listing = invoke(["dlq", "list", "--json"], migrated_env)
    assert listing.exit_code == 0, listing.output
    view = json.loads(listing.stdout)
    assert [letter["id"] for letter in view["dead_letters"]] == [letter_id]
    assert view["open"] == [{"topic": "bench.events", "group": "proud.bench-counter", "count": 1}]
    table = invoke(["dlq", "list", "--topic", "bench.events", "--limit", "5"], migrated_env)
    assert table.exit_code == 0 and letter_id in table.stdout and "bench.events[3]@41" in table.stdout

    shown = invoke(["dlq", "show", letter_id, "--json"], migrated_env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["value"] == "[oops]"
    shown_table = invoke(["dlq", "show", letter_id], migrated_env)
    assert "[oops]" in shown_table.stdout  # data, not rich markup

    replayed = invoke(["dlq", "replay", letter_id], migrated_env)
    assert replayed.exit_code == 0, replayed.output
    assert "queued for replay to bench.events" in replayed.stdout and "outbox" in replayed.stdout
    assert asyncio.run(outbox_topics(url)) == ["bench.events.dlq", "bench.events"]  # dlq copy, then replay

    again = invoke(["dlq", "replay", letter_id], migrated_env)
    assert again.exit_code == 1 and "already replayed" in again.stderr
    replayed_list = invoke(["dlq", "list", "--status", "replayed", "--json"], migrated_env)
    assert json.loads(replayed_list.stdout)["count"] == 1
    assert json.loads(invoke(["dlq", "list", "--json"], migrated_env).stdout)["count"] == 0


def test_dlq_unknown_or_malformed_id(migrated_env: dict[str, str | None]) -> None:
    missing = str(uuid.uuid4())
    for command in ("show", "replay"):
        result = invoke(["dlq", command, missing], migrated_env)
        assert result.exit_code == 1 and f"no dead letter with id {missing}" in result.stderr
    assert invoke(["dlq", "show", "not-a-uuid"], migrated_env).exit_code == 2
    assert invoke(["dlq", "list", "--status", "closed"], migrated_env).exit_code == 2
    assert invoke(["dlq", "list", "--limit", "0"], migrated_env).exit_code == 2


def test_topics_list_and_create(migrated_env: dict[str, str | None]) -> None:
    before = invoke(["topics"], migrated_env)
    assert before.exit_code == 0, before.output
    assert "bench.events" in before.stdout and "missing" in before.stdout

    created = invoke(["topics", "--create", "--json"], migrated_env)
    assert created.exit_code == 0, created.output
    topics = {t["name"]: t for t in json.loads(created.stdout)["topics"]}
    assert topics["bench.events"]["partitions_found"] == 6
    assert topics["bench.events.dlq"]["partitions_found"] == 1

    after = invoke(["topics"], migrated_env)
    assert after.exit_code == 0 and "missing" not in after.stdout and "ops.events.dlq" in after.stdout


def test_topics_with_the_bus_down_exits_1(data_env: dict[str, str | None]) -> None:
    env = {**data_env, "PROUD_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    result = invoke(["topics"], env)
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


@pytest.mark.postgres
@pytest.mark.kafka
def test_topics_on_kafka(pg_url: str, kafka_bootstrap: str) -> None:
    env = clean_environ(database_url=pg_url, kafka_bootstrap=kafka_bootstrap)
    result = invoke(["topics", "--create", "--json"], env)
    assert result.exit_code == 0, result.output
    names = {t["name"]: t["partitions_found"] for t in json.loads(result.stdout)["topics"]}
    assert names["ops.events"] >= 1 and names["ops.events.dlq"] == 1


async def proud(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli.main", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    # Nothing but what a fresh install has: the package on the path, a data directory and a port.
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT),
        "PROUD_DATA_DIR": str(tmp_path / "data"), "PROUD_HTTP_PORT": str(port),
    }
    migrate = await proud("migrate", env=env, cwd=tmp_path)
    _, err = await asyncio.wait_for(migrate.communicate(), RUN_WAIT_S_MAX)
    assert migrate.returncode == 0, err.decode()

    daemon = await proud("run", env=env, cwd=tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            async def answer(path: str) -> tuple[int, object] | None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                        return response.status, await response.json()
                except aiohttp.ClientConnectionError:
                    assert daemon.returncode is None, "proud run exited before it answered"
                    return None

            assert await wait_for(lambda: answer("/health"), "proud run answering", RUN_WAIT_S_MAX) == (
                200, {"status": "ok"},
            )
            status, body = await wait_for(lambda: answer("/ready"), "/ready")
            assert status == 200, body
        daemon.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(daemon.communicate(), RUN_WAIT_S_MAX)
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
    assert daemon.returncode == 0, err.decode()
    assert "proud stopping" in err.decode()
    assert (tmp_path / "data" / "proud.db").is_file()
