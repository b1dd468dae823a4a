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

#: Messages for CS OTE (``ote.send``), keyed by OPM so that one OPM's messages go out in order. The sender
#: (``connectors.ote.outbound``) retries an unreachable OTE with backoff, then dead-letters the message.
OTE_OUTBOUND = TOPICS.register(
    TopicSpec("ote.outbound", "OPM code (EAN or EIC), else the OTE message id", retention_ms=_RETENTION_MS)
)
