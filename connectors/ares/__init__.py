"""ARES connector: look Czech business subjects up by IČO (ARES REST v3 of MF ČR).

``AresClient.lookup(ico)`` returns ``Found(subject)`` or ``NotRegistered(ico)``; ``codec`` turns ARES JSON
into ``AresSubject``; ``transport`` moves the bytes; ``simulator`` is a local ARES for tests and the demo.
"""

from connectors.ares.client import (
    ARES_BASE_URL,
    AresClient,
    AresInvalidIco,
    AresLookup,
    AresRejected,
    Found,
    NotRegistered,
)
from connectors.ares.codec import AresMalformed, AresSubject
from connectors.ares.transport import AresTransport, AresUnavailable, HttpsTransport

__all__ = [
    "ARES_BASE_URL",
    "AresClient",
    "AresInvalidIco",
    "AresLookup",
    "AresMalformed",
    "AresRejected",
    "AresSubject",
    "AresTransport",
    "AresUnavailable",
    "Found",
    "HttpsTransport",
    "NotRegistered",
]
