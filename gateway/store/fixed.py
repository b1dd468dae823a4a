"""Fixed queries: a SELECT of one shape, keyed by lists of keys, that a mass run sends for every batch.

SQLAlchemy costs a batch's reads more than the database does: per row about 2.5 µs of building its ``Row``
and turning that into a named tuple (``store.db.plain``), against about 1 µs for asyncpg's record and the
named tuple made of it (500 OPMs' supply addresses, measured). A ``FixedQuery`` is built once per
dialect from a function of ``keys`` (``keys(column, name)``: ``column`` is one of the keys passed as
``name``); on PostgreSQL its statement is compiled once, the keys go as one text (``store.db.keys_text``),
and it runs on the asyncpg connection under the caller's (same session, same transaction), its records
becoming named tuples with the fields SQLAlchemy's result would have, each value processed as SQLAlchemy
would process it (a ``TypeDecorator``'s column). Elsewhere, and for keys one text cannot carry, it is an
ordinary SQLAlchemy execution with an expanding ``IN``. ``tests/store/test_fixed.py`` compares the two.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.db import driver_of, in_array, keys_text, plain, split_keys


class Keys(Protocol):
    def __call__(
        self, column: sa.ColumnElement[Any], name: str, *, growing: bool = False
    ) -> sa.ColumnElement[bool]: ...


@dataclass(frozen=True, slots=True)
class _Compiled:
    """PostgreSQL's statement: its text, its parameters in order (with the constants' values), the named
    tuple of its rows, and a processor per field (None: the value as asyncpg gives it)."""

    sql: str
    order: tuple[str, ...]
    constants: Mapping[str, Any]
    shape: Any
    processors: tuple[Callable[[Any], Any] | None, ...] | None = None


def _pg_keys(column: sa.ColumnElement[Any], name: str, *, growing: bool = False) -> sa.ColumnElement[bool]:
    """``column`` among the keys of ``name``, sent as one text (as ``store.db.among``, whose reasons hold)."""
    return in_array(column, split_keys(sa.bindparam(name, type_=sa.Text), column), growing=growing)


def _generic_keys(
    column: sa.ColumnElement[Any], name: str, *, growing: bool = False
) -> sa.ColumnElement[bool]:
    return column.in_(sa.bindparam(name, expanding=True))



def each_key(
    column: sa.ColumnElement[Any], name: str, rows_of: Callable[[sa.ColumnElement[Any]], sa.Select[Any]],
) -> sa.Select[Any]:
    """PostgreSQL: the rows ``rows_of(key)`` selects for each key of the parameter ``name`` (as ``_pg_keys``
    sends it; keys of ``column``'s type), planned as one lookup per key whatever the table's statistics say.

    ``column = ANY(keys)`` is planned by the statistics of the whole list: on a table analysed while empty,
    and since filled, each key is taken to match 1/200 of the rows and 500 keys all of them — a scan of the
    whole table. Per key (a ``LATERAL`` subquery that ``OFFSET 0`` keeps from being merged into a join),
    1/200 of the rows is far fewer than the table, and the key's index is the plan."""
    keys = sa.func.unnest(split_keys(sa.bindparam(name, type_=sa.Text), column)).table_valued(
        sa.column("key", column.type)).render_derived("keys")
    found = rows_of(keys.c.key).offset(sa.literal_column("0")).lateral("found")
    return sa.select(*found.c).select_from(keys).join(found, sa.true())


class FixedQuery:
    """``build(keys)``: the SELECT, its keys' conditions made by ``keys``; ``key_names``: its parameters that
    are collections of keys (the others are single values). ``postgresql``: the statement on PostgreSQL where
    it is not ``build``'s (``each_key``), with the same fields and parameters."""

    def __init__(
        self, build: Callable[[Keys], sa.Select[Any]], key_names: Collection[str], *,
        postgresql: sa.Select[Any] | None = None,
    ) -> None:
        self._statements = {"postgresql": postgresql if postgresql is not None else build(_pg_keys),
                            "generic": build(_generic_keys)}
        self._key_names = frozenset(key_names)
        self._compiled: _Compiled | None = None

    async def rows(self, conn: AsyncConnection, **params: Any) -> list[Any]:
        """The rows for ``params`` (every parameter by name; keys as collections), as named tuples."""
        if conn.dialect.name != "postgresql":
            return await self._generic(conn, params)
        texts = {name: keys_text(params[name]) for name in self._key_names}
        if any(text is None for text in texts.values()):
            return await self._generic(conn, params)  # no keys, or a key one text cannot carry
        driver = await driver_of(conn)  # same session and transaction
        compiled = self._compiled or await self._compile(conn, driver)
        records = await driver.fetch(compiled.sql, *_values(compiled, params, texts))
        shape, processors = compiled.shape, compiled.processors
        if processors is None:
            return [tuple.__new__(shape, record) for record in records]
        return [
            tuple.__new__(shape, [value if process is None else process(value)
                                  for value, process in zip(record, processors, strict=True)])
            for record in records
        ]

    async def plan(self, conn: AsyncConnection, **params: Any) -> str:
        """PostgreSQL's plan of the statement as ``rows`` sends it for ``params`` (``EXPLAIN``, one line a
        node): what the planner makes of a batch's keys on the tables as they are now."""
        assert conn.dialect.name == "postgresql", "a plan is PostgreSQL's"
        texts = {name: keys_text(params[name]) for name in self._key_names}
        assert all(text is not None for text in texts.values()), "keys one text carries"
        driver = await driver_of(conn)
        compiled = self._compiled or await self._compile(conn, driver)
        lines = await driver.fetch(f"EXPLAIN {compiled.sql}", *_values(compiled, params, texts))
        return "\n".join(str(line[0]) for line in lines)

    async def _generic(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        values = {name: list(value) if name in self._key_names else value for name, value in params.items()}
        return plain(await conn.execute(self._statements["generic"], values))

    async def _compile(self, conn: AsyncConnection, driver: Any) -> _Compiled:
        statement = self._statements["postgresql"]
        compiled = statement.compile(dialect=conn.dialect)
        binds = compiled.binds
        for name, bind in binds.items():
            assert bind.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) is None, (
                f"parameter {name} needs SQLAlchemy's processing: not a fixed query's"
            )
        order = tuple(compiled.positiontup or ())
        # The literals' values (the parameters' are given at each run).
        constants = compiled.construct_params({bind.key: None for bind in binds.values() if bind.required})
        names = tuple(str(column.key) for column in statement.selected_columns)
        assert len(set(names)) == len(names), f"fields named twice: {names}"
        # The types as PostgreSQL describes the fields: SQLAlchemy picks a result processor by them.
        attributes = (await driver.prepare(compiled.string)).get_attributes()
        processors = tuple(
            column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, attribute.type.oid)
            for column, attribute in zip(statement.selected_columns, attributes, strict=True)
        )
        self._compiled = _Compiled(
            compiled.string, order, constants, namedtuple("FixedRow", names),
            processors if any(processors) else None,
        )
        return self._compiled


def _values(compiled: _Compiled, params: Mapping[str, Any], texts: Mapping[str, str | None]) -> list[Any]:
    """The statement's parameters in order: the caller's, each collection of keys as its text, the
    literals' own values."""
    given = {**params, **texts}
    return [given[name] if name in given else compiled.constants[name] for name in compiled.order]
