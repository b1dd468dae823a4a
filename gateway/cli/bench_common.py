"""What every database benchmark does around its run: settings, logging, the schema migrated, the collector
tuned as ``proud run`` does, and the figures printed with the final line last."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Protocol

import typer

import gateway
from gateway.config import load_settings
from gateway.gc_tuning import tune_gc
from gateway.logs import configure
from gateway.store.migrate import upgrade_sync

#: Where ``make services`` runs PostgreSQL; used when neither the option nor the settings name a database.
LOCAL_PG_URL: Final = "postgresql+asyncpg://proud:proud@127.0.0.1:5432/proud_test"


class BenchFigures(Protocol):
    def figures(self) -> str: ...

    def line(self) -> str: ...


def prepared_database(database_url: str | None) -> str:
    """The benchmark's database URL (option, else ``PROUD_DATABASE_URL``, else ``LOCAL_PG_URL``), migrated."""
    settings = load_settings()
    configure(settings.log_level, settings.log_format)
    url = database_url or settings.database_url or LOCAL_PG_URL
    upgrade_sync(url)
    tune_gc()  # as ``proud run`` does
    return url


def print_figures(url: str, result: BenchFigures) -> None:
    """Machine, database kind, the figures, and the result's final line (what scripts read) last."""
    # The interpreter's build matters as much as its version (scripts/python.sh): the venv's link says which.
    interpreter = os.path.realpath(sys.executable)
    typer.echo(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
               f"({interpreter}) compiled={gateway.COMPILED}")
    typer.echo(f"database: {url.split('://', 1)[0]}")
    typer.echo(result.figures())
    typer.echo(result.line())


#: The kernel's count of CPU time since boot, per state, in clock ticks (Linux; ``man 5 proc``).
PROC_STAT: Final = "/proc/stat"
#: Positions in its ``cpu`` line: user nice system idle iowait irq softirq steal (then guest times, which
#: user and nice hold already). Idle and I/O wait are no work; steal is time the hypervisor gave elsewhere.
_IDLE_STATES: Final = (3, 4)
_STEAL: Final = 7
_STATES: Final = 8


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """The whole machine's CPU seconds so far (all cores): busy (every process, the database's too) and in
    all. A benchmark's billing processes measure their own CPU; the machine's busy time less theirs is what
    the rest of the machine (PostgreSQL on a one-box run) spent."""

    busy_s: float
    #: Taken by the hypervisor from this machine's cores while it had work (a shared host's noise).
    steal_s: float
    total_s: float

    def since(self, earlier: MachineCpu) -> MachineCpu:
        return MachineCpu(self.busy_s - earlier.busy_s, self.steal_s - earlier.steal_s,
                          self.total_s - earlier.total_s)


def machine_cpu(path: str = PROC_STAT) -> MachineCpu | None:
    """The machine's CPU seconds from ``/proc/stat``; None where there is no such file (not Linux)."""
    try:
        with open(path, encoding="ascii") as stat:
            first = stat.readline()
    except OSError:
        return None
    name, *fields = first.split()
    assert name == "cpu", f"{path}: first line {first!r} is not the machine's cpu line"
    ticks = [int(value) for value in fields[:_STATES]]
    per_second = os.sysconf("SC_CLK_TCK")
    idle = sum(ticks[at] for at in _IDLE_STATES)
    total = sum(ticks)
    steal = ticks[_STEAL]
    return MachineCpu((total - idle - steal) / per_second, steal / per_second, total / per_second)


#: The gauge: the best of its rounds (the least disturbed), each a fixed workload of what a settlement's
#: Python does most (decimal arithmetic and rounding, dates, small tuples and dicts, text). It is fixed here,
#: apart from proud's code, so that one machine's figures of two days tell how fast it was each day (this
#: box's speed moved by 2–3 times between days, which no code change explains).
GAUGE_ROUNDS: Final = 3
GAUGE_ITERATIONS: Final = 40_000
_PRICE, _CENT = Decimal("4.3217"), Decimal("0.01")


def _gauge_workload() -> int:
    total = Decimal(0)
    seen: dict[tuple[int, int], str] = {}
    day = dt.date(2026, 1, 1)
    for i in range(GAUGE_ITERATIONS):
        amount = (Decimal(i) * _PRICE).quantize(_CENT, ROUND_HALF_UP)
        total += amount
        seen[(i % 97, day.month)] = f"{day.isoformat()} {amount}"
        day += dt.timedelta(days=i % 2)
        if day.year > 2026:
            day = dt.date(2026, 1, 1)
    return len(seen) + int(total)


def machine_gauge_ms() -> float:
    """The gauge's best round in milliseconds of this process's CPU (not wall time: a round another process
    pre-empted would count the wait)."""
    best_s = math.inf
    for _ in range(GAUGE_ROUNDS):
        started = time.process_time()
        _gauge_workload()
        best_s = min(best_s, time.process_time() - started)
    return 1000 * best_s
