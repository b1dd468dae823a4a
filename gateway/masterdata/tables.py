"""Master-data tables (SQLAlchemy Core) on the backbone's ``metadata``: one Alembic history covers all.

Every object has a UUIDv7 ``id`` (stable, never shown to customers), a natural key people use (customer
number, VS, contract number, OPM code; unique), an optimistic-locking ``version`` and timestamps. What is
effective-dated (contract terms, OPM technical data, supply periods, meters) lives in child tables keyed by
the date it takes effect, so that as-of reads pick the row in force on a day. ``md_change`` is the audit
trail: who, when, before and after, and the id of the bus message that announced it.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from gateway.store.tables import BigId, Timestamp, metadata
from schemas.masterdata.common import NOTE_CHARS_MAX, TEXT_CHARS_MAX
from schemas.masterdata.opm import GAS_AREA_CHARS_MAX, GAS_CONVERSION_FACTOR_DECIMALS_MAX

_Text = sa.String(TEXT_CHARS_MAX)


class JsonText(sa.TypeDecorator[Any]):
    """JSON stored as text, read back as data. For the audit images (``md_change.before``/``after``):
    PostgreSQL's ``json`` type parses every value on insert to check it, a tenth of the CPU of a bulk import
    of OPMs, while proud writes these values itself (encoded by msgspec) and never queries inside them."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else msgspec.json.encode(value).decode()

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else msgspec.json.decode(value)
#: Natural keys: customer and contract numbers, VS (10 digits), OPM codes (18 / 16 characters).
_Key = sa.String(40)
#: Money and quantities: 14 digits before the point, 3 after (kWh to the Wh, m³ to the litre).
Quantity = sa.Numeric(17, 3)
#: A gas conversion factor: below 10, six decimal places (``GAS_CONVERSION_FACTOR_DECIMALS_MAX``).
ConversionFactor = sa.Numeric(1 + GAS_CONVERSION_FACTOR_DECIMALS_MAX, GAS_CONVERSION_FACTOR_DECIMALS_MAX)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    ]


#: The rows an OPM owns — its supply address, technical-data versions and meters — carry ``opm_id`` without a
#: foreign key. They are written only in the transaction that creates their OPM or holds its row lock
#: (``gateway.masterdata.opm``, ``bulk``), and OPMs are never deleted, so no orphan can arise; a foreign key
#: would cost PostgreSQL a check and a row lock on ``md_opm`` per child row, a fifth of a million-OPM import
#: (``proud bench import``: 18,500 OPM/s with the three keys, 21,000 without). Contracts and supply periods,
#: written one at a time, keep theirs. ``tests/masterdata/test_import_bulk.py`` checks for orphans.
OPM_CHILD_ROWS = ("md_address", "md_opm_technical", "md_meter")

customer = sa.Table(
    "md_customer", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", _Key, nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("segment", sa.String(20), nullable=False),
    sa.Column("first_name", _Text), sa.Column("last_name", _Text),
    sa.Column("birth_date", sa.Date), sa.Column("birth_number", sa.String(11)),
    sa.Column("company_name", _Text), sa.Column("ico", sa.String(8), index=True),
    sa.Column("dic", sa.String(12)), sa.Column("legal_form", _Text),
    # Lower-case, without diacritics: "Dvořák" is found by "dvorak" on SQLite and PostgreSQL alike.
    sa.Column("search_name", sa.String(2 * TEXT_CHARS_MAX + 1), nullable=False, index=True),
    sa.Column("consent_einvoice", sa.Boolean, nullable=False),
    sa.Column("consent_marketing", sa.Boolean, nullable=False),
    sa.Column("contacts", sa.JSON, nullable=False),
    *_stamps(),
)

account = sa.Table(
    "md_account", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, sa.ForeignKey("md_customer.id"), nullable=False, index=True),
    sa.Column("variable_symbol", sa.String(10), nullable=False, unique=True),
    sa.Column("payment_method", sa.String(20), nullable=False),
    sa.Column("iban", sa.String(34)), sa.Column("sipo_number", sa.String(10)),
    sa.Column("billing_cycle", sa.String(20), nullable=False),
    sa.Column("advance_frequency", sa.String(20), nullable=False),
    sa.Column("dunning_procedure", sa.String(20), nullable=False),
    sa.Column("delivery_channel", sa.String(20), nullable=False),
    sa.Column("delivery_email", sa.String(254)),
    sa.Column("billing_address", sa.JSON),
    *_stamps(),
)

opm = sa.Table(
    "md_opm", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("code", sa.String(18), nullable=False, unique=True),
    sa.Column("commodity", sa.String(12), nullable=False),
    sa.Column("dso", _Text, nullable=False),
    *_stamps(),
)

# Customer addresses (permanent, registered, billing, correspondence) and OPM supply addresses in one table,
# so that "who lives or is supplied at Dlouhá 12" is one search.
address = sa.Table(
    "md_address", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.Uuid, sa.ForeignKey("md_customer.id")),
    sa.Column("opm_id", sa.Uuid),  # no foreign key: see OPM_CHILD_ROWS above
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("street", _Text), sa.Column("house_number", sa.String(20), nullable=False),
    sa.Column("city", _Text, nullable=False), sa.Column("city_part", _Text),
    sa.Column("postal_code", sa.String(10), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("search_text", sa.String(4 * TEXT_CHARS_MAX), nullable=False),
    sa.CheckConstraint("(customer_id IS NULL) <> (opm_id IS NULL)", name="one_owner"),
)
# Each address has one owner, so each index covers only its owner's rows: a bulk import of OPMs does not
# also fill the customer index with NULLs (and the reverse). Address search scans ``search_text``.
for _owner in (address.c.customer_id, address.c.opm_id):
    sa.Index(f"ix_md_address_{_owner.name}", _owner, postgresql_where=_owner.is_not(None),
             sqlite_where=_owner.is_not(None))

