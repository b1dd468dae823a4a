"""PostgreSQL's binary COPY for the bulk import's tables and the readings: the field encoders
(``store.copy_fields``, compiled), a cache of the encodings of values that repeat, and the COPY of rows
encoded so (``store.db.copy_binary``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from gateway.store.copy_fields import (
    HEADER,
    NULL,
    TRAILER,
    date,
    field_count,
    int2,
    int4,
    int8,
    numeric,
    raw,
    text,
    timestamptz,
    uuid_field,
)
from gateway.store.db import copy_binary

__all__ = [
    "HEADER", "NULL", "TRAILER", "Encodings", "copy_binary", "date", "field_count", "int2", "int4", "int8",
    "numeric", "raw", "text", "timestamptz", "uuid_field",
]

#: Values an ``Encodings`` cache keeps before it starts again (Czech municipalities number ~6,300).
ENCODINGS_CACHED_MAX: Final = 20_000
K = TypeVar("K")


class Encodings(dict[K, bytes]):
    """``encode`` of values that repeat across an import (a commodity, a city, a date, the batch's time),
    each computed once; at most ``ENCODINGS_CACHED_MAX`` are kept, then the cache starts again."""

    def __init__(self, encode: Callable[[K], bytes]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, value: K) -> bytes:
        if len(self) >= ENCODINGS_CACHED_MAX:
            self.clear()
        encoded = self[value] = self._encode(value)
        return encoded
