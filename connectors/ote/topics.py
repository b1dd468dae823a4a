"""The ``ote.*`` topics. Importing this module registers them in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from typing import Final

from gateway.bus.topics import TOPICS, TopicSpec

#: Long enough for a consumer that was down over a long weekend; the archive keeps the raw bytes for longer.
_RETENTION_MS: Final = 30 * 86_400_000

#: Every message CS OTE sent us that we accepted; keyed by OPM so that one OPM's messages stay in order.
OTE_INBOUND = TOPICS.register(
    TopicSpec("ote.inbound", "OPM code (EAN or EIC), else the OTE message id", retention_ms=_RETENTION_MS)
)
