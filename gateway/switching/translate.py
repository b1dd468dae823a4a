"""The OTE translator: what CS OTE sends us (``ote.inbound``) becomes market facts on ``switch.events``.

    ote.received ─┬─ switch-answer ─────────────────────────────────────────→ switch.answered
                  ├─ masterdata, per item ─┬─ SWI, another supplier ─────────→ switch.loss_notified
                  │                        │    (with our contract at the OPM the day before date_from)
                  │                        ├─ DPI, our supplier EAN ─────────→ switch.last_resort_assigned
                  │                        ├─ any other naming a supplier,
                  │                        │  and END ───────────────────────→ switch.supply_confirmed
                  │                        └─ the rest (plain master data) ──→ nothing
                  └─ other families (response, metered, registration) ──────→ nothing here

A consumer of group ``proud.switch-translate``; every fact is keyed by its OPM code. "Ours" means the
supplier EAN is our participant EAN (``gateway.switching.config.current()``). A message too large for the
bus arrives without its struct (``message`` None) and is read from its ``ote_archive`` row instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Final

import msgspec
import sqlalchemy as sa
import structlog

from connectors.ote import codec, soap
from connectors.ote.tables import ote_archive
from connectors.ote.topics import OTE_INBOUND
from gateway.bus.handler import EMITTED_PER_MESSAGE_MAX, HandlerContext, Subscription
from gateway.errors import HandlerRejected, MessageError
from gateway.switching.config import current
from gateway.switching.ours import contract_active_on
from gateway.switching.topics import SWITCH_EVENTS
from schemas.envelope import Payload
from schemas.ote import AnyOteMessage, MasterData, MasterDataItem, SwitchAnswer
from schemas.ote.common import CHANGE_REASON_END, CHANGE_REASON_LAST_RESORT, CHANGE_REASON_SWITCH
from schemas.ote.events import OteReceived
from schemas.switching import LastResortAssigned, LossNotified, SupplyConfirmed, SwitchAnswered

log = structlog.get_logger(__name__)

SWITCH_TRANSLATE_GROUP: Final = "proud.switch-translate"
FAMILY_SWITCH_ANSWER: Final = "switch-answer"
FAMILY_MASTERDATA: Final = "masterdata"
#: The families this translator reads; metered data and OPM registration have translators of their own.
FAMILIES: Final = frozenset({FAMILY_SWITCH_ANSWER, FAMILY_MASTERDATA})
_ONE_DAY: Final = dt.timedelta(days=1)


def message_in(body: OteReceived) -> AnyOteMessage:
    """The struct the callback decoded, from the payload; ``HandlerRejected`` naming the field if broken."""
    try:
        message: AnyOteMessage = msgspec.convert(body.message, AnyOteMessage)
    except msgspec.ValidationError as exc:
        raise HandlerRejected(f"ote.received {body.message_id}: message: {exc}") from exc
    return message


async def archived_message(ctx: HandlerContext, body: OteReceived) -> AnyOteMessage:
    """The message of ``ote_archive`` row ``body.archive_id``, decoded again (it passed once already)."""
    query = sa.select(ote_archive.c.raw).where(ote_archive.c.id == body.archive_id)
    raw = (await ctx.conn.execute(query)).scalar_one_or_none()
    if raw is None:
        raise HandlerRejected(f"ote.received {body.message_id}: no ote_archive row {body.archive_id}")

    def decode() -> AnyOteMessage:
        message = soap.unwrap(raw)
        if message is None:
            raise HandlerRejected(f"ote_archive row {body.archive_id} has an empty SOAP body")
        return codec.decode(message)

    try:
        # Messages too large for the bus are several MB: decoding them must not stall the event loop.
        return await asyncio.to_thread(decode)
    except (MessageError, soap.SoapFault) as exc:
        raise HandlerRejected(f"ote_archive row {body.archive_id} no longer decodes: {exc}") from exc


def answered(message: SwitchAnswer, body: OteReceived) -> SwitchAnswered:
    return SwitchAnswered(
        opm=message.opm, reference_id=message.reference_id, accepted=message.accepted,
        date_from=message.date_from, rejection_reason=message.rejection_reason,
        ote_message_id=body.message_id, archive_id=body.archive_id,
    )


async def loss_notified(
    ctx: HandlerContext, message: MasterData, item: MasterDataItem, body: OteReceived
) -> LossNotified:
    """Another supplier takes the OPM from ``item.valid_from``; our contract as it stands the day before."""
    assert item.supplier_ean is not None
    ours = await contract_active_on(ctx.conn, item.opm, item.valid_from - _ONE_DAY)
    terms = None if ours is None else ours.terms
    return LossNotified(
        opm=item.opm, commodity=message.commodity.value, new_supplier_ean=item.supplier_ean,
        date_from=item.valid_from, ote_message_id=body.message_id, archive_id=body.archive_id,
        contract=None if ours is None else ours.number,
        contract_status=None if ours is None else ours.status,
        account=None if terms is None else terms.account,
        notice_period_days=0 if terms is None else terms.notice_period_days,
        contract_valid_to=None if terms is None else terms.valid_to,
    )


async def item_fact(
    ctx: HandlerContext, message: MasterData, item: MasterDataItem, body: OteReceived, our_ean: str
) -> Payload | None:
    """The market fact one master-data item states, or None for plain master data."""
    supplier, reason = item.supplier_ean, item.change_reason
    if reason == CHANGE_REASON_SWITCH and supplier is not None and supplier != our_ean:
        return await loss_notified(ctx, message, item, body)
    if reason == CHANGE_REASON_LAST_RESORT and supplier == our_ean:
        return LastResortAssigned(
            opm=item.opm, commodity=message.commodity.value, valid_from=item.valid_from,
            ote_message_id=body.message_id, archive_id=body.archive_id,
        )
    if supplier is None and reason != CHANGE_REASON_END:
        return None
    return SupplyConfirmed(
        opm=item.opm, supplier_ean=supplier, ours=supplier == our_ean, valid_from=item.valid_from,
        valid_to=item.valid_to, ote_message_id=body.message_id, archive_id=body.archive_id,
    )


@dataclass(frozen=True, slots=True)
class SwitchTranslator:
    """The handler of ``ote.inbound`` for the switching processes."""

    def subscription(self) -> Subscription:
        return Subscription(SWITCH_TRANSLATE_GROUP, (OTE_INBOUND.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, OteReceived):
            raise HandlerRejected(f"the OTE translator got {ctx.envelope.type}, expected ote.received")
        if body.family not in FAMILIES:
            return
        message = message_in(body) if body.message is not None else await archived_message(ctx, body)
        if isinstance(message, SwitchAnswer):
            ctx.emit_payload(SWITCH_EVENTS.name, answered(message, body), key=message.opm)
        elif isinstance(message, MasterData):
            await self._masterdata(ctx, message, body)
        else:
            raise HandlerRejected(
                f"ote.received {body.message_id} says family {body.family} but holds "
                f"{message.__struct_config__.tag}"
            )

    @staticmethod
    async def _masterdata(ctx: HandlerContext, message: MasterData, body: OteReceived) -> None:
        if len(message.items) > EMITTED_PER_MESSAGE_MAX:
            # One fact per item, and a handler emits at most this many per message.
            raise HandlerRejected(
                f"ote.received {body.message_id} has {len(message.items)} master-data items; "
                f"the translator emits at most {EMITTED_PER_MESSAGE_MAX} facts per message"
            )
        our_ean = current().participant_ean
        for item in message.items:
            fact = await item_fact(ctx, message, item, body, our_ean)
            if fact is not None:
                ctx.emit_payload(SWITCH_EVENTS.name, fact, key=item.opm)
        log.info("switch.translate.masterdata", message_id=body.message_id, items=len(message.items))
