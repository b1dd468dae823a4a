"""Topics of the process runtime. Importing this module registers them in ``gateway.bus.topics.TOPICS``."""

from __future__ import annotations

from gateway.bus.topics import TOPICS, TopicSpec

PROCESS_TIMERS = TOPICS.register(
    TopicSpec("process.timers", key_meaning="instance key of the machine whose timer is due (process.timer)")
)
PROCESS_EVENTS = TOPICS.register(
    # Apart from the input topics, so that a machine never reads back what machines emit unless it asks to.
    TopicSpec("process.events", key_meaning="instance key of the machine that emitted the message")
)
PAYMENTS_EVENTS = TOPICS.register(
    TopicSpec("payments.events", key_meaning="contract account (invoices overdue, payments received)")
)
