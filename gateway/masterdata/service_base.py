"""What every master-data service shares: field checks that name the field, search folding, number series,
optimistic locking and look-ups by natural key.

Services take an open connection (the caller's transaction), the actor and the clock's ``now``; they
validate everything before they write anything, so a refused request stores nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata import tables as t
from gateway.masterdata.identifiers import InvalidIdentifier, validate_postal_code
from gateway.masterdata.opm_rows import address_from_row
from schemas.masterdata.common import Address, TypedAddress

T = TypeVar("T")

#: Number series proud assigns from, and the first number of each (imported numbers may lie anywhere).
SERIES_START: Final = {
    "customer": 1_000_000,
    "variable_symbol": 7_000_000_000,
    "contract": 2_000_000,
}
#: Longest postal code stored (``md_address.postal_code``): a PSČ has five digits, foreign codes up to ten.
POSTAL_CODE_CHARS_MAX: Final = 10
assert isinstance(t.address.c.postal_code.type, sa.String)
assert t.address.c.postal_code.type.length == POSTAL_CODE_CHARS_MAX
#: Attempts to find a free number when imported keys already occupy the next ones of a series.
NUMBER_ATTEMPTS_MAX: Final = 1000


#: Business days are Prague days: "today" at 00:30 CET is already the next day, though UTC says otherwise.
LOCAL_TIMEZONE: Final = ZoneInfo("Europe/Prague")


def local_date(now: dt.datetime) -> dt.date:
    """The Prague calendar day of an instant from the clock."""
    assert now.tzinfo is not None, "now comes from the clock, timezone-aware"
    return now.astimezone(LOCAL_TIMEZONE).date()


def checked(field: str, validate: Callable[[str], str], value: str) -> str:
    """``validate(value)``; its ``InvalidIdentifier`` becomes an ``InvalidField`` naming ``field``."""
    try:
        return validate(value)
    except InvalidIdentifier as exc:
        raise InvalidField(field, value, exc.reason) from None


def conforming(field: str, value: str, form: Any, reason: str) -> str:
    """``value`` if it satisfies the annotated type ``form`` (e.g. ``Email``), else ``InvalidField``.

    Structs built in code skip the ``msgspec.Meta`` constraints that decoding enforces, so services check the
    free-form values whose form depends on another field (a contact's value by its kind) with this.
    """
    try:
        return str(msgspec.convert(value, form))
    except msgspec.ValidationError:
        raise InvalidField(field, value, reason) from None


def given_fields(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a patch sets: every one but ``version`` whose value is not ``msgspec.UNSET``."""
    fields = {name: getattr(patch, name) for name in patch.__struct_fields__ if name != "version"}
    return {name: value for name, value in fields.items() if value is not msgspec.UNSET}


def fold(*parts: str | None) -> str:
    """Lower case without diacritics, parts joined by one space: the form search compares."""
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def check_address(field: str, address: Address) -> Address:
    """The address with its PSČ in canonical form ("110 00" → "11000"); a bad PSČ names the field."""
    if address.country != "CZ":
        # Not checked (no rules for every country), but bounded: the column would refuse it less helpfully.
        if len(address.postal_code) > POSTAL_CODE_CHARS_MAX:
            reason = f"has {len(address.postal_code)} characters; at most {POSTAL_CODE_CHARS_MAX} are stored"
            raise InvalidField(f"{field}.postal_code", address.postal_code, reason)
        return address
    postal_code = checked(f"{field}.postal_code", validate_postal_code, address.postal_code)
    if postal_code == address.postal_code:
        return address
    return Address(
        street=address.street, house_number=address.house_number, city=address.city,
        city_part=address.city_part, postal_code=postal_code, country=address.country,
    )


def address_row(address: Address, kind: str, *, customer_id: uuid.UUID | None = None,
                opm_id: uuid.UUID | None = None) -> dict[str, Any]:
    assert (customer_id is None) != (opm_id is None)
    return {
        "customer_id": customer_id, "opm_id": opm_id, "kind": kind, "street": address.street,
        "house_number": address.house_number, "city": address.city, "city_part": address.city_part,
        "postal_code": address.postal_code, "country": address.country,
        "search_text": fold(address.street, address.house_number, address.city, address.city_part,
                            address.postal_code),
    }


def typed_address_from_row(row: Any) -> TypedAddress:
    return TypedAddress(kind=row.kind, address=address_from_row(row))


async def next_number(conn: AsyncConnection, series: str, taken: sa.Column[Any], width: int = 0) -> str:
    """The next number of ``series`` not yet used in column ``taken`` (imports may have used some)."""
    # Create the series row if missing without a race (two first callers), then lock it: numbers of one
    # series are handed out one transaction at a time.
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(t.sequence)
    await conn.execute(
        insert.values(name=series, next_value=SERIES_START[series]).on_conflict_do_nothing(
            index_elements=[t.sequence.c.name]
        )
    )
    value = int(await conn.scalar(
        sa.select(t.sequence.c.next_value).where(t.sequence.c.name == series).with_for_update()
    ) or SERIES_START[series])
    for _ in range(NUMBER_ATTEMPTS_MAX):
        candidate = str(value).zfill(width)
        value += 1
        used = await conn.scalar(sa.select(sa.literal(1)).where(taken == candidate))
        if used is None:
            break
    else:
        raise Conflict(f"no free {series} number found in {NUMBER_ATTEMPTS_MAX} attempts from {value}")
    await conn.execute(sa.update(t.sequence).where(t.sequence.c.name == series).values(next_value=value))
    return candidate


async def insert_keyed(conn: AsyncConnection, table: sa.Table, values: dict[str, Any], taken: str) -> None:
    """Insert one row whose natural key was checked free; ``Conflict(taken)`` if a concurrent writer took
    it between the check and the insert (PostgreSQL: the unique index decides; SQLite writers queue)."""
    try:
        await conn.execute(sa.insert(table).values(values))
    except sa.exc.IntegrityError as exc:
        raise Conflict(f"{taken} (refused by the database: {exc.orig})") from exc


def require_version(entity: str, key: str, stored: int, given: int) -> None:
    """Optimistic locking: a change based on an older read is refused, never merged silently."""
    if stored != given:
        raise Conflict(
            f"{entity} {key} was changed meanwhile: version {given} was read, the stored one is {stored}; "
            "read it again and repeat the change"
        )


async def next_version(conn: AsyncConnection, table: sa.Table, row: Any, now: dt.datetime,
                       values: dict[str, Any]) -> int:
    """Write ``values`` to ``row`` with the next version; returns it. The row was read ``FOR UPDATE``
    (PostgreSQL) or in a ``BEGIN IMMEDIATE`` transaction (SQLite), so nobody can have changed it since."""
    version = int(row.version) + 1
    result = await conn.execute(
        sa.update(table).where(table.c.id == row.id, table.c.version == row.version)
        .values(**values, version=version, updated_at=now)
    )
    assert result.rowcount == 1, f"{table.name} {row.id}: the row locked at version {row.version} changed"
    return version


async def row_by(conn: AsyncConnection, table: sa.Table, column: sa.Column[Any], value: object,
                 what: str, *, for_update: bool = False) -> Any:
    """The row whose ``column`` equals ``value``, or ``NotFound`` naming ``what`` and the value."""
    query = sa.select(table).where(column == value)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"{what} {value!r} does not exist")
    return row


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime: SQLite hands back the UTC value without its zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


S = TypeVar("S", bound=msgspec.Struct)
# msgspec ends a validation message with the JSON path of the field: "Expected `int` <= 4000 - at `$.a[0].b`".
_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_PATH_STEP = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>[0-9]+)\]")


def constrained(data: S) -> S:
    """``data`` checked against the ``msgspec.Meta`` constraints of its own type, or ``InvalidField``.

    Decoding enforces them (lengths, ranges, patterns), but a struct built in code (an import, a test, another
    service) skips them; services that store what they are given call this first, so every path is checked.
    """
    plain = msgspec.to_builtins(data)
    try:
        return msgspec.convert(plain, type(data))
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT_PATH.search(message)
        if match is None:
            raise InvalidField("", None, message) from None
        path = match["path"].lstrip(".")
        raise InvalidField(path, _value_at(plain, match["path"]), message[: match.start()]) from None


def _value_at(plain: Any, path: str) -> Any:
    value = plain
    for step in _PATH_STEP.finditer(path):
        if step["name"] is not None and isinstance(value, dict):
            value = value.get(step["name"])
        elif step["index"] is not None and isinstance(value, list) and int(step["index"]) < len(value):
            value = value[int(step["index"])]
        else:
            return None
    return value
