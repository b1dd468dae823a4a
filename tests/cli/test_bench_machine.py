"""The benchmarks' reading of the machine's CPU (``/proc/stat``), the billing bench's CPU line of it, and
the gauge of the machine's speed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.cli import EXIT_FAILED, bench_common
from gateway.cli.bench_billing import _cpu_line
from gateway.cli.bench_common import MachineCpu, machine_cpu
from gateway.cli.main import app
from tests.cli.test_cli import clean_environ

TICKS = os.sysconf("SC_CLK_TCK")
#: What the gauge's workload computes: a changed workload would make its figures of two days incomparable.
GAUGE_RESULT = 3_457_274_732


def _stat(tmp_path: Path, fields: str) -> str:
    path = tmp_path / "stat"
    path.write_text(f"cpu  {fields}\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n", encoding="ascii")
    return str(path)


def test_the_machine_s_busy_stolen_and_total_time(tmp_path: Path) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice: guests are in user already.
    path = _stat(tmp_path, f"{10 * TICKS} {TICKS} {4 * TICKS} {50 * TICKS} {3 * TICKS} 0 {TICKS} {2 * TICKS} "
                           f"{7 * TICKS} 0")
    found = machine_cpu(path)
    assert found == MachineCpu(busy_s=16.0, steal_s=2.0, total_s=71.0)
    assert found.since(MachineCpu(busy_s=6.0, steal_s=0.5, total_s=41.0)) == MachineCpu(10.0, 1.5, 30.0)


def test_no_proc_stat_is_no_reading(tmp_path: Path) -> None:
    assert machine_cpu(str(tmp_path / "absent")) is None


def test_the_cpu_line_splits_the_machine_s_time() -> None:
    """1,000 settlements: the billing processes took 0.4 s, the machine was busy 0.6 s of 0.8 s."""
    line = _cpu_line(0.4, MachineCpu(busy_s=0.6, steal_s=0.0, total_s=0.8), 1000)
    assert line == (f"cpu: 0.40 ms per settlement in the billing processes, 0.20 ms in the rest of the "
                    f"machine (PostgreSQL on one box); busy 75 % of {os.cpu_count()} cores")
    assert _cpu_line(0.4, MachineCpu(0.6, 0.08, 0.8), 1000).endswith(", 10.0 % taken by the hypervisor")
    assert _cpu_line(0.4, None, 1000) == (
        "cpu: 0.40 ms per settlement in the billing processes (the rest of the machine not measured)"
    )


def test_the_gauge_workload_is_fixed_and_its_timing_is_the_best_round() -> None:
    """The gauge's point is that its work never changes with proud's code: the same result every time."""
    assert bench_common._gauge_workload() == bench_common._gauge_workload() == GAUGE_RESULT
    assert 0 < bench_common.machine_gauge_ms() < 60_000


@pytest.mark.parametrize("command", [
    ["billing", "--opm", "1"], ["readings", "--readings", "1"], ["import", "--opm", "1"],
    ["rules", "--instances", "1", "--decisions", "1"], ["bus", "--backend", "sql", "--events", "1"],
])
def test_a_bench_on_a_missing_database_says_so_in_one_line(pg_url: str, command: list[str]) -> None:
    """A wrong ``--database-url`` is the operator's mistake: one line naming the database, no traceback."""
    absent = f"proud_absent_{uuid.uuid4().hex[:12]}"
    url = sa.engine.make_url(pg_url).set(database=absent).render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["bench", *command, "--database-url", url], env=clean_environ())
    assert result.exit_code == EXIT_FAILED, result.output
    assert result.stderr.strip().splitlines() == [f'error: database: database "{absent}" does not exist']
    assert result.stdout == ""
