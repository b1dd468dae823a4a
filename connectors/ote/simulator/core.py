"""``OteSimulator``: the simulated CS OTE apart from HTTP. It takes decoded messages (from the SOAP service or
the control API), applies the market rules, and delivers what they post with ``process_due``.

    message ─ receive ─┬─ refused ─→ negative RESPONSE
                       └─ rules (switching, supply) ─→ registry, schedule, outbox ─→ positive RESPONSE
    process_due ─ steps due by the clock ─→ outbox ─ deliver (mTLS, signed, retried) ─→ callbacks

Time comes from the injected clock only: tests move a ``ManualClock`` and call ``process_due``; the demo
runs ``run_auto``, which calls it every ``interval_s`` and as soon as something was posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Final, Literal

import structlog

from connectors.ote.inbound import REASON_INTERNAL, UNKNOWN_REFERENCE_ID, Accepted, Refused
from connectors.ote.simulator import codes, messages
from connectors.ote.simulator.context import Context
from connectors.ote.simulator.delivery import CallbackClient, Outcome
from connectors.ote.simulator.outbox import Outbox, Outgoing
from connectors.ote.simulator.registry import ParticipantSpec, Registry, SimulatorSeed
from connectors.ote.simulator.schedule import Scheduler
from connectors.ote.simulator.supply import Supply
from connectors.ote.simulator.switching import Refusal, Switching
from gateway.clock import Clock
from gateway.errors import TransientError
from gateway.process.calendar import WorkingCalendar
from gateway.switching.deadlines import SwitchProfile
from schemas.ote import (
    AnyOteMessage,
    Commodity,
    MasterData,
    OpmRegistration,
    Response,
    SwitchRequest,
)
from schemas.ote.common import OteMessage

log = structlog.get_logger(__name__)

#: Entries of the message log (received and sent); the oldest go first.
LOG_MAX: Final = 10_000
#: Accepted message ids remembered, so that a message sent again is acknowledged but not applied twice.
RECEIVED_IDS_MAX: Final = 100_000
#: Steps run by one ``process_due`` at most, in rounds (a step may schedule another one due at once).
STEPS_PER_ROUND_MAX: Final = 10_000
STEP_ROUNDS_MAX: Final = 10
#: Receivers served at once, and messages delivered to one receiver by one ``process_due``.
RECEIVERS_PARALLEL_MAX: Final = 8
DELIVERIES_PER_RECEIVER_MAX: Final = 1_000
#: Bounds of the auto mode's interval between two ``process_due`` calls.
AUTO_INTERVAL_S_MIN: Final = 0.05
AUTO_INTERVAL_S_MAX: Final = 3_600.0


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: dt.datetime
    direction: Literal["in", "out", "step"]
    family: str | None
    message_id: str | None
    sender: str | None
    receiver: str | None
    opm: str | None
    note: str


@dataclass(frozen=True, slots=True)
class DueSummary:
    steps: int
    delivered: int
    refused: int
    retrying: int


class OteSimulator:
    def __init__(
        self,
        *,
        clock: Clock,
        signer: messages.Signer,
        calendar: WorkingCalendar | None = None,
        profile: SwitchProfile = SwitchProfile.standard,
        seed: SimulatorSeed | None = None,
        prompt_answers: bool = False,
    ) -> None:
        self.clock = clock
        self.registry = Registry()
        self.scheduler = Scheduler()
        self.outbox = Outbox()
        self.log: deque[LogEntry] = deque(maxlen=LOG_MAX)
        self.profile = profile
        self._signer = signer
        self._context = Context(
            self.registry, self.scheduler, calendar or WorkingCalendar(), profile, self._post, prompt_answers
        )
        self._switching = Switching(self._context)
        self._supply = Supply(self._context, self._switching)
        self._accepted_ids: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._client: CallbackClient | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        if seed is not None:
            self.registry.seed(seed, today=self._context.today(clock.now()))

    def attach(self, client: CallbackClient | None) -> None:
        """The client that delivers to callbacks; without one, messages wait in the outbox."""
        self._client = client

    def add_participant(self, spec: ParticipantSpec) -> None:
        self.registry.add_participant(spec)
        # A participant that gets a callback URL now receives what waited for it.
        self._wake.set()

    # --- receiving -------------------------------------------------------------------------------------

    def handle(self, outcome: Accepted | Refused, *, sender_hint: str | None, peer: str | None) -> bytes:
        """The RESPONSE to a message examined by ``connectors.ote.inbound.examine``."""
        now = self.clock.now()
        operator = self.registry.operator_ean
        if isinstance(outcome, Refused):
            refusal: Refusal | None = (outcome.reason_code, outcome.error.message)
            commodity = Commodity.gas if "GAS" in (outcome.peek.root or "") else Commodity.electricity
            reference, receiver = outcome.peek.message_id or UNKNOWN_REFERENCE_ID, sender_hint or operator
            note = f"refused {outcome.reason_code} ({peer}): {outcome.error.message}"
            self._record("in", None, outcome.peek.message_id, sender_hint, None, note)
        else:
            message = outcome.message
            refusal = self.receive(message, family=outcome.family)
            commodity = getattr(message, "commodity", None) or (
                Commodity.gas if outcome.family == "metered-gas" else Commodity.electricity
            )
            reference, receiver = message.envelope.id, message.envelope.sender.ean
        return messages.response(
            operator=operator, receiver=receiver, now=now, commodity=commodity, reference_id=reference,
            refusal=refusal,
        )

    def receive(self, message: AnyOteMessage, *, family: str) -> Refusal | None:
        """Applies ``message``; the refusal for a negative RESPONSE, None when accepted."""
        envelope, now = message.envelope, self.clock.now()
        sender = envelope.sender.ean
        opm = getattr(message, "opm", None)
        try:
            refusal = self._apply(message, now)
        except TransientError:
            raise  # the outbox is full: the service answers 503 and the sender tries again
        except Exception as exc:
            # A bug in the rules must not take the service down; the sender sees it in the RESPONSE.
            log.exception("ote.simulator.receive_failed", message_id=envelope.id)
            refusal = REASON_INTERNAL, f"the simulator failed: {type(exc).__name__}: {exc}"
        note = f"{family} accepted" if refusal is None else f"{family} refused {refusal[0]}: {refusal[1]}"
        self._record("in", family, envelope.id, sender, envelope.receiver.ean, note, opm=opm)
        return refusal

    def _apply(self, message: AnyOteMessage, now: dt.datetime) -> Refusal | None:
        envelope = message.envelope
        sender, receiver = envelope.sender.ean, envelope.receiver.ean
        if receiver != self.registry.operator_ean:
            operator = self.registry.operator_ean
            return codes.REASON_WRONG_RECEIVER, f"addressed to {receiver}, not CS OTE {operator}"
        if sender not in self.registry.participants:
            return codes.REASON_UNKNOWN_SENDER, f"{sender} is not a registered participant"
        key = (sender, envelope.id)
        if key in self._accepted_ids:
            return None  # sent again (a retry after a lost answer): acknowledged, not applied twice
        if isinstance(message, SwitchRequest):
            if message.supplier_ean != sender:
                text = f"requests for supplier {message.supplier_ean}, sent by {sender}"
                return codes.REASON_NOT_SENDER, text
            self._switching.request(message, now)
        elif isinstance(message, MasterData):
            refusal = self._supply.notice(message, sender, now)
            if refusal is not None:
                return refusal
        elif isinstance(message, OpmRegistration):
            return codes.REASON_NOT_ACCEPTED, "OPM registration is seeded through the control API here"
        elif not isinstance(message, Response):  # an acknowledgement needs nothing more
            text = f"CS OTE does not take {type(message).__name__} from participants"
            return codes.REASON_NOT_ACCEPTED, text
        self._accepted_ids[key] = None
        if len(self._accepted_ids) > RECEIVED_IDS_MAX:
            self._accepted_ids.popitem(last=False)
        return None

    # --- market actions of the control API -------------------------------------------------------------

    def fail_supplier(self, supplier: str) -> int:
        count = self._supply.fail_supplier(supplier, self.clock.now())
        note = f"supplier {supplier} failed: {count} OPMs to last resort"
        self._record("step", None, None, None, None, note)
        return count

    def send_readings(self, *, date_to: dt.date | None, opms: list[str] | None, supplier: str | None) -> int:
        return self._supply.periodic(self.clock.now(), date_to=date_to, opms=opms, supplier=supplier)

    # --- sending ---------------------------------------------------------------------------------------

    def _post(self, message: OteMessage, *, opm: str | None, note: str) -> None:
        now = self.clock.now()
        xml = self._signer.sign(messages.encode(message))
        envelope = message.envelope
        receiver = envelope.receiver.ean
        participant = self.registry.participants.get(receiver)
        family = str(message.__struct_config__.tag)
        self.outbox.add(
            message_id=envelope.id, family=family, message_code=envelope.message_code, receiver_ean=receiver,
            opm=opm, note=note, xml=xml, now=now,
            deliverable=participant is not None and participant.callback_url is not None,
        )
        self._record("out", family, envelope.id, envelope.sender.ean, receiver, note, opm=opm)
        self._wake.set()

    async def process_due(self) -> DueSummary:
        """Runs the steps due by the clock, then delivers what is due in the outbox."""
        async with self._lock:
            now = self.clock.now()
            steps = self._run_steps(now)
            delivered, refused, retrying = await self._deliver(now)
        return DueSummary(steps, delivered, refused, retrying)

    def _run_steps(self, now: dt.datetime) -> int:
        count = 0
        for _round in range(STEP_ROUNDS_MAX):
            due = self.scheduler.pop_due(now, STEPS_PER_ROUND_MAX)
            if not due:
                break
            for item in due:
                count += 1
                try:
                    item.step(now)
                except Exception as exc:
                    log.exception("ote.simulator.step_failed", step=item.label)
                    self._record("step", None, None, None, None, f"{item.label} failed: {exc!r}")
                    continue
                self._record("step", None, None, None, None, item.label)
        return count

    async def _deliver(self, now: dt.datetime) -> tuple[int, int, int]:
        if self._client is None:
            return 0, 0, 0
        queues = self.outbox.due(now)
        totals = [0, 0, 0]
        semaphore = asyncio.Semaphore(RECEIVERS_PARALLEL_MAX)

        async def serve(receiver: str, queue: list[Outgoing]) -> None:
            async with semaphore:
                for index, outcome in enumerate(await self._deliver_queue(receiver, queue, now)):
                    totals[index] += outcome

        # return_exceptions: a bug delivering to one receiver must neither stop the others half-way nor
        # leave them running after process_due returned (and its lock was released).
        outcomes = await asyncio.gather(
            *(serve(receiver, queue) for receiver, queue in queues.items()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                log.error("ote.simulator.deliver_failed", error=repr(outcome))
        return totals[0], totals[1], totals[2]

    async def _deliver_queue(
        self, receiver: str, queue: list[Outgoing], now: dt.datetime
    ) -> tuple[int, int, int]:
        assert self._client is not None
        delivered = refused = 0
        for entry in queue[:DELIVERIES_PER_RECEIVER_MAX]:
            participant = self.registry.participants.get(receiver)
            url = None if participant is None else participant.callback_url
            if url is None or entry.xml is None:
                self.outbox.attempt_failed(entry, now, f"participant {receiver} has no callback URL now")
                return delivered, refused, 1
            result = await self._client.post(url, entry.xml)
            if result.outcome is Outcome.delivered:
                self.outbox.delivered(entry, now)
                delivered += 1
            elif result.outcome is Outcome.refused:
                self.outbox.refused(entry, now, result.error or "refused")
                log.warning("ote.simulator.refused", receiver=receiver, seq=entry.seq, error=result.error)
                refused += 1
            else:
                self.outbox.attempt_failed(entry, now, result.error or "no answer")
                log.warning(
                    "ote.simulator.delivery_failed", receiver=receiver, seq=entry.seq,
                    attempts=entry.attempts, status=str(entry.status), error=result.error,
                )
                return delivered, refused, 1
        return delivered, refused, 0

    async def run_auto(self, interval_s: float) -> None:
        """``process_due`` every ``interval_s`` and whenever something was posted; until cancelled."""
        assert AUTO_INTERVAL_S_MIN <= interval_s <= AUTO_INTERVAL_S_MAX, interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval_s)
            self._wake.clear()
            try:
                await self.process_due()
            except Exception:
                # The loop is the demo's only driver: it logs and goes on rather than die silently.
                log.exception("ote.simulator.process_due_failed")

    def _record(
        self, direction: Literal["in", "out", "step"], family: str | None, message_id: str | None,
        sender: str | None, receiver: str | None, note: str, *, opm: Any = None,
    ) -> None:
        entry = LogEntry(
            self.clock.now(), direction, family, message_id, sender, receiver,
            opm if isinstance(opm, str) else None, note,
        )
        self.log.append(entry)
        fields = {name: value for name, value in dataclasses.asdict(entry).items() if value is not None}
        log.info("ote.simulator." + direction, **fields)
