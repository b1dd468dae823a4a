"""The readings consumer: metered data from CS OTE (``ote.inbound``) into the reading store and
``meter.readings``.

Group ``proud.readings`` reads ``ote.received`` (``schemas.ote.events``). The metered families
(``metered-electricity``: CDSDATA, ``metered-gas``: CDSGASPOF GP6) are filed (``store.file_readings``) and
each filed reading — new, duplicate or correction — is announced by one ``meter.reading`` keyed by its OPM,
all in the handler's transaction, so a message is filed and announced once however often it is delivered.
A filed reading that is not an estimate supersedes the estimates it replaces (``estimates``). Other families
are not ours and are skipped.

The message travels in the event as JSON; a message too large for the bus (``message`` None) is read from its
``ote_archive`` row and decoded again by the codec, which accepted it when it arrived. A batch of messages is
filed together (``handler_many``), in batches of at most ``READINGS_PER_BATCH_MAX`` readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from connectors.ote import codec, soap
from connectors.ote.tables import ote_archive
from connectors.ote.topics import OTE_INBOUND
from gateway.bus.handler import HandlerContext, Subscription
from gateway.config import Settings
from gateway.errors import HandlerRejected, MalformedMessage
from gateway.readings.estimates import Filed, replace_estimates
from gateway.readings.model import Incoming, from_electricity, from_gas
from gateway.readings.prepare import prepare_batch
from gateway.readings.store import READINGS_PER_BATCH_MAX, file_readings
from schemas.envelope import Envelope
from schemas.ote.events import OteReceived
from schemas.ote.metered import MeteredElectricity, MeteredGas

READINGS_GROUP: Final = "proud.readings"
#: ``OteReceived.family`` of the messages this consumer files.
FAMILY_ELECTRICITY: Final = "metered-electricity"
FAMILY_GAS: Final = "metered-gas"
_STRUCTS: Final[dict[str, type[MeteredElectricity] | type[MeteredGas]]] = {
    FAMILY_ELECTRICITY: MeteredElectricity, FAMILY_GAS: MeteredGas,
}


def readings_subscription(settings: Settings) -> Subscription:
    """The consumer for the daemon. ``settings`` has nothing of the readings yet; taken for symmetry."""
    del settings
    return Subscription(READINGS_GROUP, (OTE_INBOUND.name,), handle_one, handle_many)


async def handle_one(ctx: HandlerContext) -> None:
    await handle_many([ctx])


async def handle_many(contexts: Sequence[HandlerContext]) -> None:
    """File the readings of every metered message of the batch, in message order."""
    if not contexts:
        return
    conn, now = contexts[0].conn, contexts[0].now
    assert all(ctx.conn is conn and ctx.now == now for ctx in contexts), "one batch, one transaction"
    pending: list[tuple[Incoming, Envelope]] = []
    for ctx in contexts:
        pending.extend((reading, ctx.envelope) for reading in await readings_of(ctx))
    for start in range(0, len(pending), READINGS_PER_BATCH_MAX):
        batch = pending[start : start + READINGS_PER_BATCH_MAX]
        readings = [reading for reading, _ in batch]
        prepared = prepare_batch(readings, now, [cause for _, cause in batch])
        decisions = await file_readings(conn, prepared, now, readings)
        await replace_estimates(conn, [
            Filed(decision.id, reading.opm, reading.meter_id, reading.date_to)
            for reading, decision in zip(readings, decisions, strict=True)
            if reading.kind != "estimated" and decision.status != "duplicate"
        ])


async def readings_of(ctx: HandlerContext) -> list[Incoming]:
    """The readings in the message of ``ctx``; none when it is not metered data."""
    body = ctx.envelope.payload
    if not isinstance(body, OteReceived):
        raise HandlerRejected(f"readings got {ctx.envelope.type}, expected ote.received")
    struct = _STRUCTS.get(body.family)
    if struct is None:
        return []
    message = await _message(ctx, body, struct)
    if isinstance(message, MeteredElectricity):
        return from_electricity(message, archive_id=body.archive_id)
    return from_gas(message, archive_id=body.archive_id)


async def _message(
    ctx: HandlerContext, body: OteReceived, struct: type[MeteredElectricity] | type[MeteredGas]
) -> MeteredElectricity | MeteredGas:
    if body.message is not None:
        try:
            return msgspec.convert(body.message, struct)
        except msgspec.ValidationError as exc:
            raise MalformedMessage(f"ote.received {body.message_id}: {exc}") from exc
    query = sa.select(ote_archive.c.raw).where(ote_archive.c.id == body.archive_id)
    raw: Any = await ctx.conn.scalar(query)
    if raw is None:
        raise HandlerRejected(f"ote.received {body.message_id}: ote_archive row {body.archive_id} is missing")
    unwrapped = soap.unwrap(bytes(raw))
    if unwrapped is None:
        raise MalformedMessage(f"ote_archive row {body.archive_id} has an empty SOAP body")
    return codec.decode_as(unwrapped, struct)
