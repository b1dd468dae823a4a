"""Engine creation and the translation of database errors into proud's error tree."""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import asyncpg
import msgspec
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.errors import ConfigError, StoreUnavailable
from gateway.store.copy_fields import HEADER, TRAILER

#: How long a SQLite writer waits for the lock held by another writer before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Connections kept in the PostgreSQL pool, and extra ones allowed under load.
PG_POOL_SIZE = 10
PG_POOL_OVERFLOW_MAX = 10
PG_CONNECT_TIMEOUT_S = 10


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


#: JSON columns (outbox, bus log and dead-letter headers) are on the per-message path; msgspec (de)serializes
#: them several times faster than the stdlib ``json`` SQLAlchemy uses by default.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": msgspec.json.decode}


def is_postgres(conn_or_engine: AsyncConnection | AsyncEngine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``: ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…``."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    if url.startswith("postgresql+asyncpg://"):
        return create_async_engine(
            url, echo=echo, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW_MAX,
            pool_pre_ping=True, connect_args={"timeout": PG_CONNECT_TIMEOUT_S}, **_JSON_CODEC,
        )
    raise ConfigError(
        "database_url", url, "expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER:PW@HOST/DB"
    )


def _sqlite_engine(url: str, echo: bool) -> AsyncEngine:
    if not url.startswith("sqlite+aiosqlite:///"):
        raise ConfigError("database_url", url, "SQLite needs the aiosqlite driver: sqlite+aiosqlite:///FILE")
    path = url.removeprefix("sqlite+aiosqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **_JSON_CODEC
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; NORMAL sync is durable across a process crash
        # (what our kill -9 tests exercise), trading only the last transactions on power loss.
        # isolation_level=None stops pysqlite's own implicit BEGIN, so that "BEGIN IMMEDIATE" below rules.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Take the write lock at BEGIN: a deferred transaction that reads and then writes can fail with
        # SQLITE_BUSY without waiting, when another connection wrote in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57P01",  # admin_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
}


def _sqlstate(exc: sa.exc.DBAPIError) -> str | None:
    orig = exc.orig
    for attr in ("sqlstate", "pgcode"):
        value = getattr(orig, attr, None) or getattr(getattr(orig, "__cause__", None), attr, None)
        if isinstance(value, str):
            return value
    return None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if _sqlstate(exc) in _TRANSIENT_SQLSTATES:
            return True
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return True
    return isinstance(exc, ConnectionError | TimeoutError | OSError)


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Re-raise transient database failures as ``StoreUnavailable``; leave the others (bugs) alone."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        if is_transient(exc):
            raise StoreUnavailable(f"{what}: {exc.__class__.__name__}: {exc}") from exc
        raise


#: What a batch's keys are joined with into one text parameter (``keys_text``): a control character none of
#: our keys holds (codes, numbers, symbols, UUIDs). asyncpg encodes an array parameter element by element,
#: with two abstract-class checks each: 3 % of a mass run's CPU for its fifteen keys a bill; one text is one
#: copy, and PostgreSQL splits it (``string_to_array``) for next to nothing.
KEYS_SEPARATOR: Final = "\x1f"


def keys_text(values: Collection[Any]) -> str | None:
    """The keys joined by ``KEYS_SEPARATOR`` (each as its text: a UUID's, a number's); None where that would
    not split back into them: no keys, a key holding the separator, a lone empty key (``string_to_array``
    makes no element of '')."""
    try:
        text = KEYS_SEPARATOR.join(values)
    except TypeError:  # not texts: UUIDs, numbers
        text = KEYS_SEPARATOR.join(map(str, values))
    if not text or text.count(KEYS_SEPARATOR) != len(values) - 1:
        return None
    return text


def among(
    conn: AsyncConnection, column: sa.ColumnElement[Any], values: Collection[Any], *, growing: bool = False
) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column IN (SELECT unnest(:array))``: one statement text
    whatever the number of values, so that asyncpg prepares it once per connection instead of once per
    batch size, and a shape the planner joins by the column's index (a batch's keys against a large table).
    ``column = ANY(:array)`` was planned as a scan of the whole table comparing every row with every key
    once a batch named a few hundred (20 ms for 500 contracts of 136,000). The array goes as one text
    (``keys_text``) where it can.

    ``growing``: the table is one a mass run fills itself (``bl_invoice``), whose statistics lag far behind
    it — on a new book's first run they say "empty" for its first minutes, the join above becomes a hash
    join over the whole index, and a batch's lookup grows with every batch before it (76 ms a batch at
    50,000 invoices, measured). ``column = ANY(:array)`` is an index condition whatever the estimates
    (1 ms for the same 500 keys), so a key lookup on such a table uses it — unless a partial index whose
    condition the query repeats looks cheaper to scan whole, or the column has no statistics and 500 keys
    are taken to match every row: then ``store.fixed.each_key`` (tests/billing/batch/test_ledger_plans.py)."""
    if conn.dialect.name == "postgresql":
        text = keys_text(values)
        array: sa.ColumnElement[Any] = (
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)) if text is None else
            split_keys(sa.bindparam(None, text, type_=sa.Text), column)
        )
        return in_array(column, array, growing=growing)
    return column.in_(values)


def split_keys(keys: sa.ColumnElement[Any], column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The keys of a text parameter (``keys_text``) as an array of ``column``'s type (PostgreSQL)."""
    separator: sa.ColumnElement[Any] = sa.literal_column("E'\\x1f'")
    return sa.cast(sa.func.string_to_array(keys, separator), postgresql.ARRAY(column.type))


