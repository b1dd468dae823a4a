"""A calendar month as the commands and reports name it (``YYYY-MM``)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from gateway.errors import InvalidField

_MONTH: Final = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month: the period of one report."""

    year: int
    month: int

    def __post_init__(self) -> None:
        assert 1 <= self.month <= 12 and 2000 <= self.year <= 9999, (self.year, self.month)

    @classmethod
    def parse(cls, text: str, field: str = "month") -> Month:
        """``YYYY-MM``, or ``InvalidField`` naming ``field`` and the value."""
        match = _MONTH.fullmatch(text.strip())
        if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
            raise InvalidField(field, text, "is not a month YYYY-MM (2000-01 or later)")
        return cls(int(match[1]), int(match[2]))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
