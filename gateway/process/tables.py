"""Process runtime tables, on the backbone's ``metadata`` so that one Alembic history covers them.

``data`` columns hold instance data with money as exact JSON numbers: ``ExactJSON`` writes ``Decimal`` as
its digits and reads fractional numbers back as ``Decimal``, so ``1200.50`` is never a float in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from gateway.store.tables import BigId, Timestamp, metadata


def dumps(value: Any) -> str:
    """JSON text with each ``Decimal`` written as its own digits; a float is refused (money never is one)."""
    kind = type(value)  # exact types first: this runs for every instance row written
    if kind is str:
        return _string(value)
    if kind is int:
        return int.__repr__(value)
    if kind is Decimal:
        return _decimal(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_key(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, float):
        raise TypeError(f"refusing to store float {value!r} in process data: use Decimal")
    return json.dumps(value, ensure_ascii=False)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"refusing to store {value} in process data")
    return str(value)


#: What ``json.dumps(text, ensure_ascii=False)`` does to a string, without the encoder set-up per call.
_string: Callable[[str], str] = json.encoder.encode_basestring
#: Keys as ``json.dumps(key)`` writes them (ASCII escapes), as they always were.
_key: Callable[[str], str] = json.encoder.encode_basestring_ascii


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


class ExactJSON(sa.types.TypeDecorator[Any]):
    """JSON with ``Decimal`` numbers kept exact both ways (PostgreSQL ``json``, SQLite text)."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        return lambda value: None if value is None else dumps(value)

    def column_expression(self, colexpr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # asyncpg decodes ``json`` itself (floats for fractions) before any result processor runs, so the
        # column is read as text and parsed here instead.
        return sa.type_coerce(sa.cast(colexpr, sa.Text), _JSONText())


class _JSONText(sa.types.TypeDecorator[Any]):
    """The text of a JSON column, parsed with ``Decimal`` for fractional numbers."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else loads(value)


process_instance = sa.Table(
    "process_instance",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("machine", sa.String(100), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("data", ExactJSON, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # history entries so far
    sa.Column("entered_seq", sa.BigInteger, nullable=False),  # the entry into ``state``: stale-timer check
    sa.Column("transitions", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("machine", "key"),
)

process_history = sa.Table(
    "process_history",
    metadata,
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("process_instance.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("from_state", sa.String(100), nullable=True),
    sa.Column("to_state", sa.String(100), nullable=False),
    sa.Column("transition_at", sa.String(300), nullable=True),  # file:line of the transition
    sa.Column("message_id", sa.Uuid, nullable=False),
    sa.Column("message_type", sa.String(200), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("disposition", sa.String(30), nullable=False),
)

process_timer = sa.Table(
    "process_timer",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.BigInteger, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("machine", sa.String(100), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("due_at", Timestamp, nullable=False),
    sa.Column("state_entry", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | fired | cancelled
    sa.Column("fired_at", Timestamp, nullable=True),
)
# The scheduler's scan: due pending timers in due order.
sa.Index("ix_process_timer_status_due_at", process_timer.c.status, process_timer.c.due_at)
# Cancelling on exit finds an instance's pending timers.
sa.Index("ix_process_timer_instance_id_status", process_timer.c.instance_id, process_timer.c.status)

process_machine_version = sa.Table(
    "process_machine_version",
    metadata,
    sa.Column("machine", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("first_seen_at", Timestamp, nullable=False),
)