opm_technical = sa.Table(
    "md_opm_technical", metadata,
    sa.Column("opm_id", sa.Uuid, primary_key=True),  # no foreign key: see OPM_CHILD_ROWS above
    sa.Column("effective_from", sa.Date, primary_key=True),
    sa.Column("distribution_rate", sa.String(8)),
    sa.Column("breaker_phases", sa.SmallInteger), sa.Column("breaker_amps", sa.Integer),
    sa.Column("gas_band", sa.String(12)), sa.Column("tdd_class", sa.String(8)),
    sa.Column("annual_consumption_kwh", Quantity),
    sa.Column("gas_conversion_factor", ConversionFactor),
    sa.Column("gas_area", sa.String(GAS_AREA_CHARS_MAX)),
    sa.Column("recorded_at", Timestamp, nullable=False),
)

meter = sa.Table(
    "md_meter", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # No index of its own: the unique (opm_id, serial, installed_on) serves look-ups by OPM.
    sa.Column("opm_id", sa.Uuid, nullable=False),  # no foreign key: see OPM_CHILD_ROWS above
    sa.Column("serial", sa.String(TEXT_CHARS_MAX), nullable=False),
    sa.Column("installed_on", sa.Date, nullable=False),
    sa.Column("removed_on", sa.Date),
    sa.Column("registers", sa.JSON, nullable=False),
    # Readings at removal and installation, as decimal strings by register code ({"VT": "12345.6"}).
    sa.Column("final_readings", sa.JSON), sa.Column("initial_readings", sa.JSON),
    sa.UniqueConstraint("opm_id", "serial", "installed_on"),
)

contract = sa.Table(
    "md_contract", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", _Key, nullable=False, unique=True),
    sa.Column("customer_id", sa.Uuid, sa.ForeignKey("md_customer.id"), nullable=False, index=True),
    sa.Column("opm_id", sa.Uuid, sa.ForeignKey("md_opm.id"), nullable=False, index=True),
    sa.Column("commodity", sa.String(12), nullable=False),
    sa.Column("signed_on", sa.Date, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("negotiation", sa.String(20), nullable=False),
    sa.Column("start_reason", sa.String(20), nullable=False, server_default="switch"),
    sa.Column("withdrawal_until", sa.Date),
    sa.Column("ended_on", sa.Date),
    sa.Column("end_kind", sa.String(20)),  # withdrawal | notice | expiry
    sa.Column("billed_until", sa.Date),  # a taken-over book: billed by the previous system up to this day
    *_stamps(),
)

contract_terms = sa.Table(
    "md_contract_terms", metadata,
    sa.Column("contract_id", sa.Uuid, sa.ForeignKey("md_contract.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("product", _Text, nullable=False),
    sa.Column("account_id", sa.Uuid, sa.ForeignKey("md_account.id"), nullable=False, index=True),
    sa.Column("valid_to", sa.Date),
    sa.Column("notice_period_days", sa.Integer, nullable=False),
    sa.Column("note", sa.String(NOTE_CHARS_MAX), nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.UniqueConstraint("contract_id", "effective_from"),
)

# Our supply to an OPM, one period per contract; ``end`` inclusive, NULL open. The service refuses a period
# overlapping another of the same OPM (under a row lock on the OPM), so at most one contract is active.
supply = sa.Table(
    "md_supply", metadata,
    sa.Column("contract_id", sa.Uuid, sa.ForeignKey("md_contract.id"), primary_key=True),
    sa.Column("opm_id", sa.Uuid, sa.ForeignKey("md_opm.id"), nullable=False, index=True),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date),
)

activity = sa.Table(
    "md_activity", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject", _Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("due_on", sa.Date), sa.Column("done_at", Timestamp),
    sa.Column("assignee", _Text),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_key", _Key, nullable=False),
    sa.Column("note", sa.String(NOTE_CHARS_MAX), nullable=False),
    *_stamps(),
    sa.Index("ix_md_activity_about", "entity", "entity_key"),
)

document = sa.Table(
    "md_document", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("title", _Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

document_version = sa.Table(
    "md_document_version", metadata,
    sa.Column("document_id", sa.Uuid, sa.ForeignKey("md_document.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("filename", _Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", _Text, nullable=False),
)

document_link = sa.Table(
    "md_document_link", metadata,
    sa.Column("document_id", sa.Uuid, sa.ForeignKey("md_document.id"), primary_key=True),
    sa.Column("entity", sa.String(20), primary_key=True),
    sa.Column("entity_key", _Key, primary_key=True),
    sa.Index("ix_md_document_link_about", "entity", "entity_key"),
)

change = sa.Table(
    "md_change", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", _Text, nullable=False),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_id", sa.Uuid, nullable=False),
    sa.Column("entity_key", _Key, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("before", JsonText), sa.Column("after", JsonText),
    sa.Column("message_id", sa.Uuid, nullable=False),
    # History is read by natural key; one index (each costs on a bulk import of a million OPMs).
    sa.Index("ix_md_change_key", "entity", "entity_key", "id"),
)

# Number series for keys proud assigns (customer numbers, VS, contract numbers): next value, row-locked.
sequence = sa.Table(
    "md_sequence", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("next_value", sa.BigInteger, nullable=False),
)
