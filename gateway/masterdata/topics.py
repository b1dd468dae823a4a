"""The ``masterdata.*`` topics: one per kind of object, keyed by its natural key so that the changes of one
object stay in order. Importing this module registers them in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from typing import Final

from gateway.bus.topics import TOPICS, TopicSpec

#: Long enough for a consumer that was down over a long weekend, plus the back office's holiday.
_RETENTION_MS: Final = 30 * 86_400_000

CUSTOMERS = TOPICS.register(TopicSpec("masterdata.customers", "customer number", retention_ms=_RETENTION_MS))
ACCOUNTS = TOPICS.register(
    TopicSpec("masterdata.accounts", "variable symbol of the contract account", retention_ms=_RETENTION_MS)
)
CONTRACTS = TOPICS.register(TopicSpec("masterdata.contracts", "contract number", retention_ms=_RETENTION_MS))
OPM = TOPICS.register(TopicSpec("masterdata.opm", "OPM code (EAN or EIC)", retention_ms=_RETENTION_MS))
ACTIVITIES = TOPICS.register(TopicSpec("masterdata.activities", "activity id", retention_ms=_RETENTION_MS))
DOCUMENTS = TOPICS.register(TopicSpec("masterdata.documents", "document id", retention_ms=_RETENTION_MS))

MASTERDATA_TOPICS: Final = (CUSTOMERS, ACCOUNTS, CONTRACTS, OPM, ACTIVITIES, DOCUMENTS)
TOPIC_BY_ENTITY: Final = {
    "customer": CUSTOMERS.name,
    "account": ACCOUNTS.name,
    "contract": CONTRACTS.name,
    "opm": OPM.name,
    "activity": ACTIVITIES.name,
    "document": DOCUMENTS.name,
}
