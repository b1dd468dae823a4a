"""The billing topics. Importing this module registers them in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from typing import Final

from gateway.bus.topics import TOPICS, TopicSpec

#: A billing run and its clerk's work span weeks; a consumer down over a long weekend must find its messages.
_RETENTION_MS: Final = 30 * 86_400_000

#: The billing-order machine's messages (``schemas.billing.orders``), keyed by ``<contract>@<period_to>``.
BILLING_ORDERS = TOPICS.register(
    TopicSpec("billing.orders", "billing order: <contract>@<period_to>", retention_ms=_RETENTION_MS)
)
#: Bills to make (``billing.bill_requested``), keyed by OPM so that one OPM's bills are made in order and
#: the partitions spread a mass run over the worker processes.
BILLING_WORK = TOPICS.register(
    TopicSpec("billing.work", "OPM code (EAN or EIC)", retention_ms=_RETENTION_MS)
)
#: The documents' work (``billing.render_requested`` for the renderer, ``billing.send_requested`` for the
#: sender), keyed by the order; each consumer group takes its own type and passes over the other.
BILLING_DOCUMENTS = TOPICS.register(
    TopicSpec("billing.documents", "billing order: <contract>@<period_to>", retention_ms=_RETENTION_MS)
)
