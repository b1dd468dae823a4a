"""Reading store (SQLAlchemy Core, on the backbone's ``metadata``): one row per meter reading received and one
per register value of it.

``rd_reading`` keeps every reading that arrived, including duplicates, so that what the DSO sent and when
stays answerable. Of the readings of one meter and period (``opm``, ``meter_id``, ``date_from``,
``date_to``) exactly one is *in force*: the latest that was not a duplicate and has not been superseded
(``superseded_by`` NULL). ``ux_rd_reading_in_force`` holds that invariant in the database. A correction
points at the reading it replaces (``corrects``), which points back (``superseded_by``); a duplicate points
at the reading it repeats (``duplicate_of``) and has no register rows of its own (its values are that
reading's).

``fingerprint`` is a digest of the register values (``gateway.readings.model.fingerprint``): comparing it
decides duplicate or correction without loading register rows.

Quantities are exact decimals in any scale, stored as sent (PostgreSQL ``numeric`` without a typmod keeps
every digit; SQLite has no decimal type, so they are text there, see ``ExactDecimal``).

No foreign keys: rows are written only by ``gateway.readings.store``, a reading and its registers in one
statement pair of one transaction, and never deleted, so no orphan can arise; a key would cost PostgreSQL a
check per register row on the bulk path (``tests/readings`` checks for orphans).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa

from gateway.store.tables import BigId, Timestamp, metadata

#: ``meter_id`` of a reading whose message names no meter (GP6 may leave ``meterId`` out): a value no meter
#: id can have (at least one character, ``schemas.ote.metered.MeterId``), so that the in-force index holds.
METER_UNKNOWN: Final = ""
#: Longest text of a plausibility note (the notes are built here, a few dozen characters).
NOTE_CHARS_MAX: Final = 500
#: Bytes of ``fingerprint`` (BLAKE2b digest size): collisions are out of reach at 128 bits.
FINGERPRINT_BYTES: Final = 16
#: Longest decimal stored as text on SQLite (the codec bounds nothing, XML_BYTES_MAX does; 60 is generous).
DECIMAL_TEXT_CHARS_MAX: Final = 60

STATUSES: Final = ("new", "duplicate", "correction")
REASONS: Final = ("periodic", "switch", "final", "move", "control")
KINDS: Final = ("actual", "estimated", "customer")
REGISTERS: Final = ("vt", "nt", "single")
SOURCES: Final = ("ote", "edc", "manual")
COMMODITIES: Final = ("electricity", "gas")


class ExactDecimal(sa.TypeDecorator[Decimal]):
    """``numeric`` without precision or scale on PostgreSQL (every digit as sent); text on SQLite, which
    would otherwise store a float and lose digits (SQLAlchemy warns so). Reads back as ``Decimal``."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(DECIMAL_TEXT_CHARS_MAX))
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        assert value.is_finite(), value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


reading = sa.Table(
    "rd_reading",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("opm", sa.String(18), nullable=False),
    sa.Column("commodity", sa.String(11), nullable=False),
    sa.Column("meter_id", sa.String(32), nullable=False),
    sa.Column("date_from", sa.Date, nullable=False),
    sa.Column("date_to", sa.Date, nullable=False),
    sa.Column("reason", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(9), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("corrects", sa.BigInteger, nullable=True),
    sa.Column("duplicate_of", sa.BigInteger, nullable=True),
    sa.Column("superseded_by", sa.BigInteger, nullable=True),
    sa.Column("fingerprint", sa.LargeBinary(FINGERPRINT_BYTES), nullable=False),
    sa.Column("source", sa.String(6), nullable=False),
    # The OTE message (its own id) and our archive row of it; None for other sources.
    sa.Column("ote_message_id", sa.String(35), nullable=True),
    sa.Column("archive_id", sa.BigInteger, nullable=True),
    # Gas GP6: the DSO's document (pofId), its version, segment and corReason, which decide corrections.
    sa.Column("document_id", sa.String(35), nullable=True),
    sa.Column("document_version", sa.Integer, nullable=True),
    sa.Column("document_segment", sa.String(3), nullable=True),
    sa.Column("correction_reason", sa.String(2), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    # Every register's values in one text (``gateway.readings.register_text``), written with the
    # ``rd_register`` rows: what the billing timeline reads, without joining those rows.
    sa.Column("register_values", sa.Text, nullable=False),
    sa.CheckConstraint(_one_of("commodity", COMMODITIES), name="commodity"),
    sa.CheckConstraint(_one_of("reason", REASONS), name="reason"),
    sa.CheckConstraint(_one_of("kind", KINDS), name="kind"),
    sa.CheckConstraint(_one_of("status", STATUSES), name="status"),
    sa.CheckConstraint(_one_of("source", SOURCES), name="source"),
    sa.CheckConstraint("date_from <= date_to", name="period"),
    sa.CheckConstraint("(status = 'correction') = (corrects IS NOT NULL)", name="corrects"),
    sa.CheckConstraint("(status = 'duplicate') = (duplicate_of IS NOT NULL)", name="duplicate_of"),
    sa.CheckConstraint("status <> 'duplicate' OR superseded_by IS NULL", name="superseded"),
)
_IN_FORCE = sa.and_(reading.c.superseded_by.is_(None), reading.c.status != "duplicate")
#: At most one reading in force per meter and period; also the index of the duplicate/correction lookup.
sa.Index(
    "ux_rd_reading_in_force",
    reading.c.opm, reading.c.meter_id, reading.c.date_from, reading.c.date_to,
    unique=True, postgresql_where=_IN_FORCE, sqlite_where=_IN_FORCE,
)

register = sa.Table(
    "rd_register",
    metadata,
    sa.Column("reading_id", sa.BigInteger, primary_key=True),
    sa.Column("register", sa.String(6), primary_key=True),
    sa.Column("start_state", ExactDecimal, nullable=True),
    sa.Column("end_state", ExactDecimal, nullable=True),
    sa.Column("consumption_kwh", ExactDecimal, nullable=False),
    # Gas: the volume, the factor used and the calorific value (kWh = m³ × factor × calorific value).
    sa.Column("volume_m3", ExactDecimal, nullable=True),
    sa.Column("conversion_factor", ExactDecimal, nullable=True),
    sa.Column("calorific_value_kwh_per_m3", ExactDecimal, nullable=True),
    # Gas: the energy the DSO sent (``sumGas``), kept beside ours for the plausibility check and audit.
    sa.Column("dso_energy_kwh", ExactDecimal, nullable=True),
    # A plausibility note (our kWh against the DSO's, consumption against the meter states); None if fine.
    sa.Column("note", sa.String(NOTE_CHARS_MAX), nullable=True),
    sa.CheckConstraint(_one_of("register", REGISTERS), name="register"),
)
