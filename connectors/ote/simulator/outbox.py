"""Every message the simulator sends, from the moment it is written until its receiver acknowledged it.

Nothing is lost silently: a message stays here with its state (``pending`` → ``delivered``, or ``refused``
by the receiver, or ``failed`` after ``ATTEMPTS_MAX`` tries, or ``kept`` for a participant without a callback
URL) and the control API lists it. Failed deliveries are retried with a bounded exponential backoff measured
on the injected clock, so that a test moves the clock instead of sleeping.

Order per receiver is kept: a receiver's next message waits while an earlier one is pending (CS OTE's answer
must reach a supplier before the readings that follow from it). A message that ``failed`` or was
``refused`` no longer holds the queue: it waits, visible, for ``retry``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from gateway.errors import NotFound, TransientError

#: Messages remembered; when full, the oldest settled (delivered, kept) are forgotten first.
OUTBOX_MAX: Final = 50_000
#: Delivery attempts before a message is parked as ``failed``.
ATTEMPTS_MAX: Final = 12
BACKOFF_FIRST_S: Final = 2.0
BACKOFF_MAX_S: Final = 300.0
#: Delivered messages keep their XML for inspection up to this many; older ones drop it (metadata stays).
XML_KEPT_MAX: Final = 5_000


class SimulatorBusy(TransientError):
    """The outbox is full of messages not yet delivered; the caller should try again later."""


class Delivery(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    refused = "refused"  # the receiver answered a negative RESPONSE or a SOAP Fault: retrying cannot help
    failed = "failed"  # ATTEMPTS_MAX tries without an answer
    kept = "kept"  # the receiver has no callback URL: the simulator plays it, nothing to send


SETTLED: Final = frozenset({Delivery.delivered, Delivery.kept})


@dataclass(slots=True)
class Outgoing:
    seq: int
    message_id: str
    family: str
    message_code: str
    receiver_ean: str
    opm: str | None
    #: What the message says, for people reading the control API ("switch accepted", "final reading").
    note: str
    xml: bytes | None
    created_at: dt.datetime
    status: Delivery
    next_attempt_at: dt.datetime
    attempts: int = 0
    last_error: str | None = None
    settled_at: dt.datetime | None = None


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: 2 s, 4 s, 8 s … capped at ``BACKOFF_MAX_S``."""
    assert attempts >= 1
    return dt.timedelta(seconds=min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempts - 1, 30)))


@dataclass(slots=True)
class Outbox:
    _entries: dict[int, Outgoing] = field(default_factory=dict)
    _next_seq: int = 1
    _xml_kept: int = 0

    def add(
        self, *, message_id: str, family: str, message_code: str, receiver_ean: str, opm: str | None,
        note: str, xml: bytes, now: dt.datetime, deliverable: bool,
    ) -> Outgoing:
        if len(self._entries) >= OUTBOX_MAX:
            self._forget_settled()
        status = Delivery.pending if deliverable else Delivery.kept
        entry = Outgoing(
            seq=self._next_seq, message_id=message_id, family=family, message_code=message_code,
            receiver_ean=receiver_ean, opm=opm, note=note, xml=xml, created_at=now, status=status,
            next_attempt_at=now, settled_at=None if deliverable else now,
        )
        self._next_seq += 1
        self._entries[entry.seq] = entry
        return entry

    def _forget_settled(self) -> None:
        settled = [seq for seq, entry in self._entries.items() if entry.status in SETTLED]
        if not settled:
            raise SimulatorBusy(f"the simulator's outbox holds {OUTBOX_MAX} undelivered messages")
        for seq in settled[: max(1, len(settled) // 2)]:
            del self._entries[seq]

    def due(self, now: dt.datetime) -> dict[str, list[Outgoing]]:
        """Per receiver, its pending messages in order, when the first of them is due now."""
        queues: dict[str, list[Outgoing]] = {}
        blocked: set[str] = set()
        for entry in self._entries.values():
            if entry.status is not Delivery.pending or entry.receiver_ean in blocked:
                continue
            queue = queues.get(entry.receiver_ean)
            if queue is None and entry.next_attempt_at > now:
                blocked.add(entry.receiver_ean)
                continue
            queues.setdefault(entry.receiver_ean, []).append(entry)
        return queues

    def delivered(self, entry: Outgoing, now: dt.datetime) -> None:
        assert entry.status is Delivery.pending
        entry.status, entry.settled_at, entry.last_error = Delivery.delivered, now, None
        entry.attempts += 1
        self._xml_kept += 1
        if self._xml_kept > XML_KEPT_MAX:
            self._drop_old_xml()

    def _drop_old_xml(self) -> None:
        for entry in self._entries.values():
            if self._xml_kept <= XML_KEPT_MAX // 2:
                return
            if entry.status is Delivery.delivered and entry.xml is not None:
                entry.xml = None
                self._xml_kept -= 1

    def refused(self, entry: Outgoing, now: dt.datetime, error: str) -> None:
        assert entry.status is Delivery.pending
        entry.status, entry.settled_at, entry.last_error = Delivery.refused, now, error
        entry.attempts += 1

    def attempt_failed(self, entry: Outgoing, now: dt.datetime, error: str) -> None:
        """A try without an answer: again after the backoff, or parked as failed after ``ATTEMPTS_MAX``."""
        assert entry.status is Delivery.pending
        entry.attempts += 1
        entry.last_error = error
        if entry.attempts >= ATTEMPTS_MAX:
            entry.status, entry.settled_at = Delivery.failed, now
        else:
            entry.next_attempt_at = now + backoff(entry.attempts)

    def retry(self, now: dt.datetime, seq: int | None = None) -> int:
        """Puts failed and refused messages (or only ``seq``) back to pending, due now; how many."""
        if seq is not None and seq not in self._entries:
            raise NotFound(f"outbox message {seq} does not exist")
        chosen = [self._entries[seq]] if seq is not None else list(self._entries.values())
        count = 0
        for entry in chosen:
            if entry.status in (Delivery.failed, Delivery.refused) and entry.xml is not None:
                entry.status, entry.next_attempt_at, entry.attempts, entry.settled_at = (
                    Delivery.pending, now, 0, None,
                )
                count += 1
        return count

    def entries(self, status: Delivery | None = None) -> Iterator[Outgoing]:
        return (entry for entry in self._entries.values() if status is None or entry.status is status)

    def get(self, seq: int) -> Outgoing:
        entry = self._entries.get(seq)
        if entry is None:
            raise NotFound(f"outbox message {seq} does not exist")
        return entry

    def counts(self) -> dict[str, int]:
        result = {str(status): 0 for status in Delivery}
        for entry in self._entries.values():
            result[str(entry.status)] += 1
        return result