def in_array(
    column: sa.ColumnElement[Any], array: sa.ColumnElement[Any], *, growing: bool
) -> sa.ColumnElement[bool]:
    """``column`` among an array's keys, in ``among``'s shapes (PostgreSQL)."""
    if growing:
        return column == sa.any_(array)
    return column.in_(sa.select(sa.func.unnest(array)))


assert KEYS_SEPARATOR == "\x1f", "the literal in split_keys"


#: Row shapes ``plain`` keeps a named tuple for: one per query text in the code, so a few dozen at most;
#: more means shapes made up at run time, which this cache is not for.
PLAIN_SHAPES_MAX: Final = 256
_plain_types: dict[tuple[str, ...], Any] = {}


def plain(result: sa.Result[Any]) -> list[Any]:
    """The result's rows as named tuples with the same field names: a mass run reads a field of a row five
    times faster from one (0.04 µs) than from SQLAlchemy's ``Row`` (0.2 µs), which is its cost for a
    batch's master data read field by field into structs."""
    keys = tuple(result.keys())
    kind = _plain_types.get(keys)
    if kind is None:
        assert len(_plain_types) < PLAIN_SHAPES_MAX, "plain() is for the code's own queries"
        kind = _plain_types.setdefault(keys, namedtuple("PlainRow", keys))
    return list(map(kind._make, result))


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (PostgreSQL), in ``conn``'s transaction. SQLAlchemy's adapter
    sends BEGIN only before its own first statement: one sent to the driver first ran outside the transaction
    (a batch's ``FOR UPDATE`` lock released at once, a read in a snapshot of its own)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.in_transaction() and not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")  # the adapter's BEGIN, by its own path
    return driver


async def copy_payload(
    conn: AsyncConnection, table: str, columns: Sequence[str], payload: bytes, format_: str
) -> None:
    """COPY a whole ``payload`` (``binary`` with header and trailer, or ``text`` lines) into ``table``, on the
    asyncpg connection under ``conn`` (same session, so same transaction)."""
    assert format_ in ("binary", "text"), format_
    driver = await driver_of(conn)
    with _copy_errors(table):
        # A memoryview, because asyncpg takes bytes for a file name (os.fspath accepts them).
        await driver.copy_to_table(table, source=memoryview(payload), columns=columns, format=format_)


async def copy_binary(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[bytes]
) -> None:
    """COPY rows encoded in binary (``store.copy_fields``: each row its field count and fields) into
    ``table``, as ``copy_payload``."""
    await copy_payload(conn, table, columns, b"".join((HEADER, *rows, TRAILER)), "binary")


@contextlib.contextmanager
def _copy_errors(table: str) -> Iterator[None]:
    """asyncpg's errors of a COPY raised as SQLAlchemy's, as every other statement's are."""
    try:
        yield
    except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
        raise sa.exc.IntegrityError(f"COPY {table}", None, exc) from exc
    except asyncpg.exceptions.DataError as exc:
        raise sa.exc.DataError(f"COPY {table}", None, exc) from exc
