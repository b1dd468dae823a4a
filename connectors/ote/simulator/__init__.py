"""A simulated CS OTE (and the DSOs behind it) for tests and the demo: see ``docs/ote-simulator.md``.

It serves the CDS web service over mTLS, checks switch requests against the switching deadlines and the
Czech working calendar, notifies losing suppliers, answers, sends master data and metered data, and calls
participants' callback services with signed messages. ``start_simulator`` runs it; ``proud ote simulator``
is the command line.
"""

from __future__ import annotations

from connectors.ote.simulator.core import DueSummary, LogEntry, OteSimulator
from connectors.ote.simulator.registry import OpmSpec, ParticipantSpec, SimulatorSeed, SwitchStatus
from connectors.ote.simulator.runner import (
    AUTO_INTERVAL_S_DEFAULT,
    SimulatorHandle,
    callback_url,
    demo_seed,
    start_simulator,
)

__all__ = [
    "AUTO_INTERVAL_S_DEFAULT",
    "DueSummary",
    "LogEntry",
    "OpmSpec",
    "OteSimulator",
    "ParticipantSpec",
    "SimulatorHandle",
    "SimulatorSeed",
    "SwitchStatus",
    "callback_url",
    "demo_seed",
    "start_simulator",
]
