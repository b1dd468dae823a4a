"""The consumers the daemon runs. Domain packages add theirs here as they arrive: one function per domain
returning its subscriptions, listed in ``builtin_subscriptions``. (The OTE sender is not here: it needs the
connector instance, so ``gateway.market`` builds it in the daemon.)"""

from __future__ import annotations

from gateway.bench.handler import BenchHandler
from gateway.billing.documents import document_subscriptions
from gateway.billing.worker import billing_subscriptions
from gateway.bus.handler import Subscription
from gateway.bus.topics import BENCH_EVENTS
from gateway.config import Settings
from gateway.distributor.registration import registration_subscription
from gateway.masterdata.filestore import LocalFileStore
from gateway.masterdata.welcome import welcome_letters
from gateway.readings.consumer import readings_subscription
from gateway.switching.attention import SwitchAttention
from gateway.switching.intake import SwitchIntake
from gateway.switching.translate import SwitchTranslator

BENCH_COUNTER_GROUP = "proud.bench-counter"


def builtin_subscriptions(settings: Settings) -> list[Subscription]:
    # The counter applies bench.events to bench_state: the demo's visible effect and a live smoke test of
    # the whole path (outbox, relay, bus, inbox) on any installation.
    files = LocalFileStore(settings.effective_documents_dir)
    return [
        BenchHandler(log_effects=False).subscription(BENCH_COUNTER_GROUP, [BENCH_EVENTS.name]),
        welcome_letters(settings, files).subscription(),
        *switching_subscriptions(),
        readings_subscription(settings),
        *billing_subscriptions(settings),
        # The invoice's documents after its bill (renderer), and their delivery (e-mail, ISDOC, paper).
        *document_subscriptions(settings, files),
        # Only when this install also acts as a distribution system operator (``distributor_ean``).
        *([registration] if (registration := registration_subscription(settings)) is not None else []),
    ]


def switching_subscriptions() -> list[Subscription]:
    """Contracts and OTE messages in as market facts (``switch.events``); attentions out as tasks."""
    return [
        SwitchIntake().subscription(), SwitchTranslator().subscription(), SwitchAttention().subscription(),
    ]
