"""The attention consumer: each ``switch.attention`` on ``process.events`` becomes a back-office task.

A consumer of group ``proud.switch-attention``. The task is a master-data activity (kind ``task``, planned),
so the back office finds it in the customer 360 and the activities API. An activity has one subject: the
contract when the attention names one we know (the customer's 360 shows it), else the OPM. Other message
types on ``process.events`` are not ours and are passed over. The inbox makes each attention one task,
however often it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected
from gateway.masterdata import tables as t
from gateway.masterdata.activities import create_activity
from gateway.masterdata.opm_checks import lookup_code
from gateway.process.topics import PROCESS_EVENTS
from schemas.masterdata.activities import ActivityIn, EntityRef
from schemas.masterdata.common import NOTE_CHARS_MAX, TEXT_CHARS_MAX
from schemas.switching import Attention

log = structlog.get_logger(__name__)

SWITCH_ATTENTION_GROUP: Final = "proud.switch-attention"
ACTOR: Final = "system:switching"
_ELLIPSIS: Final = "…"


def _clipped(text: str, chars_max: int) -> str:
    # The text comes from a rule file; a long one is still worth filing, cut to what the column holds.
    return text if len(text) <= chars_max else text[: chars_max - len(_ELLIPSIS)] + _ELLIPSIS


async def subject_of(conn: AsyncConnection, attention: Attention) -> EntityRef:
    """The contract when it exists, else the OPM; ``HandlerRejected`` when neither is in master data."""
    if attention.contract is not None:
        query = sa.select(t.contract.c.number).where(t.contract.c.number == attention.contract)
        number = await conn.scalar(query)
        if number is not None:
            return EntityRef(entity="contract", key=number)
    code = await conn.scalar(sa.select(t.opm.c.code).where(t.opm.c.code == lookup_code(attention.opm)))
    if code is None:
        raise HandlerRejected(
            f"switch.attention about OPM {attention.opm} (contract {attention.contract}): neither is in "
            "master data, so there is nothing to file the task under"
        )
    return EntityRef(entity="opm", key=code)


def activity_for(attention: Attention, about: EntityRef) -> ActivityIn:
    subject = f"{attention.process}: {attention.reason_code} (OPM {attention.opm})"
    contract = f"; smlouva {attention.contract}" if attention.contract else ""
    note = f"{attention.text}\n\nProces {attention.process}, OPM {attention.opm}{contract}."
    return ActivityIn(
        kind="task", subject=_clipped(subject, TEXT_CHARS_MAX), status="planned", about=about,
        note=_clipped(note, NOTE_CHARS_MAX),
    )


@dataclass(frozen=True, slots=True)
class SwitchAttention:
    """The handler of ``process.events`` that files ``switch.attention`` as activities."""

    def subscription(self) -> Subscription:
        return Subscription(SWITCH_ATTENTION_GROUP, (PROCESS_EVENTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        attention = ctx.envelope.payload
        if not isinstance(attention, Attention):
            return
        about = await subject_of(ctx.conn, attention)
        activity = await create_activity(ctx.conn, ACTOR, ctx.now, activity_for(attention, about))
        log.info(
            "switch.attention.filed", activity=str(activity.id), opm=attention.opm,
            reason=attention.reason_code, about=f"{about.entity}:{about.key}",
        )
