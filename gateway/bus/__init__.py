"""The event bus: an interface (``base``), two backends (``kafka``, ``sqllog``), the topic registry,
the transactional outbox and its relay, and the consumer runtime with inbox, retries and dead letters."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bus.base import Bus
from gateway.clock import Clock
from gateway.config import Settings


def create_bus(settings: Settings, engine: AsyncEngine, clock: Clock) -> Bus:
    """Kafka when ``kafka_bootstrap`` is set, otherwise the SQL log in the store's own database."""
    if settings.bus_backend == "kafka":
        from gateway.bus.kafka import KafkaBus

        assert settings.kafka_bootstrap
        return KafkaBus(
            settings.kafka_bootstrap,
            client_id=settings.kafka_client_id,
            request_timeout_s=settings.kafka_request_timeout_s,
            message_bytes_max=settings.message_bytes_max,
            replication_factor=settings.topic_replication_factor,
        )
    from gateway.bus.sqllog import SqlLogBus

    return SqlLogBus(
        engine,
        clock=clock,
        poll_interval_s=settings.sql_bus_poll_interval_s,
        session_timeout_s=settings.sql_bus_session_timeout_s,
    )
