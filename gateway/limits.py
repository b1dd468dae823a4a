"""Named limits: every loop, queue, batch, file and timeout in proud has one, declared here.

Settings (``gateway.config``) may lower or raise the tunable ones within the bounds asserted below.
"""

from __future__ import annotations

from typing import Final

#: Largest encoded envelope the bus accepts or delivers to a handler.
MESSAGE_BYTES_MAX: Final = 1_048_576
#: Kafka's own default ``max.message.bytes`` is 1 MiB plus overhead; ours must stay below it.
KAFKA_MESSAGE_BYTES_MAX: Final = 1_048_588

#: Records one consumer fetch returns at most.
CONSUMER_BATCH_MAX: Final = 2_000
#: Records the outbox relay reads and publishes per round.
OUTBOX_BATCH_MAX: Final = 2_000
#: Attempts of one handler call before the message is dead-lettered.
RETRY_ATTEMPTS_MAX: Final = 5
#: Upper bound for any single retry delay.
RETRY_DELAY_S_MAX: Final = 60.0

#: Consumer-group members per group in the SQL log bus.
SQL_BUS_MEMBERS_MAX: Final = 64
#: Partitions per topic (both backends).
TOPIC_PARTITIONS_MAX: Final = 256

#: Rows one DLQ listing returns at most.
DLQ_LIST_MAX: Final = 1_000

#: How long stopping the daemon may take before tasks are cancelled.
SHUTDOWN_TIMEOUT_S: Final = 30.0

assert MESSAGE_BYTES_MAX < KAFKA_MESSAGE_BYTES_MAX
assert 0 < CONSUMER_BATCH_MAX <= OUTBOX_BATCH_MAX
assert 0 < RETRY_ATTEMPTS_MAX <= 100
