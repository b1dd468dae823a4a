"""The ``meter.readings`` topic. Importing this module registers it in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from typing import Final

from gateway.bus.topics import TOPICS, TopicSpec

_RETENTION_MS: Final = 30 * 86_400_000

#: One ``meter.reading`` (``schemas.readings``) per meter and period read, keyed by OPM code.
METER_READINGS = TOPICS.register(
    TopicSpec("meter.readings", "OPM code (EAN or EIC)", retention_ms=_RETENTION_MS)
)
