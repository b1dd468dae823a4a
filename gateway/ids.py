"""Time-ordered identifiers (UUID version 7, RFC 9562).

Python 3.11 has no ``uuid.uuid7``. Ours puts the Unix time in milliseconds in the top 48 bits and a
counter in the 12 ``rand_a`` bits, so ids made within one millisecond by one process still sort in the
order they were made (RFC 9562 section 6.2, method 1).
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_COUNTER_MAX = 0xFFF
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
        if now_ms <= _last_ms:
            # Same (or an earlier, after a clock step) millisecond: keep ordering by counting on.
            _counter += 1
            if _counter > _COUNTER_MAX:
                _last_ms += 1
                _counter = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _counter = 0
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def uuid7_unix_ms(value: uuid.UUID) -> int:
    """The millisecond timestamp an UUIDv7 carries."""
    assert value.version == 7, f"not a UUIDv7: {value}"
    return value.int >> 80
