"""The ``switch.events`` topic. Importing this module registers it in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from typing import Final

from gateway.bus.topics import TOPICS, TopicSpec

#: A switch takes weeks; a consumer down over a long weekend must still find its messages.
_RETENTION_MS: Final = 30 * 86_400_000

#: Market facts the switching machines read (``schemas.switching``); keyed by OPM code so that one OPM's
#: process sees its messages in order.
SWITCH_EVENTS = TOPICS.register(
    TopicSpec("switch.events", "OPM code (EAN or EIC)", retention_ms=_RETENTION_MS)
)
