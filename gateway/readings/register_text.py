"""A reading's register values in one text: ``rd_reading.register_values``.

``rd_register`` keeps each register's values in columns, for whoever asks about one register. A bill asks
for every register of every reading of its OPMs, and joining ``rd_register`` was the largest part of
PostgreSQL's work in a mass run: a batch of 500 OPMs read some 7,600 register rows, an index probe and up
to four ``numeric::text`` each, 28–33 ms of the backend's CPU against 9–11 ms for the same readings with
this one text (measured on 20,000 OPMs, docs/billing.md). So each writer stores both, from the same
values, in the same transaction; ``tests/readings/register_check.py``, asserted in each writer's tests,
holds them to it.

The text: one part per register joined by ``;``, each part five fields joined by a space — register,
start state, end state, consumption (kWh), volume (m³) — a missing value empty. Numbers as
``format(value, "f")`` writes a ``Decimal``: no exponent, every digit as sent. Neither separator can occur
in a register code or a number. A duplicate reading keeps the values it was sent with (the same as the
reading it repeats), though it has no ``rd_register`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from schemas.readings import RegisterValue

REGISTER_SEPARATOR: Final = ";"
FIELD_SEPARATOR: Final = " "
#: Fields of a register's part.
FIELDS: Final = ("register", "start_state", "end_state", "consumption_kwh", "volume_m3")
#: A register's part as ``parts`` returns it: the register and four decimal texts (None: missing).
Part = tuple[str, str | None, str | None, str | None, str | None]


def number(value: Decimal | None) -> str:
    """A value as the text holds it."""
    if value is None:
        return ""
    assert value.is_finite(), value
    return format(value, "f")


def part_text(register: str, start: str, end: str, kwh: str, m3: str) -> str:
    """One register's part from its fields already as text (``number``; empty: missing)."""
    return FIELD_SEPARATOR.join((register, start, end, kwh, m3))


def register_values(values: Iterable[RegisterValue]) -> str:
    """The text of a reading's register values."""
    return REGISTER_SEPARATOR.join(
        part_text(value.register, number(value.start_state), number(value.end_state),
                  number(value.consumption_kwh), number(value.volume_m3))
        for value in values
    )


def parts(text: str) -> list[Part]:
    """The registers of a text, in its order (``register_values``'s inverse, numbers as text)."""
    if not text:
        return []
    found: list[Part] = []
    for part in text.split(REGISTER_SEPARATOR):
        fields = part.split(FIELD_SEPARATOR)
        assert len(fields) == len(FIELDS), f"register values {text!r}: {len(fields)} fields in {part!r}"
        register, start, end, kwh, m3 = fields
        found.append((register, start or None, end or None, kwh or None, m3 or None))
    return found
